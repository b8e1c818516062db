"""Setting up, unloading and reloading an entry; migration; a GX that is away at start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_SCAN_INTERVAL, EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE
from pytest_homeassistant_custom_component.common import MockConfigEntry
from victron_gx_modbus import GXConnectionError, Simulator

from custom_components.victron_gx_modbus import async_migrate_entry
from custom_components.victron_gx_modbus.const import CONF_SCAN, DEFAULT_SCAN_INTERVAL, DOMAIN

from .conftest import coordinator_of, mock_entry, scan_of, setup_entry, state_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant


async def test_setup_polls_from_the_stored_scan_without_probing(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    scan = await scan_of(simulator)
    simulator.reset_stats()
    entry = mock_entry(simulator, scan)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    stats = simulator.stats()
    assert stats["exceptions"] == 0, "setting up from a stored scan must not probe"
    assert stats["requests"] > 0
    coordinator = coordinator_of(entry)
    assert coordinator.last_update_success
    assert coordinator.update_interval is not None
    assert coordinator.update_interval.total_seconds() == DEFAULT_SCAN_INTERVAL
    assert entry.runtime_data.scan == scan
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_interval_comes_from_the_options(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = mock_entry(simulator, await scan_of(simulator))
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options={CONF_SCAN_INTERVAL: 2})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    interval = coordinator_of(entry).update_interval
    assert interval is not None
    assert interval.total_seconds() == 2
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unload_closes_the_client_and_reload_reconnects(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    client = entry.runtime_data.client
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert state_of(entry) is ConfigEntryState.NOT_LOADED
    try:
        await client.read_registers(100, 800, 6)
    except GXConnectionError:
        pass
    else:
        msg = "the client still works after unload"
        raise AssertionError(msg)
    for state in hass.states.async_all():
        assert state.state == STATE_UNAVAILABLE

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(entry) is ConfigEntryState.LOADED
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(entry) is ConfigEntryState.LOADED
    assert entry.runtime_data.client is not client
    soc = hass.states.get("sensor.lynx_bms_state_of_charge")
    assert soc is not None
    assert soc.state != STATE_UNAVAILABLE
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_gx_away_at_start_is_retried(hass: HomeAssistant) -> None:
    async with Simulator("minimal") as sim:
        entry = mock_entry(sim, await scan_of(sim))
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    "damage",
    [
        lambda _: {"version": 1},
        lambda scan: {**scan, "gx": {**scan["gx"], "serial": None}},
        lambda scan: {**scan, "version": 99},
    ],
    ids=["truncated", "no-serial", "future-version"],
)
async def test_an_unusable_stored_scan_is_a_setup_error(
    hass: HomeAssistant, simulator: Simulator, damage: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    entry = mock_entry(simulator, await scan_of(simulator))
    broken = {**entry.data, CONF_SCAN: damage(dict(entry.data[CONF_SCAN]))}
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, data=broken)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert "Remove the integration entry" in entry.reason


async def test_stopping_home_assistant_closes_the_client(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await setup_entry(hass, simulator)
    client = entry.runtime_data.client
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    try:
        await client.read_registers(100, 800, 6)
    except GXConnectionError:
        pass
    else:
        msg = "the client still works after Home Assistant stopped"
        raise AssertionError(msg)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_migration_accepts_version_1_and_refuses_newer(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    scan = await scan_of(simulator)
    assert await async_migrate_entry(hass, mock_entry(simulator, scan))
    newer = MockConfigEntry(
        domain=DOMAIN, unique_id="x", data=dict(mock_entry(simulator, scan).data), version=2
    )
    newer.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(newer.entry_id)
    assert newer.state is ConfigEntryState.MIGRATION_ERROR
