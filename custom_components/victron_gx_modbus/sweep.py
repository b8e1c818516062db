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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from homeassistant.config_entries import ConfigEntryState
from homeassistant.helpers.dispatcher import async_dispatcher_send

from victron_gx_modbus import VictronError

from . import const
from .const import CONF_SCAN, CONF_SWEEP, CONF_UNIT_IDS, LOGGER
from .devices import async_sync_devices, gx_serial
from .entity import new_registers_signal
from .mqtt_settings import mqtt_in_use
from .registers import async_adopt_registers, device_key, included_scan

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from victron_gx_modbus import Client, ScanProgress, ScanResult

    from .coordinator import VictronGxConfigEntry


@dataclass(slots=True)
class SweepStatus:
    """Where an entry's sweep stands (shown by the options flow and diagnostics)."""

    state: Literal["not_started", "running", "done", "failed", "off"] = "not_started"
    done: int = 0
    total: int = 0
    found: list[str] = field(default_factory=list)
    """Keys (`<unit>/<service>`) of the devices the sweep found."""
    requests: int = 0
    failed_requests: int = 0

    @classmethod
    def stored(cls, data: dict[str, Any]) -> SweepStatus:
        """The status an entry's data records: done (with its outcome), not started, or off (units, MQTT)."""
        if data.get(CONF_UNIT_IDS) or mqtt_in_use(data):
            return cls(state="off")
        outcome = data.get(CONF_SWEEP)
        if not isinstance(outcome, dict):
            return cls()
        return cls(
            state="done",
            found=list(outcome.get("found", [])),
            requests=int(outcome.get("requests", 0)),
            failed_requests=int(outcome.get("failed_requests", 0)),
        )

    @property
    def percent(self) -> int:
        """Progress in percent (100 once done)."""
        if self.state == "done":
            return 100
        return self.done * 100 // self.total if self.total else 0

    def as_dict(self) -> dict[str, Any]:
        """The status as plain data (diagnostics)."""
        return {
            "state": self.state,
            "percent": self.percent,
            "found": self.found,
            "requests": self.requests,
            "failed_requests": self.failed_requests,
        }


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
    status.found = [device_key(found) for found in swept["found"]]
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
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_SCAN: swept["result"], CONF_SWEEP: outcome}
    )
    if swept["found"]:
        await async_add_found(hass, entry, set(status.found))


def still_current(entry: VictronGxConfigEntry, base: ScanResult) -> bool:
    """Whether a background task started from `base` may store its result.

    Not when the entry is being unloaded (its client is closing) nor when a
    rescan stored another scan meanwhile (that would be overwritten).
    """
    return entry.state is ConfigEntryState.LOADED and entry.data.get(CONF_SCAN) is base


async def async_add_found(hass: HomeAssistant, entry: VictronGxConfigEntry, keys: set[str]) -> None:
    """Add the devices with `keys` (now in the stored scan) and their entities; poll their registers.

    An unload under way stops it quietly (its reload adds them from the stored scan).
    """
    try:
        await _async_add_found(hass, entry, keys)
    except VictronError as err:
        if not entry.runtime_data.client.closed:
            raise
        LOGGER.debug("Adding devices stopped: the entry is unloading (%s)", err)


async def _async_add_found(hass: HomeAssistant, entry: VictronGxConfigEntry, keys: set[str]) -> None:
    runtime = entry.runtime_data
    scan = included_scan(entry.data, entry.options)
    serial = gx_serial(scan)
    served = await async_adopt_registers(hass, entry, runtime.client, scan, serial)
    runtime.scan, runtime.served = scan, served
    await async_sync_devices(hass, entry, scan)
    async_dispatcher_send(
        hass, new_registers_signal(entry), [r for r in served if f"{r.unit}/{r.service}" in keys]
    )
    await runtime.coordinator.async_request_refresh()
