"""The owner of a loaded entry's life: its client, coordinator, adopted scan, served registers and sweep.

Every path that changes which devices an entry serves goes through
`Hub.async_adopt_scan`: the set-up, the background sweep and the MQTT list
refresh (a rescan stores its scan and reloads, which is the set-up again).
What the MQTT list refresh learns about known devices (product, firmware,
serial, custom name) goes through `Hub.async_adopt_published`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.helpers.dispatcher import async_dispatcher_send

from victron_gx_modbus import VictronError

from .const import CONF_SCAN, DOMAIN, LOGGER, device_key
from .devices import async_sync_devices, gx_serial, with_published
from .registers import async_adopt_registers, included_scan

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from victron_gx_modbus import Client, PublishedDevice, ScanResult

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

    async def async_adopt_scan(
        self, hass: HomeAssistant, entry: VictronGxConfigEntry
    ) -> list[ServedRegister]:
        """Serve the entry's stored scan: registers planned and polled, registry and devices in step.

        Returns the registers of devices the adopted scan lacked (none at
        set-up, where the platforms add every served register), which the
        platforms add as entities.
        """
        scan = included_scan(entry.data, entry.options)
        known = {device_key(found["unit"], found["service"]) for found in self.scan["devices"]}
        served = await async_adopt_registers(hass, entry, self.client, scan, gx_serial(scan))
        self.scan, self.served = scan, served
        await async_sync_devices(hass, entry, scan)
        return [register for register in served if device_key(register.unit, register.service) not in known]

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

    async def async_adopt_published(
        self, hass: HomeAssistant, entry: VictronGxConfigEntry, published: list[PublishedDevice]
    ) -> None:
        """Store and show what the GX's MQTT published about the devices (product, firmware, serial, name).

        Nothing changes when it matches the stored scan, and nothing is
        stored while the entry unloads or a rescan stored another scan.
        """
        stored = entry.data[CONF_SCAN]
        refreshed = with_published(stored, published)
        if refreshed is None or not still_current(entry, stored):
            return
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_SCAN: refreshed})
        self.scan = included_scan(entry.data, entry.options)
        await async_sync_devices(hass, entry, self.scan)
        await self.coordinator.async_request_refresh()


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
