"""The Victron GX Modbus integration: a GX device over Modbus TCP, every register as an entity."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import CONF_HOST, CONF_PORT, EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.exceptions import ConfigEntryError

from victron_gx_modbus import Client, LimitsError, ScanDataError

from .batches import async_remove_entities
from .const import CONF_SLOW_EVERY, CONNECT_TIMEOUT, DEFAULT_SLOW_EVERY, DOMAIN, LOGGER, REQUEST_TIMEOUT
from .coordinator import VictronGxCoordinator
from .device_watch import async_start_device_watch
from .devices import expected_identifiers, gx_serial
from .hub import Hub, VictronGxConfigEntry
from .issues import (
    async_delete_issues,
    async_update_firmware_issue,
    async_update_zero_setpoints_issue,
    async_verify_gx,
)
from .mqtt_refresh import async_start_mqtt_refresh
from .registers import included_scan
from .sweep import async_start_sweep
from .sweep_status import SweepStatus
from .writes import entry_limits

if TYPE_CHECKING:
    from homeassistant.core import Event, HomeAssistant
    from homeassistant.helpers.device_registry import DeviceEntry

__all__ = ["DOMAIN"]

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TEXT,
]
"""Controls (button, number, select, switch, text) get entities only with writes on."""


async def async_setup_entry(hass: HomeAssistant, entry: VictronGxConfigEntry) -> bool:
    """Adopt the stored scan (devices, and the registers to poll: no request), poll once, add the entities.

    Every served register of an included device gets an entity; only the
    enabled ones are polled. Excluded devices get neither. With writes on,
    writable registers are controls within the limits; registry entries move
    to the platform that shows each register now.
    """
    try:
        limits = entry_limits(entry.options)
    except LimitsError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="bad_limits",
            translation_placeholders={"option": err.option, "error": str(err)},
        ) from err
    client = Client(
        entry.data[CONF_HOST],
        entry.data[CONF_PORT],
        timeout=REQUEST_TIMEOUT,
        connect_timeout=CONNECT_TIMEOUT,
        slow_every=int(entry.options.get(CONF_SLOW_EVERY, DEFAULT_SLOW_EVERY)),
        limits=limits,
    )
    coordinator = VictronGxCoordinator(hass, entry, client)
    try:
        hub = Hub(
            client,
            coordinator,
            SweepStatus.stored(dict(entry.data)),
            included_scan(entry.data, entry.options),
        )
        serial = gx_serial(hub.scan)
        await hub.async_adopt_scan(hass, entry)
    except (ScanDataError, KeyError, TypeError, ValueError) as err:
        await client.close()
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="bad_scan",
            translation_placeholders={"error": str(err)},
        ) from err
    try:
        await async_verify_gx(hass, entry, client, serial)
        await coordinator.async_config_entry_first_refresh()
    except BaseException:
        await client.close()
        raise
    entry.runtime_data = hub
    async_update_firmware_issue(hass, entry, hub.scan)
    async_update_zero_setpoints_issue(hass, entry, client, hub.served)

    async def _close_on_stop(_: Event) -> None:
        await client.close()

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _close_on_stop))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    async_start_sweep(hass, entry)
    async_start_mqtt_refresh(hass, entry)
    async_start_device_watch(hass, entry)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: VictronGxConfigEntry) -> bool:
    """Unload the platforms (their entities removed in batches first) and close the connection to the GX."""
    await async_remove_entities(hass, entry)
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.client.close()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: VictronGxConfigEntry) -> None:
    """Remove the entry's repair issues with it."""
    async_delete_issues(hass, entry)


async def async_migrate_entry(hass: HomeAssistant, entry: VictronGxConfigEntry) -> bool:  # noqa: ARG001
    """Migrate an entry to the current version (1 is the first: nothing to do yet)."""
    if entry.version > 1:
        LOGGER.error("Entry %s is from a newer version (%s) of this integration", entry.title, entry.version)
        return False
    return True


async def async_remove_config_entry_device(
    hass: HomeAssistant,  # noqa: ARG001
    entry: VictronGxConfigEntry,
    device: DeviceEntry,
) -> bool:
    """Let the user delete a device only when the included scan no longer has it (a stale device)."""
    return not device.identifiers & expected_identifiers(included_scan(entry.data, entry.options))
