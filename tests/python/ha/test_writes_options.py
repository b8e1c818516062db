"""The writes step: limits the core validates, controls on and off without orphans, the zero issue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from victron_gx_modbus import Limits

from custom_components.victron_gx_modbus.const import CONF_LIMITS, CONF_WRITES, DOMAIN
from custom_components.victron_gx_modbus.limits_form import DEFAULTS

from .conftest import entry_entities, mock_entry, scan_of, setup_entry, state_of
from .test_options_flow import open_options
from .test_writes import LIMITS, SERIAL, write_options

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from victron_gx_modbus import Simulator

GOOD: dict[str, Any] = {**DEFAULTS, CONF_WRITES: True, "phases": "three", "ac_current": 25.0}


async def submit_writes(
    hass: HomeAssistant, entry: MockConfigEntry, user_input: dict[str, Any]
) -> dict[str, Any]:
    """Submit the writes form; returns the result."""
    result = await open_options(hass, entry, "writes")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "writes"
    done = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    await hass.async_block_till_done()
    return dict(done)


def assert_no_orphans(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Every registry entry of the entry is on the platform that shows its register now, once."""
    shown = {
        f"{SERIAL}_{register.unit}_{register.service}_{register.key}": register.platform
        for register in entry.runtime_data.served
    }
    entities = entry_entities(hass, entry)
    assert sorted(e.unique_id for e in entities) == sorted(shown)
    for entity in entities:
        assert entity.domain == shown[entity.unique_id], entity.entity_id
        if entity.disabled_by is None:
            assert hass.states.get(entity.entity_id) is not None, entity.entity_id


async def test_writes_are_off_by_default_and_the_form_shows_the_defaults(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    assert not entry.runtime_data.client.writes_enabled
    result = await open_options(hass, entry, "writes")
    schema = result["data_schema"]
    assert schema is not None
    assert schema({})[CONF_WRITES] is False


async def test_turning_writes_on_and_off_leaves_no_orphans(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await setup_entry(hass, simulator)
    registry = er.async_get(hass)
    relay = registry.async_get_entity_id("binary_sensor", DOMAIN, f"{SERIAL}_100_system_relay_0_state")
    assert relay is not None
    registry.async_update_entity(relay, disabled_by=None, name="Pump relay")
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert_no_orphans(hass, entry)
    sensors = len(entry_entities(hass, entry))

    assert (await submit_writes(hass, entry, GOOD))["type"] is FlowResultType.CREATE_ENTRY
    assert state_of(entry) is ConfigEntryState.LOADED
    assert entry.options[CONF_WRITES] is True
    assert entry.options[CONF_LIMITS] == Limits(**entry.options[CONF_LIMITS]).as_dict()
    assert entry.runtime_data.client.writes_enabled
    assert_no_orphans(hass, entry)
    assert len(entry_entities(hass, entry)) > sensors  # buttons join
    switch = registry.async_get_entity_id("switch", DOMAIN, f"{SERIAL}_100_system_relay_0_state")
    assert switch is not None
    assert switch.split(".", 1)[1] == relay.split(".", 1)[1]
    moved = registry.async_get(switch)
    assert moved is not None
    assert (moved.disabled_by, moved.name) == (None, "Pump relay")
    assert hass.states.get(switch) is not None

    assert (await submit_writes(hass, entry, {**GOOD, CONF_WRITES: False}))[
        "type"
    ] is FlowResultType.CREATE_ENTRY
    assert not entry.runtime_data.client.writes_enabled
    assert_no_orphans(hass, entry)
    assert len(entry_entities(hass, entry)) == sensors
    assert (
        registry.async_get_entity_id("binary_sensor", DOMAIN, f"{SERIAL}_100_system_relay_0_state") == relay
    )


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"ac_voltage": "custom", "custom_ac_voltage": 5}, "custom_ac_voltage", "invalid_ac_voltage"),
        ({"ac_voltage": "custom"}, "custom_ac_voltage", "invalid_ac_voltage"),
        ({"ac_current": 0}, "ac_current", "invalid_ac_current"),
        ({"dc_current": 0}, "dc_current", "invalid_dc_current"),
        ({"power_limit": 0}, "power_limit", "invalid_power_limit"),
        ({"battery": "custom"}, "battery", "invalid_battery"),
        (
            {"battery": "custom", "battery_min_voltage": 50, "battery_max_voltage": 40},
            "battery_min_voltage",
            "invalid_battery_min_voltage",
        ),
    ],
)
async def test_limits_the_core_refuses_get_a_translated_error_at_their_field(
    hass: HomeAssistant, simulator: Simulator, change: dict[str, Any], field: str, error: str
) -> None:
    entry = await setup_entry(hass, simulator)
    result = await submit_writes(hass, entry, {**GOOD, **change})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    assert CONF_WRITES not in entry.options
    from .test_options_flow import options_strings  # noqa: PLC0415

    assert error in options_strings()["error"]


async def test_the_form_shows_stored_custom_limits(hass: HomeAssistant, simulator: Simulator) -> None:
    custom = Limits(
        ac_voltage=220,
        phases="split",
        ac_current=30,
        dc_current=50,
        battery="custom",
        battery_min_voltage=44,
        battery_max_voltage=56,
        power_limit=3000,
        power_per_phase=False,
    )
    entry = mock_entry(simulator, await scan_of(simulator))
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options=write_options(custom, writes=False))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await open_options(hass, entry, "writes")
    schema = result["data_schema"]
    assert schema is not None
    shown = {str(key): key.description for key in schema.schema if getattr(key, "description", None)}
    assert shown["custom_ac_voltage"] == {"suggested_value": 220}
    assert shown["power_limit"] == {"suggested_value": 3000}
    filled = schema({"custom_ac_voltage": 220})
    assert (filled["ac_voltage"], filled["phases"], filled["power_per_phase"]) == ("custom", "split", "total")
    done = await hass.config_entries.options.async_configure(
        result["flow_id"], {**filled, "battery_min_voltage": 44}
    )
    assert done["type"] is FlowResultType.FORM  # the max voltage is missing now
    assert done["errors"] == {"battery": "invalid_battery"}


async def test_limits_that_fix_a_phase_at_zero_raise_an_issue_until_fixed(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    issue_id = f"zero_setpoints_{entry.entry_id}"
    await submit_writes(hass, entry, {**GOOD, "phases": "single"})
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "zero_setpoints"
    assert "no L2" in (issue.translation_placeholders or {})["setpoints"]
    await submit_writes(hass, entry, GOOD)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    await submit_writes(hass, entry, {**GOOD, "phases": "single"})
    assert await hass.config_entries.async_remove(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_a_single_phase_site_with_single_phase_limits_has_no_issue(hass: HomeAssistant) -> None:
    from victron_gx_modbus import Simulator  # noqa: PLC0415

    async with Simulator("single-phase-ess", latency_ms=0) as sim:
        entry = mock_entry(sim, await scan_of(sim))
        entry.add_to_hass(hass)
        single = Limits(ac_voltage=230, phases="single", ac_current=25, dc_current=100, battery="lifepo4_16s")
        hass.config_entries.async_update_entry(entry, options=write_options(single))
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert ir.async_get(hass).async_get_issue(DOMAIN, f"zero_setpoints_{entry.entry_id}") is None
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_stored_limits_the_core_refuses_stop_the_setup(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = mock_entry(simulator, await scan_of(simulator))
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={CONF_WRITES: True, CONF_LIMITS: {**LIMITS.as_dict(), "ac_current": 0}}
    )
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert state_of(entry) is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert "ac_current" in entry.reason
