"""Config flow: find the GX (by address or SSDP), scan it with progress, summarise, create the entry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import voluptuous as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.helpers import translation
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
)
from homeassistant.helpers.service_info.ssdp import (
    ATTR_UPNP_FRIENDLY_NAME,
    ATTR_UPNP_MODEL_NAME,
    ATTR_UPNP_SERIAL,
)

from victron_gx_modbus import (
    Client,
    FoundDevice,
    GXConnectionError,
    GXProtocolError,
    GXTimeoutError,
    ScanProgress,
    ScanResult,
    VictronError,
)

from .const import (
    CONF_MODEL,
    CONF_SCAN,
    CONNECT_TIMEOUT,
    DEFAULT_MODEL,
    DEFAULT_PORT,
    DOMAIN,
    GX_SERVICES,
    GX_UNIT,
    LOGGER,
    REQUEST_TIMEOUT,
)

if TYPE_CHECKING:
    import asyncio

    from homeassistant.helpers.service_info.ssdp import SsdpServiceInfo

UPNP_PORTAL_ID = "X_VrmPortalId"


class NotAGxError(Exception):
    """The device answers Modbus TCP but is not a GX."""


def _client(host: str, port: int) -> Client:
    return Client(host, port, timeout=REQUEST_TIMEOUT, connect_timeout=CONNECT_TIMEOUT)


async def _identify(host: str, port: int) -> str:
    """The GX serial at host:port: the core scans only the GX's own services at unit 100."""
    async with _client(host, port) as client:
        try:
            result = await client.scan(unit_ids=[GX_UNIT])
        except GXProtocolError as err:
            raise NotAGxError from err
    serial = result["gx"]["serial"]
    if not serial:
        raise NotAGxError
    return serial


def _error_key(err: Exception) -> str:
    """The translated error of a failed connection test."""
    if isinstance(err, NotAGxError):
        return "not_a_gx"
    if isinstance(err, GXTimeoutError):
        return "timeout"
    if isinstance(err, GXConnectionError):
        return "cannot_connect"
    LOGGER.exception("Unexpected error while connecting to the GX", exc_info=err)
    return "unknown"


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
        self._scan_task: asyncio.Task[ScanResult] | None = None
        self._scan: ScanResult | None = None
        self._scan_error = ""

    async def _async_connect(self, host: str, port: int) -> dict[str, str]:
        """Test the connection and claim the GX's serial; {} or the form's errors.

        A GX already configured aborts; at a new address its entry is updated.
        """
        try:
            serial = await _identify(host, port)
        except Exception as err:  # noqa: BLE001 - every error becomes a form error
            return {"base": _error_key(err)}
        await self.async_set_unique_id(serial, raise_on_progress=False)
        self._abort_if_unique_id_configured(updates={CONF_HOST: host, CONF_PORT: port})
        self._host, self._port = host, port
        return {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the address of the GX and test it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            host, port = user_input[CONF_HOST].strip(), int(user_input[CONF_PORT])
            errors = await self._async_connect(host, port)
            if not errors:
                return await self.async_step_scan()
        else:
            user_input = {}
        schema = vol.Schema(
            {
                vol.Required(CONF_HOST, default=user_input.get(CONF_HOST, "")): TextSelector(),
                vol.Required(CONF_PORT, default=user_input.get(CONF_PORT, DEFAULT_PORT)): NumberSelector(
                    NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
                ),
            }
        )
        return self.async_show_form(step_id="user", data_schema=schema, errors=errors)

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

    async def _async_scan(self) -> ScanResult:
        """The quick scan, its progress passed on to the flow."""

        def progress(step: ScanProgress) -> None:
            if step["total"]:
                self.async_update_progress(min(1.0, step["done"] / step["total"]))

        async with _client(self._host, self._port) as client:
            return await client.scan(mode="quick", progress=progress)

    async def async_step_scan(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:  # noqa: ARG002
        """Scan the GX in the core while the user sees the progress."""
        if self._scan_task is None:
            self._scan_task = self.hass.async_create_task(self._async_scan())
        if not self._scan_task.done():
            return self.async_show_progress(
                step_id="scan",
                progress_action="scan",
                progress_task=self._scan_task,
                description_placeholders={"host": self._host},
            )
        try:
            self._scan = self._scan_task.result()
        except Exception as err:  # noqa: BLE001 - a failed scan ends the flow, never crashes it
            if isinstance(err, VictronError):
                LOGGER.warning("Scanning the GX at %s:%s failed: %s", self._host, self._port, err)
            else:
                LOGGER.exception("Unexpected error while scanning the GX", exc_info=err)
            self._scan_error = str(err)
            return self.async_show_progress_done(next_step_id="scan_failed")
        return self.async_show_progress_done(next_step_id="summary")

    async def async_step_scan_failed(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:  # noqa: ARG002
        """The scan failed: nothing is created."""
        return self.async_abort(reason="scan_failed", description_placeholders={"error": self._scan_error})

    async def async_step_summary(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show what the scan found; creating the entry stores the scan result."""
        scan = self._scan
        if scan is None:  # pragma: no cover - the scan step always comes first
            return self.async_abort(reason="scan_failed", description_placeholders={"error": "no scan"})
        title = _title(scan)
        if user_input is not None:
            data: dict[str, Any] = {CONF_HOST: self._host, CONF_PORT: self._port, CONF_SCAN: scan}
            if self._model:
                data[CONF_MODEL] = self._model
            return self.async_create_entry(title=title, data=data)
        names = await translation.async_get_translations(
            self.hass, self.hass.config.language, "device", {DOMAIN}
        )
        lines = [_summary_line(found, names) for found in scan["devices"]]
        return self.async_show_form(
            step_id="summary",
            description_placeholders={
                "serial": str(scan["gx"]["serial"]),
                "firmware": scan["gx"]["firmware"] or "?",
                "devices": str(len(scan["devices"])),
                "registers": str(sum(found["registers"] for found in scan["devices"])),
                "device_list": "\n".join(lines),
            },
        )


def _title(scan: ScanResult) -> str:
    """The entry title: the GX's system name when set, else its serial."""
    for found in scan["devices"]:
        if found["service"] == "settings" and found["name"]:
            return found["name"]
    return f"Victron GX {scan['gx']['serial']}"


def _summary_line(found: FoundDevice, names: dict[str, str]) -> str:
    """One found device as a Markdown list item."""
    service = found["service"]
    kind = names.get(f"component.{DOMAIN}.device.{service}.name", service).format(unit=found["unit"])
    name = found["name"] if found["name"] and service not in GX_SERVICES else None
    label = f"{name} ({kind})" if name else kind
    return f"- {label}, unit {found['unit']}: {found['registers']} registers"
