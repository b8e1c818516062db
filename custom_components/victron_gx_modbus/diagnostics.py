"""Diagnostics: scan result, read plan, core metrics, firmware, options and a live raw register dump.

Host, serial numbers, the portal ID, MAC-like values, location and credentials
(the GX's MQTT password) are redacted:
by key (`async_redact_data`), and by value everywhere else (a serial also
appears as an entry title or a register's decoded value).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME

from victron_gx_modbus import __version__, ledger

from .const import CONF_SCAN, DOMAIN, GX_SERVICES, GX_UNIT, device_identifier, device_key
from .mqtt_settings import MqttSettings
from .raw_dump import SENSITIVE_KEYS, async_dump

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.device_registry import DeviceEntry

    from victron_gx_modbus import FoundDevice, ScanResult

    from .hub import Hub, VictronGxConfigEntry

TO_REDACT = frozenset(
    {
        CONF_HOST,
        CONF_PASSWORD,
        CONF_USERNAME,
        "serial",
        "serial_number",
        "unique_id",
        "portal_id",
        "mqtt_username",
        "mqtt_password",
    }
)
_MAC_LIKE = re.compile(r"\b[0-9a-f]{2}([:-]?)[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}\b", re.IGNORECASE)


def _secrets(entry: VictronGxConfigEntry, scan: ScanResult) -> set[str]:
    """Values to hide wherever they appear: the host, every serial number, the MQTT password and portal ID."""
    values = {str(entry.data.get(CONF_HOST) or ""), scan["gx"]["serial"] or "", entry.unique_id or ""}
    mqtt = MqttSettings.stored(entry.data)
    if mqtt is not None:
        values |= {mqtt.password or "", mqtt.portal_id or ""}
    values |= {found["serial"] or "" for found in scan["devices"]}
    return {value for value in values if len(value) >= 3}  # noqa: PLR2004 - too short to be identifying


def _scrub(data: Any, secrets: set[str]) -> Any:  # noqa: ANN401 - any JSON-like value
    """Replace every secret and MAC-like value inside the strings of `data` (error texts stay readable)."""
    if isinstance(data, dict):
        return {key: _scrub(value, secrets) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_scrub(value, secrets) for value in data]
    if isinstance(data, str):
        for secret in sorted(secrets, key=len, reverse=True):  # a serial may hold a shorter one
            data = data.replace(secret, REDACTED)
        return _MAC_LIKE.sub(REDACTED, data)
    return data


def _firmware(scan: ScanResult) -> dict[str, Any]:
    lists = sorted({register["since"] for service in ledger().values() for register in service["registers"]})
    return {
        "gx": scan["gx"]["firmware"],
        "devices": {
            device_key(found["unit"], found["service"]): found["firmware"] for found in scan["devices"]
        },
        "core_version": __version__,
        "register_lists": lists,
    }


def _plan(runtime: Hub) -> dict[str, Any]:
    registers = runtime.client.registers
    by_device: dict[str, list[str]] = {}
    for planned in registers:
        by_device.setdefault(device_key(planned["unit"], planned["service"]), []).append(planned["key"])
    return {
        "registers": len(registers),
        "served": len(runtime.served),
        "by_tier": dict(Counter(planned["tier"] for planned in registers)),
        "by_device": by_device,
    }


def _coordinator(runtime: Hub, devices: list[FoundDevice]) -> dict[str, Any]:
    coordinator = runtime.coordinator
    interval = coordinator.update_interval
    shown = {device_key(found["unit"], found["service"]) for found in devices}
    data = coordinator.data
    values = {
        key: REDACTED if key.rsplit("/", 1)[1] in SENSITIVE_KEYS else value
        for key, value in data.values.items()
        if key.rsplit("/", 1)[0] in shown
    }
    return {
        "last_update_success": coordinator.last_update_success,
        "last_exception": None if coordinator.last_exception is None else repr(coordinator.last_exception),
        "update_interval": None if interval is None else interval.total_seconds(),
        "unavailable": sorted(key for key in data.unavailable if key.rsplit("/", 1)[0] in shown),
        "values": values,
    }


async def _diagnostics(entry: VictronGxConfigEntry, devices: list[FoundDevice]) -> dict[str, Any]:
    """Diagnostics of `devices` of a loaded or not loaded entry."""
    scan: ScanResult = entry.data[CONF_SCAN]
    result: dict[str, Any] = {
        "entry": {
            "title": entry.title,
            "unique_id": entry.unique_id,
            "state": entry.state.value,
            "data": {key: value for key, value in entry.data.items() if key != CONF_SCAN},
            "options": dict(entry.options),
        },
        "firmware": _firmware(scan),
        "scan": {**scan, "devices": devices},
    }
    if entry.state is ConfigEntryState.LOADED:
        runtime = entry.runtime_data
        result["plan"] = _plan(runtime)
        result["metrics"] = runtime.client.metrics()
        result["sweep"] = runtime.sweep.as_dict()
        result["coordinator"] = _coordinator(runtime, devices)
        result["raw_registers"] = await async_dump(runtime.client, devices)
    scrubbed: dict[str, Any] = _scrub(async_redact_data(result, TO_REDACT), _secrets(entry, scan))
    return scrubbed


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant,  # noqa: ARG001
    entry: VictronGxConfigEntry,
) -> dict[str, Any]:
    """Diagnostics of the GX and every device behind it."""
    return await _diagnostics(entry, entry.data[CONF_SCAN]["devices"])


async def async_get_device_diagnostics(
    hass: HomeAssistant,  # noqa: ARG001
    entry: VictronGxConfigEntry,
    device: DeviceEntry,
) -> dict[str, Any]:
    """Diagnostics of one device (the GX itself: its own services at unit 100)."""
    scan: ScanResult = entry.data[CONF_SCAN]
    serial = scan["gx"]["serial"] or ""
    if (DOMAIN, serial) in device.identifiers:
        devices = [f for f in scan["devices"] if f["unit"] == GX_UNIT and f["service"] in GX_SERVICES]
    else:
        devices = [
            found
            for found in scan["devices"]
            if (DOMAIN, device_identifier(serial, found["unit"], found["service"])) in device.identifiers
        ]
    return await _diagnostics(entry, devices)
