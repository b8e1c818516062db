"""The demo (`scripts/develop`) serves a real Home Assistant with the simulated GX set up."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from demo import smoke
from demo.screenshots import ScreenshotError, check_energy
from demo.site import SiteEntities, energy_counters_to_enable, energy_preferences
from demo.state import free_port

ROOT = Path(__file__).resolve().parents[2]
UP_WITHIN_S = 150
"""The first start: Home Assistant, the config flow, its reload 30 s after the demo enables entities."""


async def read_until(stream: asyncio.StreamReader, marker: str, seen: list[str]) -> None:
    while True:
        line = (await stream.readline()).decode(errors="replace")
        if not line:
            msg = f"the demo ended before printing {marker!r}"
            raise AssertionError(msg)
        seen.append(line)
        if marker in line:
            return


async def states(session: aiohttp.ClientSession, base: str, folder: Path) -> list[dict[str, object]]:
    """Every state, read as the demo's owner (logged in with the password it keeps)."""
    login = json.loads((folder / ".demo-login.json").read_text(encoding="utf-8"))
    client_id = f"{base}/"
    flow_url = f"{base}/auth/login_flow"
    handler = {"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": client_id}
    async with session.post(flow_url, json=handler) as response:
        flow = await response.json()
    credentials = {"client_id": client_id, **login}
    async with session.post(f"{flow_url}/{flow['flow_id']}", json=credentials) as response:
        code = (await response.json())["result"]
    token_request = {"grant_type": "authorization_code", "code": code, "client_id": client_id}
    async with session.post(f"{base}/auth/token", data=token_request) as response:
        token = (await response.json())["access_token"]
    async with session.get(f"{base}/api/states", headers={"Authorization": f"Bearer {token}"}) as response:
        found: list[dict[str, object]] = await response.json()
        return found


@pytest.mark.usefixtures("socket_enabled")
async def test_the_demo_serves_home_assistant_with_the_gx(tmp_path: Path) -> None:
    port = free_port()
    demo = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "demo",
        "--config",
        str(tmp_path),
        "--ha-port",
        str(port),
        "--gx-port",
        str(free_port()),
        "--no-mqtt",
        "--gx-host",  # not 127.0.0.1, where a running demo's GX answers MQTT on 8883
        "127.0.0.2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "scripts")},
    )
    assert demo.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(UP_WITHIN_S):
            await read_until(demo.stdout, "Home Assistant is up", seen)
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            # The owner's browser on this machine gets in without a password.
            async with session.get(f"{base}/auth/providers") as response:
                providers = await response.json()
            assert any(p["type"] == "trusted_networks" for p in providers["providers"])
            found = {str(s["entity_id"]): s for s in await states(session, base, tmp_path)}
        # The battery's counters, disabled by default, enabled for the energy dashboard and polled.
        for counter in ("charged_energy", "discharged_energy"):
            (battery,) = [
                s for e, s in found.items() if e.startswith("sensor.lynx_bms_") and e.endswith(f"_{counter}")
            ]
            assert float(str(battery["state"])) > 0, battery
        soc = [s for e, s in found.items() if e.startswith("sensor.") and e.endswith("_state_of_charge")]
        assert soc, sorted(found)[:20]
        assert all(0 < float(str(s["state"])) <= 100 for s in soc)
        grid = [s for e, s in found.items() if e.startswith("sensor.grid_") and "power_l" in e]
        assert len(grid) >= 3, sorted(found)
        assert all(s["state"] not in {"unavailable", "unknown"} for s in grid)
    finally:
        if demo.returncode is None:
            demo.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(demo.communicate(), 60)
    assert demo.returncode == 0, "".join(seen) + output.decode(errors="replace")
    assert any(line.startswith("Enabled sensor.lynx_bms_") for line in seen), "".join(seen)
    seeded = [line for line in seen if line.startswith("Seeded 24 h of statistics")]
    assert seeded, "".join(seen)
    assert int(seeded[0].split(" for ")[1].split()[0]) >= 20, seeded[0]  # the site's measured sensors
    assert "Home Assistant stopped (exit code 0)" in output.decode()


async def test_the_smoke_run_passes_on_the_pinned_home_assistant() -> None:
    """The newer-HA lane's smoke run (scripts/demo/smoke.py) on HA 2026.2.3: it passes where all is well."""
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "demo.smoke",
        "run",
        env={**os.environ, "PYTHONPATH": str(ROOT / "scripts")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(240):
        stdout, stderr = await run.communicate()
    assert run.returncode == 0, stderr.decode(errors="replace")[-3000:]
    assert "entry loaded" in stdout.decode()
    assert "entities with live values, clean log, exit 0" in stdout.decode()


def test_the_smoke_run_counts_only_the_integrations_problems() -> None:
    t = "2026-12-07 13:00:1"
    log = f"""\
{t}3.817 ERROR (MainThread) [homeassistant.setup] Setup failed for 'cloud': numpy
Traceback (most recent call last):
  File "homeassistant/components/stream/core.py", line 14, in <module>
{t}4.001 WARNING (SyncWorker_0) [homeassistant.loader] We found a custom integration victron_gx_modbus \
which has not been tested by Home Assistant.
{t}5.002 ERROR (MainThread) [homeassistant.config_entries] Error setting up entry
Traceback (most recent call last):
  File "custom_components/victron_gx_modbus/__init__.py", line 60, in async_setup_entry
{t}6.003 WARNING (MainThread) [homeassistant.helpers.frame] Detected that custom integration \
'victron_gx_modbus' calls a retired helper
{t}7.004 INFO (MainThread) [custom_components.victron_gx_modbus] all well
"""
    problems = smoke._problems_of_ours(log)
    assert len(problems) == 2
    assert "Error setting up entry" in problems[0]
    assert "__init__.py" in problems[0], "a record keeps its traceback"
    assert "retired helper" in problems[1]


def test_the_smoke_run_installs_what_home_assistant_always_loads() -> None:
    needed = smoke.requirements()
    assert any(requirement.startswith("home-assistant-frontend==") for requirement in needed)
    assert needed == sorted(set(needed))


UNITS = {"battery": 225, "grid": 30, "solarcharger": 0}


def registry_entry(entity_id: str, register: str, disabled_by: str | None = None) -> dict[str, object]:
    """An entity registry entry of the integration (as `config/entity_registry/list` gives it)."""
    unit = UNITS[register.split("_", 1)[0]]
    return {
        "entity_id": entity_id,
        "unique_id": f"c0619ab2a7d1_{unit}_{register}",
        "platform": "victron_gx_modbus",
        "config_entry_id": "gx",
        "disabled_by": disabled_by,
    }


REGISTRY = [
    registry_entry("sensor.grid_import", "grid_ac_energy_forward"),
    registry_entry("sensor.grid_export", "grid_ac_energy_reverse"),
    registry_entry("sensor.mppt_yield", "solarcharger_yield_user"),
    registry_entry("sensor.lynx_charged", "battery_history_charged_energy", "integration"),
    registry_entry("sensor.lynx_discharged", "battery_history_discharged_energy", "integration"),
    registry_entry("sensor.lynx_drawn", "battery_history_total_ah_drawn", "integration"),
    registry_entry("sensor.grid_l1_import", "grid_ac_l1_energy_forward", "integration"),
]


def test_the_demo_enables_the_battery_counters_the_energy_dashboard_takes() -> None:
    assert energy_counters_to_enable(REGISTRY, "gx") == ["sensor.lynx_charged", "sensor.lynx_discharged"]
    assert energy_counters_to_enable(REGISTRY, "another entry") == []
    by_user = [
        {**entry, "disabled_by": "user"} if "lynx" in str(entry["entity_id"]) else entry for entry in REGISTRY
    ]
    assert energy_counters_to_enable(by_user, "gx") == [], "what a user disabled stays disabled"

    before = energy_preferences(SiteEntities(REGISTRY))["energy_sources"]
    assert [source["type"] for source in before] == ["grid", "solar"], "disabled counters are no source"
    enabled = [
        {**entry, "disabled_by": None} if "lynx" in str(entry["entity_id"]) else entry for entry in REGISTRY
    ]
    after = energy_preferences(SiteEntities(enabled))["energy_sources"]
    assert after[-1] == {
        "type": "battery",
        "stat_energy_from": "sensor.lynx_discharged",
        "stat_energy_to": "sensor.lynx_charged",
    }


def test_the_screenshots_fail_without_energy_from_grid_solar_and_battery() -> None:
    day = {
        "grid sensor.grid_import + sensor.grid_export": 120.4,
        "solar sensor.mppt_yield": 16.6,
        "battery sensor.lynx_discharged + sensor.lynx_charged": 40.3,
    }
    check_energy(day)
    without_battery = {name: kwh for name, kwh in day.items() if not name.startswith("battery")}
    with pytest.raises(ScreenshotError, match="no battery source"):
        check_energy(without_battery)
    with pytest.raises(ScreenshotError, match="no grid and no solar and no battery source"):
        check_energy({})
    with pytest.raises(ScreenshotError, match=r"no energy today from \['battery "):
        check_energy({**day, "battery sensor.lynx_discharged + sensor.lynx_charged": 0.0})
