"""Options: polling, the devices to include, writes and their limits; the menu shows the background sweep.

Changed options reload the entry (OptionsFlowWithReload). What changes the
entry's data (its address, MQTT settings, rescans) is the reconfigure flow's.
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload
from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .const import (
    CONF_EXCLUDED_DEVICES,
    CONF_LIMITS,
    CONF_SCAN,
    CONF_SLOW_EVERY,
    CONF_WRITES,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_SLOW_EVERY,
    MAX_SCAN_INTERVAL,
    MAX_SLOW_EVERY,
    MIN_SCAN_INTERVAL,
    MIN_SLOW_EVERY,
)
from .fields import bounded
from .labels import async_device_names, device_label, device_lines
from .limits_form import form_values, limits_errors, limits_schema
from .scan_steps import NOTHING, devices_by_key
from .sweep_status import SweepStatus

CONF_DEVICES = "devices"
SECTION_ADVANCED = "advanced"


class _SectionWithOwnErrors(section):
    """A section whose fields' errors are reported as the section's own.

    Home Assistant maps an error inside a section to untranslated text at the
    form's base; raised at the section, the error key is translated there.
    """

    def __call__(self, value: object) -> object:
        """Validate the section; an invalid field's message becomes the section's error."""
        try:
            return self.schema(value)
        except vol.Invalid as err:
            raise vol.Invalid(err.msg) from err


def _settings_schema(values: dict[str, Any], choices: list[SelectOptionDict]) -> vol.Schema:
    """The settings form, filled in with `values` (the stored options or the user's input)."""
    return vol.Schema(
        {
            vol.Required(CONF_SCAN_INTERVAL, default=values[CONF_SCAN_INTERVAL]): bounded(
                MIN_SCAN_INTERVAL, MAX_SCAN_INTERVAL, "interval_range", "s"
            ),
            vol.Required(CONF_DEVICES, default=values[CONF_DEVICES]): SelectSelector(
                SelectSelectorConfig(options=choices, multiple=True, mode=SelectSelectorMode.LIST)
            ),
            vol.Required(SECTION_ADVANCED): _SectionWithOwnErrors(
                vol.Schema(
                    {
                        vol.Required(
                            CONF_SLOW_EVERY, default=values[SECTION_ADVANCED][CONF_SLOW_EVERY]
                        ): bounded(MIN_SLOW_EVERY, MAX_SLOW_EVERY, "slow_every_range"),
                    }
                ),
                {"collapsed": True},
            ),
        }
    )


class VictronGxOptionsFlow(OptionsFlowWithReload):
    """Menu: settings (interval, devices, slow-tier factor) or writes (on/off and the limits)."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:  # noqa: ARG002
        """Choose what to change; the description shows the background sweep's status."""
        entry = self.config_entry
        loaded = getattr(entry, "runtime_data", None)
        status = loaded.sweep if loaded is not None else SweepStatus.stored(dict(entry.data))
        names = await async_device_names(self.hass)
        devices = devices_by_key(entry.data[CONF_SCAN])
        found = [device for key, device in devices.items() if key in status.found]
        return self.async_show_menu(
            step_id="init",
            menu_options=["settings", "writes"],
            description_placeholders={
                "sweep_percent": NOTHING if status.state == "off" else str(status.percent),
                "sweep_found": device_lines(found, names) or NOTHING,
            },
        )

    async def async_step_settings(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Poll interval, included devices and (in a section) the slow-tier factor."""
        found = devices_by_key(self.config_entry.data[CONF_SCAN])
        errors: dict[str, str] = {}
        if user_input is not None:
            included = set(user_input[CONF_DEVICES])
            if included:
                return self.async_create_entry(
                    data={
                        **self.config_entry.options,
                        CONF_SCAN_INTERVAL: int(user_input[CONF_SCAN_INTERVAL]),
                        CONF_SLOW_EVERY: int(user_input[SECTION_ADVANCED][CONF_SLOW_EVERY]),
                        CONF_EXCLUDED_DEVICES: [key for key in found if key not in included],
                    }
                )
            errors[CONF_DEVICES] = "no_devices"
        else:
            options = self.config_entry.options
            excluded = set(options.get(CONF_EXCLUDED_DEVICES, ()))
            user_input = {
                CONF_SCAN_INTERVAL: options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL),
                CONF_DEVICES: [key for key in found if key not in excluded],
                SECTION_ADVANCED: {CONF_SLOW_EVERY: options.get(CONF_SLOW_EVERY, DEFAULT_SLOW_EVERY)},
            }
        names = await async_device_names(self.hass)
        choices = [
            SelectOptionDict(value=key, label=device_label(device, names)) for key, device in found.items()
        ]
        return self.async_show_form(
            step_id="settings", data_schema=_settings_schema(user_input, choices), errors=errors
        )

    async def async_step_writes(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Writes on or off, and the electrical limits every write is held to (the core validates them)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            limits, errors = limits_errors(user_input)
            if limits is not None:
                return self.async_create_entry(
                    data={
                        **self.config_entry.options,
                        CONF_WRITES: bool(user_input[CONF_WRITES]),
                        CONF_LIMITS: limits,
                    }
                )
        values = user_input if user_input is not None else form_values(dict(self.config_entry.options))
        return self.async_show_form(step_id="writes", data_schema=limits_schema(values), errors=errors)
