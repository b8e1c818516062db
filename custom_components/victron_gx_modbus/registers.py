"""Which registers get an entity, and which of them are polled.

Every register a found device serves gets an entity (disabled ones too, so a
user can enable them); only the registers of enabled entities are polled.
Home Assistant reloads the entry after a user enables or disables entities,
and the reload plans again from the entity registry. Registers of AC phases
a device lacks (L2 and L3 of a single-phase site) start disabled. Devices the
user excluded in the options are left out before all of this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.helpers import entity_registry as er

from victron_gx_modbus import ledger, register_id

from .const import CONF_EXCLUDED_DEVICES, CONF_SCAN, DOMAIN, GX_SERVICES, entity_unique_id
from .descriptions import binary_sensor_descriptions, sensor_descriptions

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity import EntityDescription

    from victron_gx_modbus import FoundDevice, Register, ScanResult


@dataclass(frozen=True, slots=True)
class ServedRegister:
    """A register a found device serves, with the entity that shows it."""

    unit: int
    service: str
    key: str
    platform: str
    description: EntityDescription
    enabled_default: bool
    """Whether its entity starts enabled: the ledger's default, unless its phase is missing."""

    @property
    def register_id(self) -> str:
        """The core's snapshot key of the register."""
        return register_id(self.unit, self.service, self.key)


_PHASE = re.compile(r"/L([123])/")


def _phase(register: Register) -> int | None:
    """The AC phase a register belongs to (from its D-Bus path), if any."""
    match = _PHASE.search(register["dbus_path"] or "")
    return int(match.group(1)) if match else None


def _site_phases(scan: ScanResult) -> int | None:
    """The site's AC phases: the most any device reports (the GX's own per-phase totals follow it)."""
    counts = [phases for device in scan["devices"] if (phases := device.get("phases"))]
    return max(counts, default=None)


def device_key(found: FoundDevice) -> str:
    """A found device's key in the options: `<unit>/<service>`."""
    return f"{found['unit']}/{found['service']}"


def included_scan(data: Mapping[str, Any], options: Mapping[str, Any]) -> ScanResult:
    """The entry's stored scan without the devices its options exclude."""
    scan: ScanResult = data[CONF_SCAN]
    excluded = set(options.get(CONF_EXCLUDED_DEVICES, ()))
    if not excluded:
        return scan
    return {**scan, "devices": [found for found in scan["devices"] if device_key(found) not in excluded]}


def served_registers(scan: ScanResult) -> list[ServedRegister]:
    """Every register of the scan's devices that an entity shows, device by device."""
    platforms = (("sensor", sensor_descriptions()), ("binary_sensor", binary_sensor_descriptions()))
    services = ledger()
    site_phases = _site_phases(scan)
    served = []
    for device in scan["devices"]:
        service = services.get(device["service"])
        if service is None:  # a service type this version does not know
            continue
        unsupported = set(device["unsupported"])
        phases = site_phases if device["service"] in GX_SERVICES else device.get("phases")
        for register in service["registers"]:
            if register["key"] in unsupported:
                continue
            phase = _phase(register)
            has_phase = phase is None or not phases or phase <= phases
            for platform, descriptions in platforms:
                description = descriptions.get((device["service"], register["key"]))
                if description is not None:
                    enabled = bool(description.entity_registry_enabled_default) and has_phase
                    unit, key = device["unit"], register["key"]
                    served.append(
                        ServedRegister(unit, device["service"], key, platform, description, enabled)
                    )
    return served


def polled_register_ids(hass: HomeAssistant, gx_serial: str, served: list[ServedRegister]) -> set[str]:
    """The registers of enabled entities: the registry's word where it has the entity, else its default."""
    registry = er.async_get(hass)
    polled = set()
    for register in served:
        unique_id = entity_unique_id(gx_serial, register.unit, register.service, register.key)
        entity_id = registry.async_get_entity_id(register.platform, DOMAIN, unique_id)
        entry = registry.async_get(entity_id) if entity_id else None
        enabled = entry.disabled_by is None if entry is not None else register.enabled_default
        if enabled:
            polled.add(register.register_id)
    return polled
