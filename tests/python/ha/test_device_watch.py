"""A device plugged in after the sweep is found over Modbus alone, because the system's values tell of it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.victron_gx_modbus.const import CONF_SCAN, CONF_SWEEP
from custom_components.victron_gx_modbus.device_watch import SEARCH_FAILED_BUDGET, check_interval

from .conftest import coordinator_of, entry_entities, mock_entry, register_of, scan_of

if TYPE_CHECKING:
    import pytest
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from victron_gx_modbus import Simulator

SWEPT = {"found": [], "requests": 3100, "failed_requests": 3100}
"""A stored outcome of a finished background sweep."""


async def set_up_after_the_sweep(hass: HomeAssistant, simulator: Simulator) -> MockConfigEntry:
    """The three-phase site without the garage's solar charger, scanned and swept."""
    await simulator.set_present("mppt_garage", present=False)
    entry = mock_entry(simulator, await scan_of(simulator))
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_SWEEP: SWEPT})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.sweep.state == "done"
    return entry


async def poll_and_check(hass: HomeAssistant, entry: MockConfigEntry, times: int) -> None:
    """`times` rounds of a poll followed by the watch's check (and whatever it starts)."""
    for _ in range(times):
        await coordinator_of(entry).async_refresh()
        async_fire_time_changed(hass, dt_util.utcnow() + check_interval(entry))
        await hass.async_block_till_done(wait_background_tasks=True)


def chargers(entry: MockConfigEntry) -> list[int]:
    """The units of the stored scan's solar chargers."""
    devices = entry.data[CONF_SCAN]["devices"]
    return sorted(found["unit"] for found in devices if found["service"] == "solarcharger")


async def test_a_charger_plugged_in_after_the_sweep_is_added_within_a_few_polls(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.victron_gx_modbus")
    entry = await set_up_after_the_sweep(hass, simulator)
    assert chargers(entry) == [0, 1, 2]
    client = entry.runtime_data.client
    await simulator.set_present("mppt_garage", present=True)
    simulator.reset_stats()
    await poll_and_check(hass, entry, 2)  # the claim must hold at two checks in a row
    assert chargers(entry) == [0, 1, 2, 3]
    assert entry.runtime_data.client is client, "the entry was reloaded"
    assert simulator.stats()["exceptions"] < 50
    assert any(register_of(e.unique_id).startswith("3/solarcharger/") for e in entry_entities(hass, entry))
    found = [r.getMessage() for r in caplog.records if "values tell of a further device" in r.getMessage()]
    assert len(found) == 1
    assert "solarcharger found at unit 3" in found[0]
    # Explained now: more checks search no more.
    simulator.reset_stats()
    await poll_and_check(hass, entry, 3)
    assert simulator.stats()["exceptions"] == 0
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_without_a_claim_nothing_is_probed(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await set_up_after_the_sweep(hass, simulator)
    simulator.reset_stats()
    await poll_and_check(hass, entry, 4)
    assert simulator.stats()["exceptions"] == 0
    assert chargers(entry) == [0, 1, 2]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_claim_searched_in_vain_is_not_searched_again_until_explained(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await set_up_after_the_sweep(hass, simulator)
    await simulator.hold("gx", "dc_pv_power", 60000)  # more PV than any charger there is
    simulator.reset_stats()
    await poll_and_check(hass, entry, 2)
    assert simulator.stats()["exceptions"] == SEARCH_FAILED_BUDGET
    assert chargers(entry) == [0, 1, 2]
    await poll_and_check(hass, entry, 4)
    assert simulator.stats()["exceptions"] == SEARCH_FAILED_BUDGET, "searched again without new evidence"
    assert await hass.config_entries.async_unload(entry.entry_id)
