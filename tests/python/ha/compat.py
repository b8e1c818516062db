"""What the tests need from Home Assistant, spelled so that 2026.2 and 2026.10 both offer it undeprecated."""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any, cast

from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr

from custom_components.victron_gx_modbus.const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

_SCHEMA_SERIALIZERS = (("probatio", "to_field_list"), ("voluptuous_serialize", "convert"))
"""HA 2026.10 serializes forms with probatio; 2026.2 with voluptuous_serialize."""


def device_of(hass: HomeAssistant, identifier: tuple[str, str]) -> dr.DeviceEntry | None:
    """The integration's device with `identifier`, whichever of its entries owns it.

    `DeviceRegistry.async_get_device` is deprecated from 2026.10 and its
    replacement does not exist in 2026.2; listing an entry's devices works on both.
    """
    registry = dr.async_get(hass)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if identifier in device.identifiers:
                return device
    return None


def form_fields(schema: Any) -> list[dict[str, Any]]:
    """A form's fields as Home Assistant sends them to the frontend."""
    for module, function in _SCHEMA_SERIALIZERS:
        if importlib.util.find_spec(module) is not None:
            convert = getattr(importlib.import_module(module), function)
            return cast("list[dict[str, Any]]", convert(schema, custom_serializer=cv.custom_serializer))
    msg = "no form serializer: neither probatio nor voluptuous_serialize is installed"
    raise RuntimeError(msg)
