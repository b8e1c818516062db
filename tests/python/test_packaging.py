"""manifest.json, hacs.json and the brand icon follow Home Assistant's and HACS's rules; versions agree.

What hassfest and the HACS action check online is checked here offline as
far as the rules are known: the validation workflow runs both for real.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import victron_gx_modbus
from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import __version__ as ha_version
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "victron_gx_modbus"
MANIFEST = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))
HACS = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
CARGO_VERSION = tomllib.loads((ROOT / "Cargo.toml").read_text(encoding="utf-8"))["package"]["version"]

IOT_CLASSES = {"assumed_state", "cloud_polling", "cloud_push", "local_polling", "local_push", "calculated"}
INTEGRATION_TYPES = {"device", "entity", "hardware", "helper", "hub", "service", "system", "virtual"}
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "persistent_directory",
    "render_readme",
    "hacs",
}


def test_manifest_has_what_a_custom_integration_needs() -> None:
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"], "hassfest: domain and name first"
    assert keys[2:] == sorted(keys[2:]), "hassfest: the other keys in alphabetical order"
    assert MANIFEST["domain"] == INTEGRATION.name
    assert MANIFEST["config_flow"] is True
    assert (INTEGRATION / "config_flow.py").is_file()
    assert MANIFEST["iot_class"] == "local_polling"
    assert MANIFEST["iot_class"] in IOT_CLASSES
    assert MANIFEST["integration_type"] == "hub"
    assert MANIFEST["integration_type"] in INTEGRATION_TYPES
    assert MANIFEST["codeowners"]
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])
    for key in ("documentation", "issue_tracker"):
        assert MANIFEST[key].startswith("https://"), key
    assert "victron_gx_modbus" in MANIFEST["loggers"], "the core logs under victron_gx_modbus.*"
    assert MANIFEST["ssdp"] == [{"manufacturer": "Victron Energy"}]
    assert AwesomeVersion(MANIFEST["version"]).strategy in {
        AwesomeVersionStrategy.SEMVER,
        AwesomeVersionStrategy.SIMPLEVER,
        AwesomeVersionStrategy.CALVER,
    }, "a custom integration needs a valid version"


def test_versions_agree() -> None:
    """One version: Cargo.toml's, which the wheel, the manifest, HACS's release and the CHANGELOG carry."""
    assert MANIFEST["version"] == CARGO_VERSION
    assert MANIFEST["requirements"] == [f"victron-gx-modbus=={CARGO_VERSION}"]
    assert victron_gx_modbus.__version__ == CARGO_VERSION
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" in pyproject["project"]["dynamic"], "the wheel takes Cargo's version"
    assert "version" not in pyproject["project"], "a version of its own would override Cargo's"
    lock = tomllib.loads((ROOT / "Cargo.lock").read_text(encoding="utf-8"))
    locked = [p["version"] for p in lock["package"] if p["name"] == "victron_gx_modbus"]
    assert locked == [CARGO_VERSION], "Cargo.lock is behind Cargo.toml"
    assert "version" not in HACS, "HACS takes the version from the release tag (v<version>)"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[([^\]]+)\]", changelog, re.MULTILINE)
    assert releases, "the CHANGELOG has no version heading"
    assert releases[0] == CARGO_VERSION, f"the CHANGELOG's newest entry is {releases[0]}"
    assert len(set(releases)) == len(releases), "a version twice in the CHANGELOG"


def test_hacs_json() -> None:
    assert set(HACS) <= HACS_KEYS, set(HACS) - HACS_KEYS
    assert HACS["name"] == MANIFEST["name"]
    minimum = AwesomeVersion(HACS["homeassistant"])
    assert minimum.strategy == AwesomeVersionStrategy.CALVER
    assert minimum <= AwesomeVersion(ha_version), "the tests run the oldest Home Assistant hacs.json allows"
    assert AwesomeVersion(ha_version).section(0) == minimum.section(0)
    assert AwesomeVersion(ha_version).section(1) == minimum.section(1)
    assert (ROOT / "README.md").is_file(), "render_readme shows the README in HACS"


def test_brand_icons() -> None:
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        with Image.open(INTEGRATION / "brand" / name) as image:
            assert image.format == "PNG"
            assert image.size == (size, size), name
            assert image.mode == "RGBA", f"{name}: a transparent background"


def test_no_file_of_the_integration_is_outside_what_hacs_installs() -> None:
    """HACS copies custom_components/victron_gx_modbus/ only: nothing there may import from elsewhere."""
    local = re.compile(r"^\s*from (?:\.\.|custom_components|scripts|tests)\b", re.MULTILINE)
    for path in INTEGRATION.glob("*.py"):
        assert not local.search(path.read_text(encoding="utf-8")), path.name
