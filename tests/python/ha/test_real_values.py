"""Values as real systems publish them (the `large` scenario): codes beyond the list, sentinels, overflow.

The simulator serves them as the GX does (round(value x scale), clamped to the
register's type); the integration shows a known code by its state, a sentinel
and a saturated counter as unknown, and keeps registers that overflow
disabled until the user enables them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNKNOWN
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from victron_gx_modbus import Limits

from custom_components.victron_gx_modbus.const import (
    CONF_LIMITS,
    CONF_WRITES,
    DOMAIN,
    device_identifier,
    entity_unique_id,
)

from .conftest import mock_entry, scan_of, setup_entry

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from victron_gx_modbus import Simulator

SERIAL = "c0619ab3f0e8"  # the GX of the large scenario
LYNX, SHUNT, QUATTRO, SETTINGS = (225, "battery"), (226, "battery"), (227, "vebus"), (100, "settings")
OVERFLOWING = [
    (*SHUNT, "history_charged_energy"),
    (*SHUNT, "history_discharged_energy"),
    (*SHUNT, "history_total_ah_drawn"),
    (*SHUNT, "dc_1_voltage"),
    (*SHUNT, "history_minimum_starter_voltage"),
    (*LYNX, "consumed_amphours"),
]
SHOWN = [
    *OVERFLOWING,
    (*QUATTRO, "dc_0_temperature"),
    (*QUATTRO, "ac_active_in_active_input"),
    (*LYNX, "diagnostics_last_errors_1_error"),
    (*SETTINGS, "settings_cgwacs_max_discharge_power"),
]
HUB4_MODE = (*SETTINGS, "settings_cgwacs_hub4_mode")
LIMITS = Limits(ac_voltage=230, phases="three", ac_current=25, dc_current=100, battery="lifepo4_16s")


def entity_id(hass: HomeAssistant, platform: str, unit: int, service: str, key: str) -> str:
    """The entity ID of a register of the large scenario's GX."""
    found = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, entity_unique_id(SERIAL, unit, service, key)
    )
    assert found is not None, (platform, unit, service, key)
    return found


def state(hass: HomeAssistant, platform: str, unit: int, service: str, key: str) -> str:
    """The state of a register's entity."""
    current = hass.states.get(entity_id(hass, platform, unit, service, key))
    assert current is not None, (unit, service, key)
    return current.state


async def enable_and_reload(hass: HomeAssistant, entry: MockConfigEntry, entity_ids: list[str]) -> None:
    """Enable entities as a user would, then reload the entry."""
    registry = er.async_get(hass)
    for each in entity_ids:
        registry.async_update_entity(each, disabled_by=None)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize("simulator", ["large"], indirect=True)
async def test_real_system_values_show_as_described(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_entry(hass, simulator)
    registry = er.async_get(hass)
    for register in OVERFLOWING:
        registered = registry.async_get(entity_id(hass, "sensor", *register))
        assert registered is not None
        assert registered.disabled_by is er.RegistryEntryDisabler.INTEGRATION, register
    await enable_and_reload(hass, entry, [entity_id(hass, "sensor", *register) for register in SHOWN])

    # Counters past what 16 bits hold: the GX saturates them; shown as unknown, not as 6553.4.
    assert state(hass, "sensor", *SHUNT, "history_charged_energy") == STATE_UNKNOWN
    assert state(hass, "sensor", *SHUNT, "history_discharged_energy") == STATE_UNKNOWN
    assert state(hass, "sensor", *SHUNT, "history_total_ah_drawn") == STATE_UNKNOWN
    # -0.01 V of noise and a positive consumed Ah clamp to 0 at the GX: a plausible reading, shown.
    assert float(state(hass, "sensor", *SHUNT, "dc_1_voltage")) == 0
    assert float(state(hass, "sensor", *SHUNT, "history_minimum_starter_voltage")) == 0
    assert float(state(hass, "sensor", *LYNX, "consumed_amphours")) == 0
    # Sentinels: no temperature sensor (-273 °C), no discharge limit (-1 W).
    assert state(hass, "sensor", *QUATTRO, "dc_0_temperature") == STATE_UNKNOWN
    assert state(hass, "sensor", *SETTINGS, "settings_cgwacs_max_discharge_power") == STATE_UNKNOWN
    # Codes the list lacks, named from Victron's own sources.
    assert state(hass, "sensor", *QUATTRO, "ac_active_in_active_input") == "ac_input_3"
    assert state(hass, "sensor", *LYNX, "diagnostics_last_errors_1_error") == "atc_atd_failure"
    # ESS mode 0: a read-only sensor while writes are off shows it by its state.
    assert state(hass, "sensor", *HUB4_MODE) == "unlisted_mode_0"
    # A 20-character name ("SmartShunt (starter)") in a 16-character register.
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    shunt = next(d for d in devices if (DOMAIN, device_identifier(SERIAL, *SHUNT)) in d.identifiers)
    assert shunt.name == "SmartShunt (star"

    data = entry.runtime_data.coordinator.data
    assert data.values["226/battery/history_charged_energy"] is None
    assert data.values["227/vebus/dc_0_temperature"] is None
    assert "226/battery/history_charged_energy" not in data.unavailable
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "ledger" in r.getMessage()]
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("simulator", ["large"], indirect=True)
async def test_a_select_shows_a_current_code_it_cannot_write_as_read_only(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = mock_entry(simulator, await scan_of(simulator))
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options={CONF_WRITES: True, CONF_LIMITS: LIMITS.as_dict()})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    select = entity_id(hass, "select", *HUB4_MODE)
    current = hass.states.get(select)
    assert current is not None
    assert current.state == "unlisted_mode_0"
    assert current.attributes["options"] == [
        "ess_with_phase_compensation",
        "ess_without_phase_compensation",
        "disabled_external_control",
        "unlisted_mode_0",
    ]
    writes = len(simulator.writes())
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(
            "select", "select_option", {ATTR_ENTITY_ID: select, "option": "unlisted_mode_0"}, blocking=True
        )
    assert refused.value.translation_key == "option_read_only"
    assert len(simulator.writes()) == writes, "nothing was sent to the GX"

    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: select, "option": "ess_with_phase_compensation"},
        blocking=True,
    )
    after = hass.states.get(select)
    assert after is not None
    assert after.state == "ess_with_phase_compensation"
    assert "unlisted_mode_0" not in after.attributes["options"]
    assert dict(simulator.writes()[-1])["key"] == "settings_cgwacs_hub4_mode"
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("simulator", ["old-firmware"], indirect=True)
async def test_a_wrapped_negative_voltage_is_unknown(hass: HomeAssistant, simulator: Simulator) -> None:
    """Firmware before v1.0.95 wraps -0.01 V to 0xFFFF and -0.02 V to 0xFFFE: neither shows as ~655 V."""
    entry = await setup_entry(hass, simulator)
    old_gx = "0c1c57a0b2c3"
    keys = ("dc_1_voltage", "history_minimum_starter_voltage")
    registry = er.async_get(hass)
    found = [
        registry.async_get_entity_id("sensor", DOMAIN, entity_unique_id(old_gx, 247, "battery", key))
        for key in keys
    ]
    entity_ids = [each for each in found if each is not None]
    assert len(entity_ids) == len(keys)
    await enable_and_reload(hass, entry, entity_ids)
    for each in entity_ids:
        current = hass.states.get(each)
        assert current is not None
        assert current.state == STATE_UNKNOWN, each
    values = entry.runtime_data.coordinator.data.values
    assert [values[f"247/battery/{key}"] for key in keys] == [None, None]
    assert await hass.config_entries.async_unload(entry.entry_id)
