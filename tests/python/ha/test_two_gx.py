"""Two GX devices side by side, each its own entry, set up through the config flow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT, STATE_UNAVAILABLE
from homeassistant.data_entry_flow import FlowResultType
from victron_gx_modbus import Simulator

from custom_components.victron_gx_modbus.const import DOMAIN

from .conftest import coordinator_of, entry_entities, state_of

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from custom_components.victron_gx_modbus.hub import VictronGxConfigEntry


async def add_through_the_flow(hass: HomeAssistant, sim: Simulator) -> VictronGxConfigEntry:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: sim.host, CONF_PORT: sim.port}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry: VictronGxConfigEntry = result["result"]
    return entry


async def test_two_gx_devices_side_by_side(hass: HomeAssistant) -> None:
    async with Simulator("three-phase") as first, Simulator("single-phase-ess") as second:
        one = await add_through_the_flow(hass, first)
        two = await add_through_the_flow(hass, second)
        assert one.unique_id != two.unique_id
        assert one.state is ConfigEntryState.LOADED
        assert two.state is ConfigEntryState.LOADED
        ids_one = {e.unique_id for e in entry_entities(hass, one)}
        ids_two = {e.unique_id for e in entry_entities(hass, two)}
        assert ids_one
        assert ids_two
        assert not ids_one & ids_two

        first.reboot(5)
        await coordinator_of(one).async_refresh()
        await coordinator_of(two).async_refresh()
        await hass.async_block_till_done()
        for entity in entry_entities(hass, one):
            if state := hass.states.get(entity.entity_id):
                assert state.state == STATE_UNAVAILABLE
        shown_two = [hass.states.get(e.entity_id) for e in entry_entities(hass, two) if e.disabled_by is None]
        assert all(s is not None and s.state != STATE_UNAVAILABLE for s in shown_two)

        assert await hass.config_entries.async_unload(one.entry_id)
        assert state_of(two) is ConfigEntryState.LOADED
        await coordinator_of(two).async_refresh()
        assert coordinator_of(two).last_update_success
        assert await hass.config_entries.async_unload(two.entry_id)
