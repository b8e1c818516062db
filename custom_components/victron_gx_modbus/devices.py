"""The device registry side: the GX, one device per found unit/service, stale ones removed.

Each device shows what the GX tells of it: model = its product name
("SmartSolar MPPT VE.Can 250/100"; the kind of device when the GX names no
product), model ID = its product ID as the GX's device page shows it
("0xA10B"), firmware, serial, and the user's custom name when set. Over
MQTT every device's product is named; over Modbus alone only those whose
service serves a product ID register.
"""

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
    GX_UNIT,
    MANUFACTURER,
    device_identifier,
)
from .labels import async_device_names

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant

    from victron_gx_modbus import FoundDevice, PublishedDevice, ScanResult


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
    """The product ID as the GX's device page and the VE.Direct PID show it ("0xA3E5")."""
    product_id = found["product_id"]
    return None if product_id is None else f"0x{product_id:04X}"


def _model(found: FoundDevice, names: dict[str, str]) -> str:
    """The product name; else the kind of device in the user's language ("Solar charger")."""
    if product := found.get("product_name"):
        return product
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


def with_published(scan: ScanResult, published: list[PublishedDevice]) -> ScanResult | None:
    """The scan with what the GX's MQTT published about its devices; None when nothing differs.

    A device is matched by the unit the GX lists it at (a device listed at
    unit 100 that is not the GX's own was scanned at unit 0) and its service
    type; a fact the GX did not publish keeps the stored value.
    """
    by_key: dict[tuple[int, str], PublishedDevice] = {}
    for device in published:
        unit = 0 if device["unit"] == GX_UNIT and device["service"] not in GX_SERVICES else device["unit"]
        by_key[unit, device["service"]] = device
    changed = False
    devices: list[FoundDevice] = []
    for found in scan["devices"]:
        facts = by_key.get((found["unit"], found["service"]))
        if facts is None:
            devices.append(found)
            continue
        updated: FoundDevice = {
            **found,
            "product_id": _published(facts["product_id"], found["product_id"]),
            "product_name": _published(facts["product_name"], found.get("product_name")),
            "firmware": _published(facts["firmware"], found["firmware"]),
            "serial": _published(facts["serial"], found["serial"]),
            "name": _published(facts["custom_name"], found["name"]),
        }
        changed |= updated != found
        devices.append(updated)
    return {**scan, "devices": devices} if changed else None


def _published[T](value: T | None, stored: T | None) -> T | None:
    """A published fact, else the stored value."""
    return stored if value is None else value


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
