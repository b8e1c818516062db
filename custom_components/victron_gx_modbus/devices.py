"""The device registry side: the GX, one device per found unit/service, stale ones removed."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from homeassistant.const import CONF_HOST
from homeassistant.helpers import device_registry as dr

from .const import (
    CONF_MODEL,
    DEFAULT_MODEL,
    DOMAIN,
    GX_SERVICES,
    MANUFACTURER,
    device_identifier,
)
from .labels import async_device_names

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant

    from victron_gx_modbus import FoundDevice, ScanResult


def gx_serial(scan: ScanResult) -> str:
    """The GX serial of a stored scan result (the entry's unique ID)."""
    serial = scan["gx"]["serial"]
    if not serial:
        msg = "the scan result has no GX serial"
        raise ValueError(msg)
    return serial


def expected_identifiers(scan: ScanResult) -> set[tuple[str, str]]:
    """Registry identifiers of the GX and of every device of the scan."""
    serial = gx_serial(scan)
    return {(DOMAIN, serial)} | {
        (DOMAIN, device_identifier(serial, found["unit"], found["service"])) for found in scan["devices"]
    }


def _model_id(found: FoundDevice) -> str | None:
    product_id = found["product_id"]
    return None if product_id is None else f"0x{product_id:04X}"


def _model(found: FoundDevice, names: dict[str, str]) -> str:
    """The kind of device in the user's language ("Solar charger"): the Modbus list has no product names."""
    template = names.get(f"component.{DOMAIN}.device.{found['service']}.name", found["service"])
    return template.format(unit="").strip()


def _custom_names(scan: ScanResult) -> dict[tuple[int, str], str]:
    """Each device's custom name; a name several devices share gets their unit ("SmartSolar MPPT 2")."""
    named = [f for f in scan["devices"] if f["name"] and f["service"] not in GX_SERVICES]
    counts = Counter(found["name"] for found in named)
    return {
        (found["unit"], found["service"]): (
            f"{found['name']} {found['unit']}" if counts[found["name"]] > 1 else str(found["name"])
        )
        for found in named
    }


async def async_sync_devices(hass: HomeAssistant, entry: ConfigEntry[Any], scan: ScanResult) -> None:
    """Create or update the devices of `scan` and remove this entry's devices it no longer has.

    The GX is created first; each child then gets it as parent through
    `via_device_id` (`DeviceInfo.via_device` is deprecated from HA 2026.8).
    """
    names = await async_device_names(hass)
    custom_names = _custom_names(scan)
    registry = dr.async_get(hass)
    serial = gx_serial(scan)
    gx = registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, serial)},
        manufacturer=MANUFACTURER,
        model=str(entry.data.get(CONF_MODEL) or DEFAULT_MODEL),
        name=entry.title,
        serial_number=serial,
        sw_version=scan["gx"]["firmware"],
        configuration_url=f"http://{entry.data[CONF_HOST]}",
    )
    for found in scan["devices"]:
        custom_name = custom_names.get((found["unit"], found["service"]))
        child = registry.async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={(DOMAIN, device_identifier(serial, found["unit"], found["service"]))},
            manufacturer=MANUFACTURER,
            model=_model(found, names),
            model_id=_model_id(found),
            serial_number=found["serial"],
            sw_version=found["firmware"],
            name=custom_name,
            translation_key=None if custom_name else found["service"],
            translation_placeholders={"unit": str(found["unit"])},
        )
        if child.via_device_id != gx.id:
            registry.async_update_device(child.id, via_device_id=gx.id)
    expected = expected_identifiers(scan)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not device.identifiers & expected:  # only this entry has our identifiers: the device goes
            registry.async_remove_device(device.id)
