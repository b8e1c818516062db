"""Only what is shown is polled: the plan follows the entity registry across reloads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers import entity_registry as er
from victron_gx_modbus import register_id

from .conftest import coordinator_of, entry_entities, register_of, setup_entry

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from victron_gx_modbus import Simulator


def planned(entry: MockConfigEntry) -> set[str]:
    """The registers the entry's client polls."""
    return {register_id(r["unit"], r["service"], r["key"]) for r in entry.runtime_data.client.registers}


async def reload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Reload the entry, as Home Assistant does 30 s after entities were enabled or disabled."""
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()


async def test_disabling_and_enabling_entities_changes_what_is_polled(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    registry = er.async_get(hass)
    entities = entry_entities(hass, entry)
    shown = next(e for e in entities if register_of(e.unique_id) == "30/grid/ac_l1_power")
    hidden = next(e for e in entities if register_of(e.unique_id) == "100/system/serial")
    assert shown.disabled_by is None
    assert hidden.disabled_by is not None
    assert "30/grid/ac_l1_power" in planned(entry)
    assert "100/system/serial" not in planned(entry)

    registry.async_update_entity(shown.entity_id, disabled_by=er.RegistryEntryDisabler.USER)
    registry.async_update_entity(hidden.entity_id, disabled_by=None)
    await reload(hass, entry)
    assert "30/grid/ac_l1_power" not in planned(entry)
    assert "100/system/serial" in planned(entry)
    assert hass.states.get(hidden.entity_id).state == "c0619ab2a7d1"  # type: ignore[union-attr]
    assert hass.states.get(shown.entity_id) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_device_whose_entities_are_all_disabled_is_never_asked(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    registry = er.async_get(hass)
    charger = [e for e in entry_entities(hass, entry) if register_of(e.unique_id).startswith("40/evcharger/")]
    assert any(e.disabled_by is None for e in charger)
    for entity in charger:
        registry.async_update_entity(entity.entity_id, disabled_by=er.RegistryEntryDisabler.USER)
    await reload(hass, entry)
    simulator.reset_stats()
    coordinator = coordinator_of(entry)
    for _ in range(3):
        await coordinator.async_refresh()
    stats = simulator.stats()
    assert stats["requests"] > 0
    assert "40" not in stats["by_unit"], "a request reached the EV charger, whose entities are all disabled"
    assert stats["exceptions"] == 0
    assert await hass.config_entries.async_unload(entry.entry_id)
