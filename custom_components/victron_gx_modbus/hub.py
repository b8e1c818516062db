"""The owner of a loaded entry's life: its client, coordinator, adopted scan, served registers and sweep.

Every path that changes which devices an entry serves goes through
`Hub.async_adopt_scan`: the set-up, the background sweep and the MQTT list
refresh (`Hub.async_store_found`; a rescan stores its scan and reloads, which
is the set-up again). A device found at another unit than the stored one of
its serial moved: its registry entries follow it (moves.py). What the MQTT
list refresh learns about known devices (product, firmware, serial, custom
name) goes through `Hub.async_adopt_published`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.helpers.dispatcher import async_dispatcher_send

from victron_gx_modbus import VictronError

from .const import CONF_SCAN, DOMAIN, LOGGER, device_key
from .devices import async_sync_devices, gx_serial, with_published
from .moves import async_move_registry_entries, moved_options, without_moved
from .registers import async_adopt_registers, included_scan

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.core import HomeAssistant

    from victron_gx_modbus import Client, FoundDevice, PublishedDevice, ScanResult

    from .coordinator import VictronGxCoordinator
    from .registers import ServedRegister
    from .sweep_status import SweepStatus


@dataclass(slots=True)
class Hub:
    """What a loaded entry holds (its `runtime_data`)."""

    client: Client
    coordinator: VictronGxCoordinator
    sweep: SweepStatus
    """The background sweep's status."""
    scan: ScanResult
    """The adopted scan: the stored one without the devices the options exclude."""
    served: list[ServedRegister] = field(default_factory=list)
    """Every register a found device serves that an entity shows (polled when enabled)."""
    adopting: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while a scan is adopted: the sweep and the MQTT refresh may store devices at once."""

    async def async_adopt_scan(
        self, hass: HomeAssistant, entry: VictronGxConfigEntry
    ) -> list[ServedRegister]:
        """Serve the entry's stored scan: registers planned and polled, registry and devices in step.

        Returns the registers of devices the adopted scan lacked (none at
        set-up, where the platforms add every served register), which the
        platforms add as entities.
        """
        async with self.adopting:  # one after the other: each sees what the one before adopted
            scan = included_scan(entry.data, entry.options)
            known = {device_key(found["unit"], found["service"]) for found in self.scan["devices"]}
            served = await async_adopt_registers(hass, entry, self.client, scan, gx_serial(scan))
            self.scan, self.served = scan, served
            await async_sync_devices(hass, entry, scan)
        return [register for register in served if device_key(register.unit, register.service) not in known]

    async def async_store_found(
        self,
        hass: HomeAssistant,
        entry: VictronGxConfigEntry,
        scan: ScanResult,
        found: list[FoundDevice],
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """Store a scan that gained the `found` devices while loaded (with further `data`) and serve it.

        A found device that is a stored one at another unit (by its serial)
        moved: its registry entries follow it and the entry reloads, which
        re-creates its entities under their new unique IDs. Otherwise the new
        devices' entities join without a reload.
        """
        scan, moved = without_moved(scan, found)
        hass.config_entries.async_update_entry(
            entry,
            data={**entry.data, **(data or {}), CONF_SCAN: scan},
            options=moved_options(entry.options, moved),
        )
        if moved:
            async_move_registry_entries(hass, entry, gx_serial(scan), moved)
            hass.config_entries.async_schedule_reload(entry.entry_id)
        elif found:
            await self.async_adopt_found(hass, entry)

    async def async_adopt_found(self, hass: HomeAssistant, entry: VictronGxConfigEntry) -> None:
        """Adopt a stored scan that gained devices while loaded: their entities join, their registers polled.

        An unload under way stops it quietly (its reload adopts the stored scan).
        """
        try:
            new = await self.async_adopt_scan(hass, entry)
        except VictronError as err:
            if not self.client.closed:
                raise
            LOGGER.debug("Adding devices stopped: the entry is unloading (%s)", err)
            return
        async_dispatcher_send(hass, new_registers_signal(entry), new)
        await self.coordinator.async_request_refresh()

    async def async_adopt_published(
        self, hass: HomeAssistant, entry: VictronGxConfigEntry, published: list[PublishedDevice]
    ) -> None:
        """Store and show what the GX's MQTT published about the devices (product, firmware, serial, name).

        Nothing changes when it matches the stored scan, and nothing is
        stored while the entry unloads or a rescan stored another scan.
        """
        async with self.adopting:  # as every adoption: one after the other
            stored = entry.data[CONF_SCAN]
            refreshed = with_published(stored, published)
            if refreshed is None or not still_current(entry, stored):
                return
            hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_SCAN: refreshed})
            self.scan = included_scan(entry.data, entry.options)
            await async_sync_devices(hass, entry, self.scan)


type VictronGxConfigEntry = ConfigEntry[Hub]


def new_registers_signal(entry: VictronGxConfigEntry) -> str:
    """The dispatcher signal that hands the platforms the registers of devices found after set-up."""
    return f"{DOMAIN}_{entry.entry_id}_new_registers"


def still_current(entry: VictronGxConfigEntry, base: ScanResult) -> bool:
    """Whether a background task started from `base` may store its result.

    Not when the entry is being unloaded (its client is closing) nor when a
    rescan stored another scan meanwhile (that would be overwritten).
    """
    return entry.state is ConfigEntryState.LOADED and entry.data.get(CONF_SCAN) is base
