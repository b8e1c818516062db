"""Which registers get an entity, and which of them are polled.

Every register a found device serves gets an entity (disabled ones too, so a
user can enable them); only the registers of enabled entities are polled.
Home Assistant reloads the entry after a user enables or disables entities,
and the reload plans again from the entity registry. Registers of AC phases
a device lacks (L2 and L3 of a single-phase site) start disabled. Devices the
user excluded in the options are left out before all of this.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from homeassistant.helpers import entity_registry as er

from victron_gx_modbus import ledger, ledger_register, register_id

from .batches import BATCH
from .const import CONF_EXCLUDED_DEVICES, CONF_SCAN, DOMAIN, GX_SERVICES, device_key, entity_unique_id
from .descriptions import binary_sensor_descriptions, sensor_descriptions, writable_descriptions
from .writes import writes_on

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant

    from victron_gx_modbus import Client, Register, ScanResult

    from .descriptions import DescriptionKey, VictronEntityDescription


@dataclass(frozen=True, slots=True)
class ServedRegister:
    """A register a found device serves, with the entity that shows it."""

    unit: int
    service: str
    key: str
    platform: str
    description: VictronEntityDescription
    enabled_default: bool
    """Whether its entity starts enabled: the ledger's default, unless its phase is missing."""
    has_phase: bool = True
    """Whether the device has the register's AC phase (True for registers of no phase)."""

    @property
    def register_id(self) -> str:
        """The core's snapshot key of the register."""
        return register_id(self.unit, self.service, self.key)


_PHASE = re.compile(r"/L([123])/")


def phase_of(register: Register) -> int | None:
    """The AC phase a register belongs to (from its D-Bus path), if any."""
    match = _PHASE.search(register["dbus_path"] or "")
    return int(match.group(1)) if match else None


def _site_phases(scan: ScanResult) -> int | None:
    """The site's AC phases: the most any device reports (the GX's own per-phase totals follow it)."""
    counts = [phases for device in scan["devices"] if (phases := device.get("phases"))]
    return max(counts, default=None)


def included_scan(data: Mapping[str, Any], options: Mapping[str, Any]) -> ScanResult:
    """The entry's stored scan without the devices its options exclude."""
    scan: ScanResult = data[CONF_SCAN]
    excluded = set(options.get(CONF_EXCLUDED_DEVICES, ()))
    if not excluded:
        return scan
    kept = [found for found in scan["devices"] if device_key(found["unit"], found["service"]) not in excluded]
    return {**scan, "devices": kept}


def _descriptions(
    *, writes: bool
) -> tuple[tuple[str | None, Mapping[DescriptionKey, VictronEntityDescription]], ...]:
    """(platform, descriptions) in order of preference; None: the ledger's platform (a control)."""
    read_only = (("sensor", sensor_descriptions()), ("binary_sensor", binary_sensor_descriptions()))
    return ((None, writable_descriptions()), *read_only) if writes else read_only


def served_registers(scan: ScanResult, *, writes: bool = False) -> list[ServedRegister]:
    """Every register of the scan's devices that an entity shows, device by device.

    With `writes`, a writable register is a control on its ledger platform;
    without, it is the read-only sensor or binary sensor (buttons: nothing).
    """
    platforms = _descriptions(writes=writes)
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
            phase = phase_of(register)
            has_phase = phase is None or not phases or phase <= phases
            for platform, descriptions in platforms:
                description = descriptions.get((device["service"], register["key"]))
                if description is not None:
                    enabled = bool(description.entity_registry_enabled_default) and has_phase
                    unit, key = device["unit"], register["key"]
                    shown_on = platform or register["ha"]["platform"]
                    served.append(
                        ServedRegister(
                            unit, device["service"], key, shown_on, description, enabled, has_phase
                        )
                    )
                    break
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


async def async_adopt_registers(
    hass: HomeAssistant, entry: ConfigEntry[Any], client: Client, scan: ScanResult, gx_serial: str
) -> list[ServedRegister]:
    """Serve `scan` with the entry's options: its registers, their registry entries moved, the enabled polled.

    The registers are worked out in the executor (1,500 of them on big
    sites); the registry moves yield to the event loop in batches.
    """
    served = await hass.async_add_executor_job(
        partial(served_registers, scan, writes=writes_on(entry.options))
    )
    await async_move_entities(hass, entry, gx_serial, served)
    await client.use_scan(scan, only=polled_register_ids(hass, gx_serial, served))
    return served


async def async_move_entities(
    hass: HomeAssistant, entry: ConfigEntry[Any], gx_serial: str, served: list[ServedRegister]
) -> None:
    """Move each register's registry entry to the platform that shows it now (writes on or off).

    The unique_id stays; the old platform's entry is removed, and its object
    ID, name and disabled or hidden state carry over to the new platform's
    entry, so no entity is left orphaned. A register no platform shows any
    more (a button with writes off) loses its entry.
    """
    registry = er.async_get(hass)
    platform_of = {
        entity_unique_id(gx_serial, register.unit, register.service, register.key): register.platform
        for register in served
    }
    for count, old in enumerate(er.async_entries_for_config_entry(registry, entry.entry_id), 1):
        if count % BATCH == 0:
            await asyncio.sleep(0)
        platform = platform_of.get(old.unique_id)
        if platform == old.domain or old.platform != DOMAIN:
            continue
        if platform is None and not _is_register_entity(old.unique_id, gx_serial):
            continue
        registry.async_remove(old.entity_id)
        if platform is None or registry.async_get_entity_id(platform, DOMAIN, old.unique_id):
            continue
        new = registry.async_get_or_create(
            platform,
            DOMAIN,
            old.unique_id,
            config_entry=entry,
            device_id=old.device_id,
            suggested_object_id=old.entity_id.split(".", 1)[1],
            disabled_by=old.disabled_by,
            hidden_by=old.hidden_by,
        )
        if old.name is not None:
            registry.async_update_entity(new.entity_id, name=old.name)


def _is_register_entity(unique_id: str, gx_serial: str) -> bool:
    """Whether a unique_id is one of a writable register of this GX (only those change platform)."""
    parts = unique_id.removeprefix(f"{gx_serial}_").split("_", 2)
    if len(parts) != 3 or not parts[0].isdigit():  # noqa: PLR2004 - unit, service, key
        return False
    register = ledger_register(parts[1], parts[2])
    return register is not None and register["writable"]
