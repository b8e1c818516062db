"""Writes from Home Assistant: controls with the core's bounds, written to the simulator and read back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from homeassistant.components.number import DATA_COMPONENT as NUMBER_COMPONENT
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from victron_gx_modbus import DeviceException, GXConnectionError, Limits, WriteNotConfirmed

from custom_components.victron_gx_modbus.const import CONF_LIMITS, CONF_WRITES, DOMAIN
from custom_components.victron_gx_modbus.write_errors import write_error

from .conftest import mock_entry, refresh_until, scan_of

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from victron_gx_modbus import Simulator

SERIAL = "c0619ab2a7d1"  # the GX of the three-phase scenario
LIMITS = Limits(ac_voltage=230, phases="three", ac_current=25, dc_current=100, battery="lifepo4_16s")

GRID_SETPOINT = ("number", 100, "settings", "settings_cgwacs_ac_power_set_point")
L1_SETPOINT = ("number", 227, "vebus", "hub4_l1_ac_power_setpoint")
L3_SETPOINT = ("number", 227, "vebus", "hub4_l3_ac_power_setpoint")
INPUT_CURRENT = ("number", 227, "vebus", "ac_active_in_current_limit")
CHARGE_VOLTAGE = ("number", 100, "settings", "settings_system_setup_max_charge_voltage")
CHARGE_CURRENT = ("number", 100, "settings", "settings_system_setup_max_charge_current")
INVERTER_MODE = ("select", 227, "vebus", "mode")
RELAY = ("switch", 100, "system", "relay_0_state")
NAME = ("text", 227, "vebus", "custom_name")
RESET = ("button", 227, "vebus", "system_reset")
CONTROLS = (
    GRID_SETPOINT,
    L1_SETPOINT,
    L3_SETPOINT,
    INPUT_CURRENT,
    CHARGE_VOLTAGE,
    CHARGE_CURRENT,
    INVERTER_MODE,
    RELAY,
    NAME,
    RESET,
)
NUMBERS = (GRID_SETPOINT, L1_SETPOINT, L3_SETPOINT, INPUT_CURRENT, CHARGE_VOLTAGE, CHARGE_CURRENT)

type Control = tuple[str, int, str, str]


def write_options(limits: Limits = LIMITS, *, writes: bool = True) -> dict[str, Any]:
    """Entry options with writes on (or off) within `limits`."""
    return {CONF_WRITES: writes, CONF_LIMITS: limits.as_dict()}


def entity_id_of(hass: HomeAssistant, control: Control) -> str:
    """The entity ID of a control (its registry entry must exist)."""
    platform, unit, service, key = control
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{SERIAL}_{unit}_{service}_{key}")
    assert entity_id is not None, control
    return entity_id


async def setup_with_writes(
    hass: HomeAssistant, sim: Simulator, options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """Set up the three-phase GX with writes on and the tested controls enabled."""
    entry = mock_entry(sim, await scan_of(sim))
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options=options or write_options())
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    for control in CONTROLS:
        registry.async_update_entity(entity_id_of(hass, control), disabled_by=None)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def set_value(hass: HomeAssistant, control: Control, value: float | str) -> None:
    """Set a control from Home Assistant as a user would."""
    platform = control[0]
    entity_id = entity_id_of(hass, control)
    service, data = {
        "number": ("set_value", {"value": value}),
        "text": ("set_value", {"value": value}),
        "select": ("select_option", {"option": value}),
        "switch": ("turn_on" if value else "turn_off", {}),
        "button": ("press", {}),
    }[platform]
    await hass.services.async_call(platform, service, {ATTR_ENTITY_ID: entity_id, **data}, blocking=True)


def last_write(sim: Simulator) -> dict[str, Any]:
    """The simulator's last accepted write."""
    writes = sim.writes()
    assert writes
    return dict(writes[-1])


@pytest.mark.parametrize(
    ("control", "value", "state", "logged"),
    [
        (GRID_SETPOINT, -3000, "-3000", -3000),
        (L1_SETPOINT, -2500, "-2500", -2500),
        (INPUT_CURRENT, 12.5, "12.5", 12.5),
        (CHARGE_VOLTAGE, 55.2, "55.2", 55.2),
        (CHARGE_CURRENT, 40, "40", 40),
        (INVERTER_MODE, "inverter_only", "inverter_only", 2),
        (RELAY, 1, "on", 1),
        (RELAY, 0, "off", 0),
        (NAME, "Boat", "Boat", None),
    ],
)
async def test_a_control_is_written_and_shows_the_value_read_back(
    hass: HomeAssistant,
    simulator: Simulator,
    control: Control,
    value: float | str,
    state: str,
    logged: float | None,
) -> None:
    await setup_with_writes(hass, simulator)
    entity_id = entity_id_of(hass, control)
    entity = er.async_get(hass).async_get(entity_id)
    assert entity is not None
    assert entity.entity_category == "config"
    await set_value(hass, control, value)
    current = hass.states.get(entity_id)
    assert current is not None
    assert float(current.state) == float(state) if control[0] == "number" else current.state == state
    written = last_write(simulator)
    assert (written["unit"], written["key"]) == (control[1], control[3])
    if logged is None:
        assert written["text"] == value
    else:
        assert written["value"] == pytest.approx(logged)


async def test_a_32_bit_negative_setpoint_is_one_write_of_two_words(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup_with_writes(hass, simulator)
    await set_value(hass, L1_SETPOINT, -35000 / 10)
    written = last_write(simulator)
    assert written["address"] == 96
    assert written["words"] == [0xFFFF, (-3500) & 0xFFFF]


async def test_a_button_writes_its_action_code(hass: HomeAssistant, simulator: Simulator) -> None:
    await setup_with_writes(hass, simulator)
    await set_value(hass, RESET, 1)
    assert last_write(simulator)["key"] == "system_reset"
    assert last_write(simulator)["value"] == 1


@pytest.mark.parametrize("control", NUMBERS)
async def test_numbers_take_the_core_bounds_and_accept_both_ends(
    hass: HomeAssistant, simulator: Simulator, control: Control
) -> None:
    entry = await setup_with_writes(hass, simulator)
    _platform, unit, service, key = control
    minimum, maximum, step = entry.runtime_data.client.write_range(unit, service, key)
    state = hass.states.get(entity_id_of(hass, control))
    assert state is not None
    assert (state.attributes["min"], state.attributes["max"], state.attributes["step"]) == (
        minimum,
        maximum,
        step,
    )
    for value in (minimum, maximum):
        await set_value(hass, control, value)
        assert last_write(simulator)["value"] == pytest.approx(value)
    count = len(simulator.writes())
    for value in (minimum - step, maximum + step):
        with pytest.raises(ServiceValidationError):
            await set_value(hass, control, value)
    assert len(simulator.writes()) == count


async def test_a_refused_write_names_the_register_and_its_bounds(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    await setup_with_writes(hass, simulator)
    entity_id = entity_id_of(hass, GRID_SETPOINT)
    number = hass.data[NUMBER_COMPONENT].get_entity(entity_id)
    assert number is not None
    with pytest.raises(ServiceValidationError) as caught:
        await number.async_set_native_value(17251)
    assert caught.value.translation_key == "write_refused"
    placeholders = caught.value.translation_placeholders or {}
    assert placeholders["register"] == "100/settings/settings_cgwacs_ac_power_set_point"
    assert (placeholders["value"], placeholders["min"], placeholders["max"]) == ("17251", "-17250", "17250")
    assert "17250" in str(caught.value)
    assert not simulator.writes()


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (WriteNotConfirmed("differs", "227/vebus/mode", "2", "3"), "write_not_confirmed"),
        (DeviceException(2, "illegal address"), "write_exception"),
        (GXConnectionError("closed"), "write_failed"),
    ],
)
def test_failed_writes_are_translated(error: Exception, key: str) -> None:
    translated = write_error(error, "number.x", 1)  # type: ignore[arg-type]
    assert isinstance(translated, HomeAssistantError)
    assert translated.translation_key == key


async def test_the_read_back_value_stays_until_a_poll_reads_the_register_again(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_with_writes(hass, simulator)
    entity_id = entity_id_of(hass, GRID_SETPOINT)
    await set_value(hass, GRID_SETPOINT, -1234)
    coordinator = entry.runtime_data.coordinator
    register = "100/settings/settings_cgwacs_ac_power_set_point"
    await refresh_until(coordinator, lambda: coordinator.data.values.get(register) == -1234)
    state = hass.states.get(entity_id)
    assert state is not None
    assert float(state.state) == -1234
