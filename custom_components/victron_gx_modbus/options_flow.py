"""Options: polling, devices, writes and their limits, MQTT discovery, a rescan that shows what changed.

Changed options reload the entry (OptionsFlowWithReload); an applied rescan
and changed MQTT settings are stored in the entry's data and reload it too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_SCAN_INTERVAL
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from victron_gx_modbus.mqtt import MQTT_PORT

from .connection import Discovered, async_discover, async_mqtt_check, scan_outcome
from .const import (
    CONF_EXCLUDED_DEVICES,
    CONF_LIMITS,
    CONF_MQTT,
    CONF_SCAN,
    CONF_SLOW_EVERY,
    CONF_SWEEP,
    CONF_UNIT_IDS,
    CONF_WRITES,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_SLOW_EVERY,
    MAX_SCAN_INTERVAL,
    MAX_SLOW_EVERY,
    MIN_SCAN_INTERVAL,
    MIN_SLOW_EVERY,
    device_key,
)
from .labels import async_device_names, async_discovery_line, device_label, device_lines
from .limits_form import form_values, limits_errors, limits_schema
from .mqtt_settings import CONF_ENABLED, CONF_MQTT_PASSWORD, CONF_MQTT_PORT, MqttSettings, mqtt_in_use
from .sweep_status import SweepStatus
from .unit_list import parse_unit_ids, unit_ids_field, unit_ids_text

if TYPE_CHECKING:
    import asyncio

    from victron_gx_modbus import FoundDevice, ScanResult

CONF_DEVICES = "devices"
CONF_MODE = "mode"
CONF_FORGET_PASSWORD = "forget_password"  # noqa: S105 - a field's key, not a password
SECTION_ADVANCED = "advanced"
SCAN_MODES = ["quick", "deep"]
MQTT_MODE = "mqtt"
"""The rescan choice that reads the GX's exact list over its MQTT (entries with MQTT on)."""
NOTHING = "—"
"""A placeholder's text for an empty list."""


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


def _bounded(minimum: int, maximum: int, error: str, unit: str | None = None) -> vol.All:
    """A whole number from `minimum` to `maximum`; outside it, the translated `error`."""
    config = NumberSelectorConfig(min=minimum, max=maximum, step=1, mode=NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    return vol.All(vol.Range(min=minimum, max=maximum, msg=error), NumberSelector(config))


def _devices(scan: ScanResult) -> dict[str, FoundDevice]:
    """The scan's devices by their key in the options."""
    return {device_key(found["unit"], found["service"]): found for found in scan["devices"]}


def _settings_schema(values: dict[str, Any], choices: list[SelectOptionDict]) -> vol.Schema:
    """The settings form, filled in with `values` (the stored options or the user's input)."""
    return vol.Schema(
        {
            vol.Required(CONF_SCAN_INTERVAL, default=values[CONF_SCAN_INTERVAL]): _bounded(
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
                        ): _bounded(MIN_SLOW_EVERY, MAX_SLOW_EVERY, "slow_every_range"),
                    }
                ),
                {"collapsed": True},
            ),
        }
    )


def _password_to_store(user_input: dict[str, Any], stored: str | None) -> str | None:
    """The MQTT password to store: the typed one, else none when forgotten, else the stored one."""
    typed = user_input.get(CONF_MQTT_PASSWORD)
    if typed:
        return str(typed)
    return None if user_input.get(CONF_FORGET_PASSWORD) else stored


class VictronGxOptionsFlow(OptionsFlowWithReload):
    """Menu: settings (interval, devices, slow-tier factor) or rescan (quick/deep, then apply)."""

    def __init__(self) -> None:
        """Start without a rescan."""
        self._mode = "quick"
        self._scan_task: asyncio.Task[Discovered] | None = None
        self._found: Discovered | None = None
        self._scan_error = ""
        self._unit_ids: list[int] | None = None

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:  # noqa: ARG002
        """Choose what to change; the description shows the background sweep's status."""
        entry = self.config_entry
        loaded = getattr(entry, "runtime_data", None)
        status = loaded.sweep if loaded is not None else SweepStatus.stored(dict(entry.data))
        names = await async_device_names(self.hass)
        found = [
            device
            for device in _devices(entry.data[CONF_SCAN]).values()
            if device_key(device["unit"], device["service"]) in status.found
        ]
        return self.async_show_menu(
            step_id="init",
            menu_options=["settings", "writes", "mqtt", "rescan"],
            description_placeholders={
                "sweep_percent": NOTHING if status.state == "off" else str(status.percent),
                "sweep_found": device_lines(found, names) or NOTHING,
            },
        )

    async def async_step_settings(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Poll interval, included devices and (in a section) the slow-tier factor."""
        found = _devices(self.config_entry.data[CONF_SCAN])
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

    async def async_step_mqtt(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """MQTT discovery on or off, its port and the GX's password; checked with what will be stored.

        An empty password keeps the stored one; with one stored, the form
        also offers to forget it (a GX whose security profile no longer asks).
        """
        entry = self.config_entry
        current = MqttSettings.stored(entry.data) or MqttSettings(enabled=False, port=MQTT_PORT)
        errors: dict[str, str] = {}
        if user_input is not None:
            settings = replace(
                current,
                enabled=bool(user_input[CONF_ENABLED]),
                port=int(user_input[CONF_MQTT_PORT]),
                password=_password_to_store(user_input, current.password),
            )
            if settings.enabled:
                check = await async_mqtt_check(entry.data[CONF_HOST], entry.data[CONF_PORT], settings)
                error = check.get("error")
                if error is None:
                    settings = settings.with_portal_id(check.get("portal_id"))
                else:
                    errors["base"] = "invalid_mqtt_password" if error == "credentials" else "mqtt_unavailable"
            if not errors:
                self.hass.config_entries.async_update_entry(
                    entry, data={**entry.data, CONF_MQTT: settings.as_data()}
                )
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
                return self.async_create_entry(data=dict(entry.options))
        values = user_input or {CONF_ENABLED: current.enabled, CONF_MQTT_PORT: current.port}
        fields: dict[vol.Marker, Any] = {
            vol.Required(CONF_ENABLED, default=values[CONF_ENABLED]): BooleanSelector(),
            vol.Required(CONF_MQTT_PORT, default=values[CONF_MQTT_PORT]): _bounded(1, 65535, "port_range"),
            vol.Optional(CONF_MQTT_PASSWORD): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
            ),
        }
        if current.password is not None:
            fields[vol.Optional(CONF_FORGET_PASSWORD, default=False)] = BooleanSelector()
        return self.async_show_form(step_id="mqtt", data_schema=vol.Schema(fields), errors=errors)

    async def async_step_rescan(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the GX's list over MQTT (when on), a quick or deep scan, or list the unit IDs."""
        errors: dict[str, str] = {}
        with_mqtt = mqtt_in_use(self.config_entry.data)
        if user_input is not None:
            self._mode = str(user_input[CONF_MODE])
            try:
                self._unit_ids = parse_unit_ids(user_input.get(CONF_UNIT_IDS, ""))
            except ValueError:
                errors[CONF_UNIT_IDS] = "invalid_unit_ids"
            else:
                return await self.async_step_rescan_progress()
        current = {CONF_UNIT_IDS: unit_ids_text(self.config_entry.data.get(CONF_UNIT_IDS))}
        schema = vol.Schema(
            {
                vol.Required(CONF_MODE, default=MQTT_MODE if with_mqtt else "quick"): SelectSelector(
                    SelectSelectorConfig(
                        options=[MQTT_MODE, *SCAN_MODES] if with_mqtt else SCAN_MODES,
                        translation_key="scan_mode",
                        mode=SelectSelectorMode.LIST,
                    )
                )
            }
        ).extend(unit_ids_field(user_input or current))
        return self.async_show_form(step_id="rescan", data_schema=schema, errors=errors)

    async def async_step_rescan_progress(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:  # noqa: ARG002
        """Find the devices in the core (MQTT's list, or a scan) while the user sees the progress."""
        data = self.config_entry.data
        host, port = data[CONF_HOST], data[CONF_PORT]
        if self._scan_task is None:
            mqtt = MqttSettings.stored(data) if self._mode == MQTT_MODE else None
            self._scan_task = self.hass.async_create_task(
                async_discover(
                    host,
                    port,
                    mode="deep" if self._mode == "deep" else "quick",
                    progress=self.async_update_progress,
                    unit_ids=self._unit_ids,
                    mqtt=mqtt,
                )
            )
        if not self._scan_task.done():
            return self.async_show_progress(
                step_id="rescan_progress",
                progress_action="rescan",
                progress_task=self._scan_task,
                description_placeholders={"host": host},
            )
        self._found, self._scan_error = scan_outcome(self._scan_task, f"{host}:{port}")
        next_step = "rescan_summary" if self._found else "rescan_failed"
        return self.async_show_progress_done(next_step_id=next_step)

    async def async_step_rescan_failed(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:  # noqa: ARG002
        """The scan failed: the stored scan stays."""
        return self.async_abort(reason="scan_failed", description_placeholders={"error": self._scan_error})

    async def async_step_rescan_summary(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show which devices the rescan added and removed, and how; applying stores it and reloads."""
        found = self._found
        if found is None or found.scan is None:  # pragma: no cover - the progress step always comes first
            return self.async_abort(reason="scan_failed", description_placeholders={"error": "no scan"})
        scan = found.scan
        entry = self.config_entry
        if scan["gx"]["serial"] != entry.unique_id:
            return self.async_abort(reason="wrong_device")
        if user_input is not None:
            data = {key: value for key, value in entry.data.items() if key not in (CONF_SWEEP, CONF_UNIT_IDS)}
            if self._unit_ids:  # exactly these units: no background sweep
                data[CONF_UNIT_IDS] = self._unit_ids
            elif self._mode == "deep":  # nothing is left for a background sweep
                data[CONF_SWEEP] = {"found": [], "requests": 0, "failed_requests": 0}
            if self._mode == MQTT_MODE and (asked := MqttSettings.stored(data)) is not None:
                data[CONF_MQTT] = found.mqtt_settings(asked).as_data()
            self.hass.config_entries.async_update_entry(entry, data={**data, CONF_SCAN: scan})
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
            return self.async_create_entry(data=dict(entry.options))
        old, new = _devices(entry.data[CONF_SCAN]), _devices(scan)
        names = await async_device_names(self.hass)
        added = [found for key, found in new.items() if key not in old]
        removed = [found for key, found in old.items() if key not in new]
        return self.async_show_form(
            step_id="rescan_summary",
            description_placeholders={
                "devices": str(len(new)),
                "registers": str(sum(found["registers"] for found in new.values())),
                "added": device_lines(added, names) or NOTHING,
                "removed": device_lines(removed, names) or NOTHING,
                "discovery": await async_discovery_line(self.hass, found.method, found.reason),
            },
        )
