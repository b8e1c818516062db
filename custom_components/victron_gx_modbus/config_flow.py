"""Config flow: find the GX (by address or SSDP), find its devices with progress, summarise, create the entry.

Devices are found over the GX's MQTT when it answers (asking for the GX's
password when it wants one), else by the quick Modbus scan.

A reconfigure moves the entry to a new address of the same GX; the options
flow lives in options_flow.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import voluptuous as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.ssdp import (
    ATTR_UPNP_FRIENDLY_NAME,
    ATTR_UPNP_MODEL_NAME,
    ATTR_UPNP_SERIAL,
)

from victron_gx_modbus.mqtt import MQTT_PORT

from .connection import Discovered, async_discover, async_test_connection, scan_outcome
from .const import CONF_MODEL, CONF_MQTT, CONF_SCAN, CONF_UNIT_IDS, DEFAULT_MODEL, DEFAULT_PORT, DOMAIN
from .labels import async_device_names, async_discovery_line, device_lines
from .mqtt_settings import CONF_MQTT_PASSWORD, MqttSettings
from .options_flow import VictronGxOptionsFlow
from .unit_list import parse_unit_ids, unit_ids_field

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Mapping

    from homeassistant.config_entries import ConfigEntry
    from homeassistant.helpers.service_info.ssdp import SsdpServiceInfo

    from victron_gx_modbus import ScanResult

UPNP_PORTAL_ID = "X_VrmPortalId"
UPNP_MQTT_ON_LAN = "X_MqttOnLan"


def _address_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    """Host and port of the GX, filled in from `defaults`."""
    return vol.Schema(
        {
            vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, "")): TextSelector(),
            vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)): NumberSelector(
                NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
            ),
        }
    )


def _address(user_input: Mapping[str, Any]) -> tuple[str, int]:
    """Host and port as the form sends them (the port as a float)."""
    return user_input[CONF_HOST].strip(), int(user_input[CONF_PORT])


class VictronGxConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a GX device: user (or SSDP confirm) -> scan (progress) -> summary -> entry."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start empty."""
        self._host = ""
        self._port = DEFAULT_PORT
        self._name = ""
        self._model: str | None = None
        self._scan_task: asyncio.Task[Discovered] | None = None
        self._found: Discovered | None = None
        self._scan_error = ""
        self._unit_ids: list[int] | None = None
        self._mqtt = MqttSettings(port=MQTT_PORT)
        self._mqtt_reason: str | None = None
        """Why MQTT is not tried (`off`: SSDP says so; `skipped`: the user skipped the password)."""

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> VictronGxOptionsFlow:  # noqa: ARG004
        """Polling, devices and rescans of an entry."""
        return VictronGxOptionsFlow()

    async def _async_connect(self, host: str, port: int) -> dict[str, str]:
        """Test the connection and claim the GX's serial; {} or the form's errors.

        A GX already configured aborts; at a new address its entry is updated.
        """
        serial, errors = await async_test_connection(host, port)
        if errors:
            return errors
        await self.async_set_unique_id(serial, raise_on_progress=False)
        self._abort_if_unique_id_configured(updates={CONF_HOST: host, CONF_PORT: port})
        self._host, self._port = host, port
        return {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the address of the GX (and optionally its unit IDs) and test it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                self._unit_ids = parse_unit_ids(user_input.get(CONF_UNIT_IDS, ""))
            except ValueError:
                errors[CONF_UNIT_IDS] = "invalid_unit_ids"
            else:
                errors = await self._async_connect(*_address(user_input))
            if not errors:
                return await self.async_step_scan()
        schema = _address_schema(user_input or {}).extend(unit_ids_field(user_input or {}))
        return self.async_show_form(step_id="user", data_schema=schema, errors=errors)

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Move the entry to a new address; the GX there must be the entry's GX."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            host, port = _address(user_input)
            serial, errors = await async_test_connection(host, port)
            if not errors:
                await self.async_set_unique_id(serial, raise_on_progress=False)
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_HOST: host, CONF_PORT: port}
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_address_schema(user_input or entry.data),
            description_placeholders={"title": entry.title},
            errors=errors,
        )

    async def async_step_ssdp(self, discovery_info: SsdpServiceInfo) -> ConfigFlowResult:
        """A GX announced itself: claim its serial, then ask the user to confirm."""
        host = urlparse(discovery_info.ssdp_location or "").hostname
        if not host:
            return self.async_abort(reason="no_host")
        upnp = discovery_info.upnp
        serial = upnp.get(UPNP_PORTAL_ID) or upnp.get(ATTR_UPNP_SERIAL)
        if serial:
            await self.async_set_unique_id(str(serial))
            self._abort_if_unique_id_configured(updates={CONF_HOST: host})
        self._host = host
        portal_id = str(upnp.get(UPNP_PORTAL_ID) or "") or None  # given: the MQTT check need not learn it
        on_lan = upnp.get(UPNP_MQTT_ON_LAN)
        self._mqtt = MqttSettings(enabled=on_lan != "0", port=MQTT_PORT, portal_id=portal_id)
        if on_lan == "0":  # MQTT on LAN is off: the quick scan at once
            self._mqtt_reason = "off"
        self._model = upnp.get(ATTR_UPNP_MODEL_NAME)
        self._name = str(upnp.get(ATTR_UPNP_FRIENDLY_NAME) or self._model or DEFAULT_MODEL)
        self.context["title_placeholders"] = {"name": self._name, "host": host}
        return await self.async_step_ssdp_confirm()

    async def async_step_ssdp_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm a discovered GX (this integration reads it over Modbus TCP), then scan it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_connect(self._host, self._port)
            if not errors:
                return await self.async_step_scan()
        return self.async_show_form(
            step_id="ssdp_confirm",
            description_placeholders={
                "name": self._name,
                "model": self._model or DEFAULT_MODEL,
                "host": self._host,
            },
            errors=errors,
        )

    async def async_step_scan(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:  # noqa: ARG002
        """Find the devices in the core (over MQTT when it answers, else quickly), showing progress."""
        if self._scan_task is None:
            self._scan_task = self.hass.async_create_task(
                async_discover(
                    self._host,
                    self._port,
                    mode="quick",
                    progress=self.async_update_progress,
                    unit_ids=self._unit_ids,
                    mqtt=self._mqtt,
                    ask_password=True,
                )
            )
        if not self._scan_task.done():
            return self.async_show_progress(
                step_id="scan",
                progress_action="scan",
                progress_task=self._scan_task,
                description_placeholders={"host": self._host},
            )
        self._found, self._scan_error = scan_outcome(self._scan_task, f"{self._host}:{self._port}")
        self._scan_task = None
        if self._found is not None and self._found.needs_password:
            return self.async_show_progress_done(next_step_id="mqtt_password")
        return self.async_show_progress_done(next_step_id="summary" if self._found else "scan_failed")

    async def async_step_mqtt_password(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The GX's MQTT asks for the GX's password: take it (scan over MQTT) or skip to the Modbus scan."""
        if user_input is not None:
            password = str(user_input.get(CONF_MQTT_PASSWORD) or "")
            if password:
                self._mqtt = replace(self._mqtt, password=password)
            else:
                self._mqtt, self._mqtt_reason = replace(self._mqtt, enabled=False, password=None), "skipped"
            return await self.async_step_scan()
        tried = self._mqtt.password is not None
        return self.async_show_form(
            step_id="mqtt_password",
            data_schema=vol.Schema(
                {
                    vol.Optional(CONF_MQTT_PASSWORD): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
                    )
                }
            ),
            description_placeholders={"host": self._host},
            errors={"base": "invalid_mqtt_password"} if tried else {},
        )

    async def async_step_scan_failed(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:  # noqa: ARG002
        """The scan failed: nothing is created."""
        return self.async_abort(reason="scan_failed", description_placeholders={"error": self._scan_error})

    async def async_step_summary(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show what was found and how; creating the entry stores the scan and the MQTT settings."""
        found = self._found
        if found is None or found.scan is None:  # pragma: no cover - the scan step always comes first
            return self.async_abort(reason="scan_failed", description_placeholders={"error": "no scan"})
        scan = found.scan
        title = _title(scan)
        if user_input is not None:
            data: dict[str, Any] = {
                CONF_HOST: self._host,
                CONF_PORT: self._port,
                CONF_SCAN: scan,
                CONF_MQTT: found.mqtt_settings(self._mqtt).as_data(),
            }
            if self._model:
                data[CONF_MODEL] = self._model
            if self._unit_ids:
                data[CONF_UNIT_IDS] = self._unit_ids
            return self.async_create_entry(title=title, data=data)
        names = await async_device_names(self.hass)
        reason = found.reason or self._mqtt_reason
        return self.async_show_form(
            step_id="summary",
            description_placeholders={
                "serial": str(scan["gx"]["serial"]),
                "firmware": scan["gx"]["firmware"] or "?",
                "devices": str(len(scan["devices"])),
                "registers": str(sum(device["registers"] for device in scan["devices"])),
                "device_list": device_lines(scan["devices"], names),
                "discovery": await async_discovery_line(self.hass, found.method, reason),
            },
        )


def _title(scan: ScanResult) -> str:
    """The entry title: the GX's system name when set, else its serial."""
    for found in scan["devices"]:
        if found["service"] == "settings" and found["name"]:
            return found["name"]
    return f"Victron GX {scan['gx']['serial']}"
