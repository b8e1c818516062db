"""The demo's Home Assistant folder: what is prepared before Home Assistant starts."""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
"""The demo's own folder: configuration.yaml is committed, the rest is state."""
INTEGRATION = ROOT / "custom_components" / "victron_gx_modbus"
DEFAULT_HA_PORT = 8123
# Onboarding steps the demo marks done up front: finishing them through the
# API would set up integrations that reach the internet (weather, radio).
PRESET_ONBOARDING_STEPS = ["core_config", "analytics", "integration"]
ONBOARDING_STORE_VERSION = 4
OWNER = "demo"
STATE = (".storage", "home-assistant_v2.db", "home-assistant_v2.db-shm", "home-assistant_v2.db-wal")
HA_COMMAND = (sys.executable, "-m", "homeassistant", "--skip-pip", "--config")
"""Runs Home Assistant (append the config folder); requirements come from the project's set-up."""


@dataclass(frozen=True)
class Login:
    """The owner account of the demo (its password is random, kept in the config folder)."""

    username: str
    password: str


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def prepare(folder: Path, scenario: str, port: int = DEFAULT_HA_PORT) -> Login:
    """Make `folder` ready for Home Assistant on `port` with `scenario`.

    The committed config/configuration.yaml is the template of any other
    folder (with its port). State of another scenario is wiped.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if folder.resolve() != CONFIG.resolve():
        template = (CONFIG / "configuration.yaml").read_text(encoding="utf-8")
        text = template.replace(f"server_port: {DEFAULT_HA_PORT}", f"server_port: {port}")
        (folder / "configuration.yaml").write_text(text, encoding="utf-8")
    marker = folder / ".demo-scenario"
    previous = marker.read_text(encoding="utf-8").strip() if marker.exists() else None
    if previous not in {None, scenario}:
        for name in STATE:
            path = folder / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    marker.write_text(scenario + "\n", encoding="utf-8")
    link = folder / "custom_components" / "victron_gx_modbus"
    if not link.is_symlink():
        link.parent.mkdir(exist_ok=True)
        if link.exists():
            shutil.rmtree(link)
        link.symlink_to(INTEGRATION, target_is_directory=True)
    _seed_onboarding(folder)
    return _login(folder)


def _seed_onboarding(folder: Path) -> None:
    """Mark every onboarding step but the owner's done in a new config folder."""
    onboarding = folder / ".storage" / "onboarding"
    if not onboarding.exists():
        _write_json(
            onboarding,
            {
                "version": ONBOARDING_STORE_VERSION,
                "minor_version": 1,
                "key": "onboarding",
                "data": {"done": PRESET_ONBOARDING_STEPS},
            },
        )


def _login(folder: Path) -> Login:
    path = folder / ".demo-login.json"
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        return Login(saved["username"], saved["password"])
    login = Login(OWNER, secrets.token_urlsafe(12))
    _write_json(path, {"username": login.username, "password": login.password})
    path.chmod(0o600)
    return login
