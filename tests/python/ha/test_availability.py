"""Availability: a lost GX makes every entity unavailable (logged once), an unplugged device only its own."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from homeassistant.const import STATE_UNAVAILABLE

from custom_components.victron_gx_modbus.const import DOMAIN, device_identifier

from .compat import device_of
from .conftest import coordinator_of, entry_entities, refresh_until, setup_entry

if TYPE_CHECKING:
    import pytest
    from homeassistant.core import HomeAssistant
    from victron_gx_modbus import Simulator

    from custom_components.victron_gx_modbus.hub import VictronGxConfigEntry


def shown_states(hass: HomeAssistant, entry: VictronGxConfigEntry) -> dict[str, str]:
    """entity_id -> state of the entry's enabled entities."""
    states: dict[str, str] = {}
    for entity in entry_entities(hass, entry):
        if entity.disabled_by is None:
            state = hass.states.get(entity.entity_id)
            assert state is not None
            states[entity.entity_id] = state.state
    return states


async def test_gx_reboot_makes_everything_unavailable_then_recovers(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_entry(hass, simulator)
    coordinator = coordinator_of(entry)
    assert STATE_UNAVAILABLE not in shown_states(hass, entry).values()
    caplog.clear()

    simulator.reboot(1.5)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert not coordinator.last_update_success
    assert set(shown_states(hass, entry).values()) == {STATE_UNAVAILABLE}
    await asyncio.sleep(0.2)
    await coordinator.async_refresh()  # still away: no second log line
    await hass.async_block_till_done()

    # The poll on which the connection comes back may still miss the blocks sent before it did.
    await refresh_until(
        coordinator,
        lambda: (
            coordinator.last_update_success and STATE_UNAVAILABLE not in shown_states(hass, entry).values()
        ),
    )

    ours = [r for r in caplog.records if r.name.startswith("custom_components.victron_gx_modbus")]
    lost = [r for r in ours if r.levelno >= logging.WARNING]
    back = [r for r in ours if r.levelno == logging.INFO and "recovered" in r.getMessage()]
    assert len(lost) == 1, [r.getMessage() for r in lost]
    assert f"{simulator.host}:{simulator.port} does not answer" in lost[0].getMessage()
    assert len(back) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_unplugged_device_makes_only_its_entities_unavailable(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    coordinator = coordinator_of(entry)
    battery = device_of(hass, (DOMAIN, device_identifier("c0619ab2a7d1", 225, "battery")))
    assert battery is not None
    battery_entities = {e.entity_id for e in entry_entities(hass, entry) if e.device_id == battery.id}
    assert battery_entities

    await simulator.set_present("lynx", present=False)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert coordinator.last_update_success
    states = shown_states(hass, entry)
    unavailable = {entity_id for entity_id, state in states.items() if state == STATE_UNAVAILABLE}
    assert unavailable == battery_entities & set(states)

    await simulator.set_present("lynx", present=True)
    await refresh_until(coordinator, lambda: STATE_UNAVAILABLE not in shown_states(hass, entry).values())
    assert await hass.config_entries.async_unload(entry.entry_id)
