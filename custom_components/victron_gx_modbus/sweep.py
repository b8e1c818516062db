"""Background sweep: after setup, probe the rest of the plausible unit space at a gentle rate.

Runs once after the first setup and after each quick rescan (never for an
entry that lists its unit IDs or finds its devices over MQTT: those lists
are exact), as a background task of the entry on the entry's own client
(the connection is pipelined, so polls are not held up). What it finds is
stored in the entry with the sweep's outcome (a restart does not sweep
again); its devices and entities are added to the running entry (its client
then polls their registers too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from victron_gx_modbus import VictronError

from . import const
from .const import CONF_SCAN, CONF_SWEEP, LOGGER, device_key
from .hub import still_current

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from victron_gx_modbus import Client, ScanProgress

    from .hub import VictronGxConfigEntry
    from .sweep_status import SweepStatus


def async_start_sweep(hass: HomeAssistant, entry: VictronGxConfigEntry) -> None:
    """Start the entry's sweep in the background unless it is done or off (ended by unload)."""
    status = entry.runtime_data.sweep
    if status.state != "not_started":
        return
    entry.async_create_background_task(
        hass,
        _async_sweep(hass, entry, entry.runtime_data.client, status),
        name=f"victron_gx_modbus sweep {entry.entry_id}",
    )


async def _async_sweep(
    hass: HomeAssistant, entry: VictronGxConfigEntry, client: Client, status: SweepStatus
) -> None:
    """Sweep, store the merged scan and the outcome, log each device found and add it."""

    def on_step(step: ScanProgress) -> None:
        status.done, status.total = step["done"], step["total"]

    status.state = "running"
    base = entry.data[CONF_SCAN]
    try:
        swept = await client.sweep(
            base, rate=const.SWEEP_RATE, patience=const.SWEEP_PATIENCE, progress=on_step
        )
    except VictronError as err:
        status.state = "failed"
        if client.closed:  # the entry was unloaded under the sweep
            return
        LOGGER.warning(
            "The background search for further devices stopped: %s (it runs again at the next start)", err
        )
        return
    if not still_current(entry, base):  # a rescan or an unload came first: its reload sweeps anew
        status.state = "failed"
        return
    status.state = "done"
    status.found = [device_key(found["unit"], found["service"]) for found in swept["found"]]
    status.requests = swept["stats"]["requests"]
    status.failed_requests = swept["stats"]["failed_requests"]
    for found in swept["found"]:
        LOGGER.info(
            "Found a further device on %s: %s at unit %s (%s); adding it",
            entry.title,
            found["service"],
            found["unit"],
            found["name"] or "no name",
        )
    outcome = {"found": status.found, "requests": status.requests, "failed_requests": status.failed_requests}
    await entry.runtime_data.async_store_found(
        hass, entry, swept["result"], swept["found"], {CONF_SWEEP: outcome}
    )
