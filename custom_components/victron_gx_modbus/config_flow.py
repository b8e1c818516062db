"""Config flow: add a GX (by address or SSDP) and find its devices; reconfigure how the entry reaches it.

Devices are found over the GX's MQTT when it answers (asking for the GX's
password when it wants one), else by the quick Modbus scan; the scan's
steps (progress, password, summary) are shared with the rescan, in
scan_steps.py. Reconfigure owns every change to the entry's data: its
address, its MQTT settings and rescans. The options flow is in
options_flow.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import voluptuous as vol
from homeassistant.config_entries import SOURCE_RECONFIGURE
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.helpers.service_info.ssdp import (
    ATTR_UPNP_FRIENDLY_NAME,
    ATTR_UPNP_MODEL_NAME,
    ATTR_UPNP_SERIAL,
)

from victron_gx_modbus.mqtt import MQTT_PORT, MQTT_TLS_PORT

from .connection import async_mqtt_check, async_test_connection
from .const import CONF_MQTT, DEFAULT_MODEL, DEFAULT_PORT, DOMAIN
from .fields import port_field, unit_ids_field, unit_ids_of
from .mqtt_settings import MqttSettings, mqtt_in_use
from .options_flow import VictronGxOptionsFlow
from .scan_steps import ScanFlow

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.config_entries import ConfigEntry, ConfigFlowResult
    from homeassistant.helpers.service_info.ssdp import SsdpServiceInfo

UPNP_PORTAL_ID = "X_VrmPortalId"
UPNP_MQTT_ON_LAN = "X_MqttOnLan"
CONF_MODE = "mode"
SCAN_MODES = ["quick", "deep"]
MQTT_MODE = "mqtt"
"""The rescan choice that reads the GX's exact list over its MQTT (entries with MQTT on)."""


def _address_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    """Host and port of the GX, filled in from `defaults`."""
    return vol.Schema(
        {
            vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, "")): TextSelector(),
            vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)): port_field(),
        }
    )


def _address(user_input: Mapping[str, Any]) -> tuple[str, int]:
    """Host and port as the form sends them (the port as a float)."""
    return user_input[CONF_HOST].strip(), int(user_input[CONF_PORT])


class VictronGxConfigFlow(ScanFlow, domain=DOMAIN):
    """Add a GX: user (or SSDP confirm) -> scan -> summary; reconfigure: address, MQTT or rescan."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> VictronGxOptionsFlow:  # noqa: ARG004
        """Polling, devices, writes and limits of an entry."""
        return VictronGxOptionsFlow()

    async def _async_claim(self, host: str, port: int) -> dict[str, str]:
        """Test the connection and claim the GX's serial; {} or the form's errors.

        Setting up a GX already configured aborts (updating its address); a
        reconfigured entry's GX must be the one at the address.
        """
        serial, errors = await async_test_connection(host, port)
        if errors:
            return errors
        await self.async_set_unique_id(serial, raise_on_progress=False)
        if self.source == SOURCE_RECONFIGURE:
            self._abort_if_unique_id_mismatch(reason="wrong_device")
        else:
            self._abort_if_unique_id_configured(updates={CONF_HOST: host, CONF_PORT: port})
        self._host, self._port = host, port
        return {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the address of the GX (and optionally its unit IDs) and test it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._unit_ids, errors = unit_ids_of(user_input)
            if not errors:
                errors = await self._async_claim(*_address(user_input))
            if not errors:
                self._mqtt = MqttSettings(port=MQTT_PORT, tls_port=MQTT_TLS_PORT)
                return await self.async_step_scan()
        schema = _address_schema(user_input or {}).extend(unit_ids_field(user_input or {}))
        return self.async_show_form(step_id="user", data_schema=schema, errors=errors)

    async def async_step_ssdp(self, discovery_info: SsdpServiceInfo) -> ConfigFlowResult:
        """A GX announced itself: claim its serial, then ask the user to confirm."""
        host = urlparse(discovery_info.ssdp_location or "").hostname
        if not host:
            return self.async_abort(reason="no_host")
        upnp = discovery_info.upnp
        if serial := upnp.get(UPNP_PORTAL_ID) or upnp.get(ATTR_UPNP_SERIAL):
            await self.async_set_unique_id(str(serial))
            self._abort_if_unique_id_configured(updates={CONF_HOST: host})
        self._host, self._port = host, DEFAULT_PORT  # SSDP tells no Modbus port
        portal_id = str(upnp.get(UPNP_PORTAL_ID) or "") or None  # given: the MQTT check need not learn it
        on_lan = upnp.get(UPNP_MQTT_ON_LAN) != "0"  # off: the quick scan at once
        self._mqtt = MqttSettings(enabled=on_lan, port=MQTT_PORT, tls_port=MQTT_TLS_PORT, portal_id=portal_id)
        self._mqtt_reason = None if on_lan else "off"
        self._model = upnp.get(ATTR_UPNP_MODEL_NAME)
        name = str(upnp.get(ATTR_UPNP_FRIENDLY_NAME) or self._model or DEFAULT_MODEL)
        self.context["title_placeholders"] = {"name": name, "host": host}
        return await self.async_step_ssdp_confirm()

    async def async_step_ssdp_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm a discovered GX (this integration reads it over Modbus TCP), then scan it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_claim(self._host, self._port)
            if not errors:
                return await self.async_step_scan()
        return self.async_show_form(
            step_id="ssdp_confirm",
            description_placeholders={
                "name": self.context["title_placeholders"]["name"],
                "model": self._model or DEFAULT_MODEL,
                "host": self._host,
            },
            errors=errors,
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:  # noqa: ARG002
        """Choose what to change: the address, MQTT discovery, or the devices (a rescan)."""
        return self.async_show_menu(
            step_id="reconfigure",
            menu_options=["address", "mqtt_settings", "rescan"],
            description_placeholders={"title": self._get_reconfigure_entry().title},
        )

    async def async_step_address(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Move the entry to a new address; the GX there must be the entry's GX."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_claim(*_address(user_input))
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_HOST: self._host, CONF_PORT: self._port}
                )
        return self.async_show_form(
            step_id="address", data_schema=_address_schema(user_input or entry.data), errors=errors
        )

    async def async_step_mqtt_settings(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """MQTT discovery on or off, its port and the GX's password; checked with what will be stored."""
        entry = self._get_reconfigure_entry()
        current = MqttSettings.stored(entry.data) or MqttSettings(enabled=False)
        errors: dict[str, str] = {}
        if user_input is not None:
            settings = current.changed_by(user_input)
            if settings.enabled:
                address = (entry.data[CONF_HOST], entry.data[CONF_PORT])
                check = await async_mqtt_check(*address, settings)
                if check.get("error") == "untrusted":  # TLS offered: its certificate from now on
                    settings = settings.trusting(check)
                    check = await async_mqtt_check(*address, settings)
                if (error := check.get("error")) is None:
                    settings = settings.with_portal_id(check.get("portal_id"))
                else:
                    errors["base"] = "invalid_mqtt_password" if error == "credentials" else "mqtt_unavailable"
            if not errors:
                return self.async_update_reload_and_abort(entry, data_updates={CONF_MQTT: settings.as_data()})
        return self.async_show_form(
            step_id="mqtt_settings", data_schema=current.form(user_input), errors=errors
        )

    async def async_step_rescan(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the GX's list over MQTT (when on), a quick or deep scan, or list the unit IDs."""
        entry = self._get_reconfigure_entry()
        modes = [MQTT_MODE, *SCAN_MODES] if mqtt_in_use(entry.data) else SCAN_MODES
        errors: dict[str, str] = {}
        if user_input is not None:
            self._unit_ids, errors = unit_ids_of(user_input)
            if not errors:
                mode = str(user_input[CONF_MODE])
                self._host, self._port = entry.data[CONF_HOST], entry.data[CONF_PORT]
                self._mode = "deep" if mode == "deep" else "quick"
                self._mqtt = MqttSettings.stored(entry.data) if mode == MQTT_MODE else None
                return await self.async_step_scan()
        mode_field = SelectSelector(
            SelectSelectorConfig(options=modes, translation_key="scan_mode", mode=SelectSelectorMode.LIST)
        )
        schema = vol.Schema({vol.Required(CONF_MODE, default=modes[0]): mode_field})
        schema = schema.extend(unit_ids_field(user_input or entry.data))
        return self.async_show_form(step_id="rescan", data_schema=schema, errors=errors)
