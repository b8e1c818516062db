"""An MQTT entry reads the GX's list again (at each setup, then every ten minutes) and adds new devices.

What the list's services publish about known devices (product, firmware
after an update, serial, a custom name set on the GX) updates their device
information at once.

Reading the list sends no Modbus request; only when it names a device the
stored scan lacks are exactly the listed devices scanned over Modbus (no
failed request, and no second MQTT session: the list just read is the one
scanned) on a short-lived client, and the new devices are stored, logged
once and added with their entities without a reload. Devices that left the
list stay until a rescan removes them. A GX whose MQTT shows a certificate
the entry does not trust (changed, or TLS where the entry read plaintext) is
not read: a repair issue shows the new fingerprint and offers to trust it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers.event import async_track_time_interval

from victron_gx_modbus import MqttCertificateChanged, VictronError

from .connection import async_mqtt_check, async_scan_listed
from .const import CONF_SCAN, CONF_UNIT_IDS, LOGGER, MQTT_REFRESH_INTERVAL, device_key
from .hub import still_current
from .issues import async_update_certificate_issue
from .mqtt_settings import MqttSettings

if TYPE_CHECKING:
    import asyncio
    from datetime import datetime

    from homeassistant.core import HomeAssistant

    from victron_gx_modbus import ScanResult

    from .hub import VictronGxConfigEntry


def async_start_mqtt_refresh(hass: HomeAssistant, entry: VictronGxConfigEntry) -> None:
    """Read the list now and every MQTT_REFRESH_INTERVAL when the entry uses MQTT (ended by unload)."""
    settings = MqttSettings.stored(entry.data)
    if settings is None or not settings.enabled or entry.data.get(CONF_UNIT_IDS):
        return  # an entry that lists its unit IDs wants exactly those
    running: set[asyncio.Task[None]] = set()

    @callback
    def refresh(_: datetime | None = None) -> None:
        if running:  # the previous reading has not finished
            return
        name = f"victron_gx_modbus mqtt refresh {entry.entry_id}"
        task = entry.async_create_background_task(hass, _async_refresh(hass, entry, settings), name=name)
        running.add(task)
        task.add_done_callback(running.discard)

    refresh()
    entry.async_on_unload(
        async_track_time_interval(hass, refresh, MQTT_REFRESH_INTERVAL, cancel_on_shutdown=True)
    )


async def _async_refresh(hass: HomeAssistant, entry: VictronGxConfigEntry, settings: MqttSettings) -> None:
    """Compare the GX's list with the stored scan; scan that list and add what is new (one MQTT session)."""
    host, port = entry.data[CONF_HOST], entry.data[CONF_PORT]
    try:
        check = await async_mqtt_check(host, port, settings)
    except MqttCertificateChanged as err:
        LOGGER.warning(
            "The GX's MQTT at %s shows another certificate (SHA-256 %s, trusted %s); "
            "not reading its list until the repair issue trusts it",
            host,
            err.fingerprint,
            err.expected,
        )
        async_update_certificate_issue(hass, entry, err.fingerprint, err.expected)
        return
    except VictronError as err:
        LOGGER.debug("Reading the GX's MQTT list again failed: %s", err)
        return
    if check.get("error") == "untrusted":  # TLS where the entry read plaintext: the user decides
        async_update_certificate_issue(hass, entry, check.get("fingerprint"), None)
        return
    if "error" not in check:
        async_update_certificate_issue(hass, entry, None, None)
        await entry.runtime_data.async_adopt_published(hass, entry, check.get("published", []))
    stored: ScanResult = entry.data[CONF_SCAN]
    known = {device_key(found["unit"], found["service"]) for found in stored["devices"]}
    try:
        listed = {device_key(unit, service) for unit, service in check.get("devices", [])}
        if not listed - known:
            return
        scanned = await async_scan_listed(host, port, check)
    except VictronError as err:
        LOGGER.debug("Reading the GX's MQTT list again (or scanning it) failed: %s", err)
        return
    new = [
        device for device in scanned["devices"] if device_key(device["unit"], device["service"]) not in known
    ]
    if not new or not still_current(entry, stored):
        return
    for device in new:
        LOGGER.info(
            "The GX's MQTT lists a further device on %s: %s at unit %s (%s); adding it",
            entry.title,
            device["service"],
            device["unit"],
            device["name"] or "no name",
        )
    scan: ScanResult = {**stored, "devices": [*stored["devices"], *new]}
    await entry.runtime_data.async_store_found(hass, entry, scan, new)
