"""Devices plugged in later, found over Modbus alone: the system's values tell of them.

Once the background sweep has finished, the core compares the system's
aggregates with the known devices' values at every few polls
(`Client.unexplained`, no request): DC PV power no solar charger accounts
for, AC-coupled PV without its PV inverter, VE.Bus power without a VE.Bus
device. A claim that holds at two checks in a row (values move between
reads) starts a search of that service type alone (`Client.search`: next to
the known devices of the type first, at the sweep's gentle rate, at most
`SEARCH_FAILED_BUDGET` refused requests); a device it finds is stored and
added without a reload. A claim a search could not explain is not searched
again until it has been explained once: no periodic blind probing. Entries
that list their unit IDs or read the GX's MQTT list (exact, refreshed on its
own) do not watch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.core import callback
from homeassistant.helpers.event import async_track_time_interval

from victron_gx_modbus import VictronError

from . import const
from .const import CONF_SCAN, CONF_UNIT_IDS, DEFAULT_SCAN_INTERVAL, LOGGER
from .hub import still_current
from .mqtt_settings import mqtt_in_use

if TYPE_CHECKING:
    import asyncio
    from datetime import datetime

    from homeassistant.core import HomeAssistant

    from .hub import VictronGxConfigEntry

SEARCH_FAILED_BUDGET = 40
"""Refused requests (error lines in the GX's log) one search may cost at most."""
POLLS_PER_CHECK = 3
"""The evidence is checked every this many poll intervals."""


@dataclass(slots=True)
class DeviceWatch:
    """What the watch remembers between checks."""

    pending: set[str] = field(default_factory=set)
    """Service types the last check found unexplained."""
    exhausted: set[str] = field(default_factory=set)
    """Service types searched in vain: not again until the claim was explained once."""


def check_interval(entry: VictronGxConfigEntry) -> timedelta:
    """How often the evidence is checked: every few polls."""
    return timedelta(
        seconds=POLLS_PER_CHECK * int(entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL))
    )


def async_start_device_watch(hass: HomeAssistant, entry: VictronGxConfigEntry) -> None:
    """Check the evidence every few polls once the sweep is done (ended by unload)."""
    if entry.data.get(CONF_UNIT_IDS) or mqtt_in_use(entry.data):
        return
    watch = DeviceWatch()
    running: set[asyncio.Task[None]] = set()

    @callback
    def check(_: datetime) -> None:
        if running or entry.runtime_data.sweep.state != "done":
            return
        name = f"victron_gx_modbus device watch {entry.entry_id}"
        task = entry.async_create_background_task(hass, _async_check(hass, entry, watch), name=name)
        running.add(task)
        task.add_done_callback(running.discard)

    entry.async_on_unload(
        async_track_time_interval(hass, check, check_interval(entry), cancel_on_shutdown=True)
    )


async def _async_check(hass: HomeAssistant, entry: VictronGxConfigEntry, watch: DeviceWatch) -> None:
    """Search for the types a claim names at two checks in a row; store and add what is found."""
    client = entry.runtime_data.client
    try:
        claims = set(await client.unexplained())
    except VictronError:
        return
    watch.exhausted &= claims  # an explained claim may be searched for again
    due = sorted((claims & watch.pending) - watch.exhausted)
    watch.pending = claims
    for service in due:
        base = entry.data[CONF_SCAN]
        try:
            outcome = await client.search(
                base, service, rate=const.SWEEP_RATE, failed_budget=SEARCH_FAILED_BUDGET
            )
        except VictronError as err:
            LOGGER.debug("Searching for a further %s stopped: %s", service, err)
            return
        if not still_current(entry, base):
            return
        if not outcome["found"]:
            LOGGER.debug("The GX's values tell of a further %s, but none was found", service)
            watch.exhausted.add(service)
            continue
        watch.pending.discard(service)
        for found in outcome["found"]:
            LOGGER.info(
                "The GX's values tell of a further device on %s: %s found at unit %s (%s); adding it",
                entry.title,
                found["service"],
                found["unit"],
                found["name"] or "no name",
            )
        await entry.runtime_data.async_store_found(hass, entry, outcome["result"], outcome["found"])
