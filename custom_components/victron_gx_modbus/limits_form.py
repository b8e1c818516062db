"""The options' "Writes" form: the user's electrical limits in plain words, validated by the core."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from victron_gx_modbus import Limits, LimitsError

from .const import CONF_LIMITS, CONF_WRITES

AC_VOLTAGES = ["120", "208", "230", "240"]
CUSTOM = "custom"
CONF_AC_VOLTAGE = "ac_voltage"
CONF_CUSTOM_AC_VOLTAGE = "custom_ac_voltage"
CONF_POWER_PER_PHASE = "power_per_phase"
PHASES = ["single", "split", "three"]
POWER_SCOPES = ["per_phase", "total"]
BATTERIES = [
    "lifepo4_4s",
    "lifepo4_8s",
    "lifepo4_16s",
    "lead_acid_12v",
    "lead_acid_24v",
    "lead_acid_48v",
    CUSTOM,
]
LIMIT_OPTIONS = frozenset(
    {
        "ac_voltage",
        "phases",
        "ac_current",
        "dc_current",
        "battery",
        "battery_min_voltage",
        "battery_max_voltage",
        "power_limit",
    }
)
"""Options the core's `LimitsError` names; each has its own translated error."""

DEFAULTS: dict[str, Any] = {
    CONF_WRITES: False,
    CONF_AC_VOLTAGE: "230",
    "phases": "single",
    "ac_current": 16.0,
    CONF_POWER_PER_PHASE: "per_phase",
    "dc_current": 100.0,
    "battery": "lifepo4_16s",
}


def _number(unit: str, step: float = 1) -> NumberSelector:
    """A number box in `unit` (the core checks its range)."""
    return NumberSelector(
        NumberSelectorConfig(min=0, step=step, mode=NumberSelectorMode.BOX, unit_of_measurement=unit)
    )


def _choice(options: list[str], key: str) -> SelectSelector:
    """A translated drop-down."""
    return SelectSelector(
        SelectSelectorConfig(options=options, translation_key=key, mode=SelectSelectorMode.DROPDOWN)
    )


def _optional(name: str, values: dict[str, Any]) -> vol.Optional:
    """An optional field, filled in when `values` has it."""
    value = values.get(name)
    return vol.Optional(name) if value is None else vol.Optional(name, description={"suggested_value": value})


def limits_schema(values: dict[str, Any]) -> vol.Schema:
    """The writes form, filled in with `values` (form fields)."""
    return vol.Schema(
        {
            vol.Required(CONF_WRITES, default=values[CONF_WRITES]): BooleanSelector(),
            vol.Required(CONF_AC_VOLTAGE, default=values[CONF_AC_VOLTAGE]): _choice(
                [*AC_VOLTAGES, CUSTOM], CONF_AC_VOLTAGE
            ),
            _optional(CONF_CUSTOM_AC_VOLTAGE, values): _number("V"),
            vol.Required("phases", default=values["phases"]): _choice(PHASES, "phases"),
            vol.Required("ac_current", default=values["ac_current"]): _number("A", 0.1),
            _optional("power_limit", values): _number("W"),
            vol.Required(CONF_POWER_PER_PHASE, default=values[CONF_POWER_PER_PHASE]): _choice(
                POWER_SCOPES, CONF_POWER_PER_PHASE
            ),
            vol.Required("dc_current", default=values["dc_current"]): _number("A", 0.1),
            vol.Required("battery", default=values["battery"]): _choice(BATTERIES, "battery"),
            _optional("battery_min_voltage", values): _number("V", 0.1),
            _optional("battery_max_voltage", values): _number("V", 0.1),
        }
    )


def form_values(options: dict[str, Any]) -> dict[str, Any]:
    """The form's fields from the stored options (defaults when there are no limits yet)."""
    stored = options.get(CONF_LIMITS)
    if stored is None:
        return dict(DEFAULTS)
    voltage = f"{stored['ac_voltage']:g}"
    custom = voltage not in AC_VOLTAGES
    return {
        **{key: stored[key] for key in ("phases", "ac_current", "dc_current", "battery", "power_limit")},
        **{key: stored[key] for key in ("battery_min_voltage", "battery_max_voltage")},
        CONF_WRITES: bool(options.get(CONF_WRITES, False)),
        CONF_AC_VOLTAGE: CUSTOM if custom else voltage,
        CONF_CUSTOM_AC_VOLTAGE: stored["ac_voltage"] if custom else None,
        CONF_POWER_PER_PHASE: "per_phase" if stored["power_per_phase"] else "total",
    }


def limits_of(user_input: dict[str, Any]) -> Limits:
    """The core's limits from the form; `LimitsError` names the option the core refuses."""
    voltage = user_input[CONF_AC_VOLTAGE]
    return Limits(
        ac_voltage=float(user_input.get(CONF_CUSTOM_AC_VOLTAGE, 0) if voltage == CUSTOM else voltage),
        phases=user_input["phases"],
        ac_current=float(user_input["ac_current"]),
        dc_current=float(user_input["dc_current"]),
        battery=user_input["battery"],
        battery_min_voltage=user_input.get("battery_min_voltage"),
        battery_max_voltage=user_input.get("battery_max_voltage"),
        power_limit=user_input.get("power_limit"),
        power_per_phase=user_input[CONF_POWER_PER_PHASE] == "per_phase",
    )


def limits_errors(user_input: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """(the limits as stored options, no errors) or (None, field -> translated error key)."""
    try:
        limits = limits_of(user_input)
    except LimitsError as err:
        option = err.option if err.option in LIMIT_OPTIONS else "base"
        field = option
        if option == CONF_AC_VOLTAGE and user_input[CONF_AC_VOLTAGE] == CUSTOM:
            field = CONF_CUSTOM_AC_VOLTAGE
        return None, {field: f"invalid_{option}" if option != "base" else "invalid_limits"}
    return limits.as_dict(), {}
