"""The device registry side: the GX, one device per found unit/service, stale ones removed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import CONF_HOST
from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr

from .const import (
    CONF_MODEL,
    DEFAULT_MODEL,
    DOMAIN,
    GX_SERVICES,
    MANUFACTURER,
    device_identifier,
)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from victron_gx_modbus import FoundDevice, ScanResult

    from .coordinator import VictronGxConfigEntry


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


@callback
def async_sync_devices(hass: HomeAssistant, entry: VictronGxConfigEntry, scan: ScanResult) -> None:
    """Create or update the devices of `scan` and remove this entry's devices it no longer has.

    The GX is created first; each child then gets it as parent through
    `via_device_id` (`DeviceInfo.via_device` is deprecated from HA 2026.8).
    """
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
        custom_name = None if found["service"] in GX_SERVICES else found["name"]
        child = registry.async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={(DOMAIN, device_identifier(serial, found["unit"], found["service"]))},
            manufacturer=MANUFACTURER,
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
        if not device.identifiers & expected:
            registry.async_update_device(device.id, remove_config_entry_id=entry.entry_id)
