"""The background sweep in Home Assistant: completes the quick scan, adds what it finds, keeps its rate."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.data_entry_flow import FlowResultType

from custom_components.victron_gx_modbus import sweep
from custom_components.victron_gx_modbus.const import CONF_SCAN, CONF_SWEEP, DOMAIN, GX_SERVICES, GX_UNIT
from custom_components.victron_gx_modbus.diagnostics import async_get_config_entry_diagnostics

from .compat import device_of
from .conftest import SCENARIOS, entry_entities, mock_entry, register_of, scan_of, setup_entry, state_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from victron_gx_modbus import ScanResult, Simulator

    from custom_components.victron_gx_modbus.sweep_status import SweepStatus


@pytest.fixture
def sweep_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the entry sweep (unpaced: the tests where the rate is the point set it)."""
    monkeypatch.setattr("custom_components.victron_gx_modbus.async_start_sweep", sweep.async_start_sweep)
    monkeypatch.setattr("custom_components.victron_gx_modbus.const.SWEEP_RATE", math.inf)


def status_of(entry: MockConfigEntry) -> SweepStatus:
    """The loaded entry's sweep status."""
    status: SweepStatus = entry.runtime_data.sweep
    return status


def devices_of(scan: ScanResult) -> set[tuple[int, str]]:
    """(unit, service) of every device of a scan result."""
    return {(found["unit"], found["service"]) for found in scan["devices"]}


async def present(sim: Simulator) -> set[tuple[int, str]]:
    """(unit, service) of every connected device of the simulator, as a client reaches them."""
    return {
        (GX_UNIT if device["service"] in GX_SERVICES else int(device["unit"] or 0), device["service"])
        for device in await sim.devices()
        if device["present"]
    }


async def wait_for(condition: Callable[[], bool], within: float = 30.0) -> None:
    """Wait until `condition()` holds (the core's progress has no event to await)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polled state of the core and the simulator
            await asyncio.sleep(0.05)


@pytest.mark.usefixtures("sweep_on")
@pytest.mark.parametrize("simulator", SCENARIOS, indirect=True)
async def test_quick_scan_and_sweep_find_every_device(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await setup_entry(hass, simulator)
    await wait_for(lambda: CONF_SWEEP in entry.data)
    assert devices_of(entry.data[CONF_SCAN]) == await present(simulator)
    assert entry.data[CONF_SWEEP]["requests"] > 3000
    assert status_of(entry).state == "done"
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("sweep_on")
@pytest.mark.parametrize("simulator", ["single-phase-ess"], indirect=True)
async def test_a_device_plugged_in_after_setup_is_added(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.victron_gx_modbus")
    await simulator.set_present("water", present=False)
    scan = await scan_of(simulator)
    assert (20, "tank") not in devices_of(scan)
    entry = mock_entry(simulator, scan)
    entry.add_to_hass(hass)
    await simulator.set_present("water", present=True)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    client = entry.runtime_data.client
    # The sweep stores the tank and adds its device and entities to the running entry.
    await wait_for(lambda: not entry._background_tasks)  # the sweep has ended
    await hass.async_block_till_done()
    assert entry.runtime_data.client is client, "the entry was reloaded"
    assert state_of(entry) is ConfigEntryState.LOADED
    assert (20, "tank") in devices_of(entry.data[CONF_SCAN])
    assert entry.data[CONF_SWEEP]["found"] == ["20/tank"]
    serial = scan["gx"]["serial"]
    tank = device_of(hass, (DOMAIN, f"{serial}_20_tank"))
    assert tank is not None
    tank_entities = [e for e in entry_entities(hass, entry) if e.unique_id.startswith(f"{serial}_20_tank_")]
    assert tank_entities
    assert tank.via_device_id is not None
    level = next(e for e in tank_entities if e.unique_id.endswith("_level"))
    await wait_for(
        lambda: (state := hass.states.get(level.entity_id)) is not None and state.state != "unavailable"
    )
    assert "20/tank/level" in {f"{r['unit']}/{r['service']}/{r['key']}" for r in client.registers}
    found_lines = [
        r for r in caplog.records if r.levelno == logging.INFO and "further device" in r.getMessage()
    ]
    assert len(found_lines) == 1
    assert "tank at unit 20 (Fresh water)" in found_lines[0].getMessage()
    # A reloaded entry knows its sweep is done: no second sweep.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert status_of(entry).state == "done"
    assert status_of(entry).found == ["20/tank"]
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["sweep"]["state"] == "done"
    assert diagnostics["sweep"]["found"] == ["20/tank"]
    simulator.reset_stats()
    await asyncio.sleep(0.5)
    assert simulator.stats()["exceptions"] == 0, "a finished sweep ran again"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_devices_adopted_by_two_paths_at_once_join_once(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The sweep and the MQTT list refresh may both adopt a grown scan at the same time."""
    full = await scan_of(simulator)
    partial: ScanResult = {
        **full,
        "devices": [found for found in full["devices"] if found["unit"] not in (0, 1)],
    }
    entry = mock_entry(simulator, partial)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_SCAN: full})
    hub = entry.runtime_data
    await asyncio.gather(hub.async_adopt_found(hass, entry), hub.async_adopt_found(hass, entry))
    await hass.async_block_till_done()
    registers = [register_of(e.unique_id) for e in entry_entities(hass, entry)]
    assert any(register.startswith("0/solarcharger/") for register in registers)
    assert any(register.startswith("1/solarcharger/") for register in registers)
    assert not [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("sweep_on")
async def test_sweep_keeps_to_five_requests_per_second(
    hass: HomeAssistant, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custom_components.victron_gx_modbus.const.SWEEP_RATE", 5.0)
    entry = await setup_entry(hass, simulator)
    await wait_for(lambda: status_of(entry).done > 0, within=5)
    # Polls read only what the GX serves: the exception replies are the sweep's probes.
    before, started = simulator.stats()["exceptions"], time.monotonic()
    await asyncio.sleep(3)
    probes, seconds = simulator.stats()["exceptions"] - before, time.monotonic() - started
    assert 5 * seconds - 3 <= probes <= 5 * seconds + 1, f"{probes} probes in {seconds:.2f} s"
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("sweep_on")
async def test_options_flow_shows_the_sweep_status(
    hass: HomeAssistant, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custom_components.victron_gx_modbus.const.SWEEP_RATE", 50.0)
    entry = await setup_entry(hass, simulator)
    await wait_for(lambda: status_of(entry).done > 0, within=5)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    placeholders = result["description_placeholders"] or {}
    assert placeholders["sweep_found"] == "—"
    assert 0 <= int(placeholders["sweep_percent"]) < 100
    hass.config_entries.options.async_abort(result["flow_id"])
    status_of(entry).state = "done"
    status_of(entry).found = ["225/battery"]
    result = await hass.config_entries.options.async_init(entry.entry_id)
    placeholders = result["description_placeholders"] or {}
    assert placeholders["sweep_percent"] == "100"
    assert placeholders["sweep_found"].startswith("- ")
    assert "unit 225" in placeholders["sweep_found"]
    hass.config_entries.options.async_abort(result["flow_id"])
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_flow_of_an_unloaded_entry_shows_the_stored_status(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = mock_entry(simulator, await scan_of(simulator))
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert (result["description_placeholders"] or {})["sweep_percent"] == "0"


@pytest.mark.usefixtures("sweep_on")
async def test_unload_mid_sweep_leaves_nothing_running(
    hass: HomeAssistant,
    simulator: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("custom_components.victron_gx_modbus.const.SWEEP_RATE", 50.0)
    entry = await setup_entry(hass, simulator)
    await wait_for(lambda: status_of(entry).done > 0, within=5)
    assert status_of(entry).state == "running"
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert not entry._background_tasks
    await wait_for(lambda: not simulator.stats()["connections_open"], within=2)
    before = simulator.stats()["requests"]
    await asyncio.sleep(0.3)
    assert simulator.stats()["requests"] == before
    assert CONF_SWEEP not in entry.data, "an unfinished sweep is not recorded as done"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "victron_gx_modbus" in r.name]


@pytest.mark.usefixtures("sweep_on")
async def test_a_sweep_waits_for_a_rebooting_gx_and_goes_on(
    hass: HomeAssistant,
    simulator: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("custom_components.victron_gx_modbus.const.SWEEP_RATE", 100.0)
    entry = await setup_entry(hass, simulator)
    await wait_for(lambda: status_of(entry).done > 0, within=5)
    simulator.reboot(2.0)
    before = status_of(entry).done
    await wait_for(lambda: status_of(entry).done > before + 50, within=20)
    assert status_of(entry).state == "running"
    assert simulator.stats()["reboots"] == 1
    assert not [r for r in caplog.records if "search" in r.getMessage() and r.levelno >= logging.WARNING]
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("sweep_on")
async def test_a_sweep_of_a_gx_gone_longer_than_its_patience_is_logged_once_and_retried_at_the_next_start(
    hass: HomeAssistant,
    simulator: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("custom_components.victron_gx_modbus.const.SWEEP_RATE", 50.0)
    monkeypatch.setattr("custom_components.victron_gx_modbus.const.SWEEP_PATIENCE", 1.0)
    entry = await setup_entry(hass, simulator)
    await wait_for(lambda: status_of(entry).done > 0, within=5)
    simulator.reboot(10.0)
    await wait_for(lambda: status_of(entry).state == "failed", within=20)
    warnings = [
        r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "search" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert CONF_SWEEP not in entry.data
    assert await hass.config_entries.async_unload(entry.entry_id)
