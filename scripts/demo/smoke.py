"""Import-and-set-up smoke run of the integration on whichever Home Assistant is installed.

    python -m demo.smoke requirements   # the pip requirements of the integrations it loads
    python -m demo.smoke run            # the run itself; exit status 0 when it passed
    python -m demo.smoke hass ARGS...   # Home Assistant's own command line, on this Python

The newer-HA lane (scripts/test-newer-ha) runs it on the newest Home Assistant
on the registry, which no test package pins yet: a Home Assistant process of
its own with a minimal configuration adds a simulated GX through the config
flow as a user would, must show live values of the GX's entities, must log no
error, traceback or deprecation report about the integration, and must stop
with exit status 0. That Home Assistant declares a newer Python than the lane's
3.13, so it is started through `hass`, which lifts only that version gate.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import aiohttp
from victron_gx_modbus import Simulator

from .api import DemoError, HomeAssistantApi
from .process import home_assistant
from .state import free_port, prepare

SCENARIO = "three-phase"
DOMAINS = ("http", "api", "config", "onboarding", "websocket_api")
"""What the run loads beside the integration: the HTTP, REST and websocket APIs and the flows."""
CONFIGURATION = """\
homeassistant:
  name: Smoke run
  unit_system: metric
  time_zone: UTC
  auth_providers:
    - type: homeassistant
http:
  server_host: 127.0.0.1
  server_port: {port}
{domains}
logger:
  default: warning
"""
START_TIMEOUT_S = 120
LIVE_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
HA_COMMAND = (sys.executable, "-m", "demo.smoke", "hass", "--skip-pip", "--config")
LOG_PROBLEMS = (" ERROR ", " WARNING ", "Traceback", "Detected that", "deprecated")
OURS = "victron_gx_modbus"
EXPECTED = "which has not been tested by Home Assistant"
"""The warning every custom integration gets at start-up."""
_RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def requirements() -> list[str]:
    """The pip requirements of the integrations the run loads, with their dependencies.

    Home Assistant sets up its default integrations (the frontend among them)
    whatever the configuration says, and falls back to recovery mode when the
    frontend fails, so their requirements count too.
    """
    from homeassistant.bootstrap import CORE_INTEGRATIONS, DEFAULT_INTEGRATIONS  # noqa: PLC0415

    spec = find_spec("homeassistant.components")
    if spec is None or not spec.submodule_search_locations:
        msg = "Home Assistant is not installed"
        raise DemoError(msg)
    components = Path(next(iter(spec.submodule_search_locations)))
    wanted = [*DOMAINS, *CORE_INTEGRATIONS, *DEFAULT_INTEGRATIONS]
    seen, found = set[str](), list[str]()
    while wanted:
        domain = wanted.pop()
        if domain in seen:
            continue
        seen.add(domain)
        path = components / domain / "manifest.json"
        if not path.exists():  # an entity platform's name with no integration of its own
            continue
        manifest: dict[str, Any] = json.loads(path.read_text("utf-8"))
        found.extend(manifest.get("requirements", []))
        wanted.extend([*manifest.get("dependencies", []), *manifest.get("after_dependencies", [])])
    return sorted(set(found))


async def _live_states(api: HomeAssistantApi, entry_id: str) -> int:
    """Wait until the entry's enabled entities all have states and most show a value; returns how many."""
    ws = await api.websocket()
    entities = {item["entity_id"] for item in await ws.entry_entities(entry_id) if not item["disabled_by"]}
    if not entities:
        msg = "the GX's entry has no enabled entities"
        raise DemoError(msg)
    deadline = time.monotonic() + LIVE_TIMEOUT_S
    while True:
        states = {state["entity_id"]: state["state"] for state in await api.states()}
        shown = [entity for entity in entities if entity in states]
        valued = [entity for entity in shown if states[entity] not in {"unavailable", "unknown"}]
        if len(shown) == len(entities) and len(valued) * 2 > len(entities):
            return len(valued)
        if time.monotonic() > deadline:
            msg = f"{len(shown)} of {len(entities)} entities have a state, {len(valued)} a value"
            raise DemoError(msg)
        await asyncio.sleep(0.5)


async def run(folder: Path) -> str:
    """The smoke run in `folder`; returns what it saw, raises DemoError on a failure."""
    port = free_port()
    login = prepare(folder, SCENARIO, port)
    domains = "\n".join(f"{domain}:" for domain in DOMAINS if domain != "http")
    (folder / "configuration.yaml").write_text(CONFIGURATION.format(port=port, domains=domains), "utf-8")
    async with (
        Simulator(SCENARIO) as gx,
        home_assistant(folder, stderr=asyncio.subprocess.PIPE, command=HA_COMMAND) as hass,
        aiohttp.ClientSession() as session,
    ):
        api = HomeAssistantApi(session, f"http://127.0.0.1:{port}")
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                await api.wait_until_up()
        except TimeoutError:
            msg = f"Home Assistant did not answer within {START_TIMEOUT_S} s"
            raise DemoError(msg) from None
        await api.log_in(login.username, login.password)
        entry = await api.add_gx(gx.host, gx.port)
        [listed] = [item for item in await api.gx_entries() if item["entry_id"] == entry["entry_id"]]
        if listed["state"] != "loaded":
            msg = f"the GX's entry is {listed['state']}: {listed.get('reason')}"
            raise DemoError(msg)
        valued = await _live_states(api, entry["entry_id"])
        hass.send_signal(signal.SIGTERM)
        async with asyncio.timeout(STOP_TIMEOUT_S):
            _, stderr = await hass.communicate()
    if hass.returncode != 0:
        msg = f"Home Assistant exited with {hass.returncode}: {stderr.decode(errors='replace')[-3000:]}"
        raise DemoError(msg)
    log = (folder / "home-assistant.log").read_text(encoding="utf-8")
    problems = _problems_of_ours(log)
    if problems:
        raise DemoError("Home Assistant logged problems:\n" + "\n".join(problems[:40]))
    return f"{SCENARIO}: entry loaded, {valued} entities with live values, clean log, exit 0"


def _home_assistant(argv: list[str]) -> int:
    """Home Assistant's `__main__` with `argv`, minus its check of the Python version."""
    import homeassistant.__main__ as ha_main  # noqa: PLC0415 - only this command runs HA

    ha_main.validate_python = lambda: None  # the lane runs 3.14's HA on 3.13 on purpose
    sys.argv = ["hass", *argv]
    return ha_main.main()


def _problems_of_ours(log: str) -> list[str]:
    """Log records (with their tracebacks) that are about the integration and report a problem.

    Home Assistant's default integrations log their own complaints on a bare
    machine (no ffmpeg, no Supervisor); those are not the integration's.
    """
    records: list[str] = []
    for line in log.splitlines():
        if _RECORD_START.match(line) or not records:
            records.append(line)
        else:
            records[-1] += "\n" + line
    return [
        record
        for record in records
        if OURS in record and EXPECTED not in record and any(word in record for word in LOG_PROBLEMS)
    ]


def main(argv: list[str]) -> int:
    """`requirements`, `run` or `hass`."""
    if argv[:1] == ["hass"]:
        return _home_assistant(argv[1:])
    if argv == ["requirements"]:
        print("\n".join(requirements()))
        return 0
    if argv == ["run"]:
        from homeassistant.const import __version__  # noqa: PLC0415 - only the run needs HA itself

        with tempfile.TemporaryDirectory(prefix="ha-smoke-") as folder:
            try:
                seen = asyncio.run(run(Path(folder)))
            except DemoError as err:
                print(f"smoke run on Home Assistant {__version__}: FAILED: {err}", file=sys.stderr)
                return 1
        print(f"smoke run on Home Assistant {__version__}: {seen}")
        return 0
    print("usage: python -m demo.smoke requirements|run|hass ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
