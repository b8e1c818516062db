"""The demo's day of history: the simulator's site model run fast-forward, imported as statistics.

Home Assistant compiles long-term statistics once an hour from the states it
records, so a fresh demo's energy dashboard shows zeros and its statistics
graphs hold nothing. This runs the scenario's site model over the last hours
(the core's `site_history`: the same sun, loads, battery and counters as the
simulator, ending exactly where the live simulator starts) and imports the
hourly means, minima, maxima and counter sums for the integration's own
sensors through the recorder's statistics import API (the websocket command
`recorder/import_statistics`, which calls `async_import_statistics`).

Home Assistant has no API to import state history: history graphs, the
logbook and the more-info dialogs' history still begin when the demo started.
Demo-only code: the integration itself never invents a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from victron_gx_modbus import Simulator, ledger

if TYPE_CHECKING:
    from victron_gx_modbus.simulator import SiteHistory

    from .api import Websocket

DOMAIN = "victron_gx_modbus"
STEP_S = 60.0
SEED = 1
UNIT_CLASSES: dict[str, str | None] = {
    "W": "power",
    "kW": "power",
    "kWh": "energy",
    "Wh": "energy",
    "V": "voltage",
    "A": "electric_current",
    "°C": "temperature",
    "%": None,
}
"""Units whose statistics the demo imports, with the recorder's unit class of each."""
STATE_CLASSES = {"measurement", "total_increasing"}


@dataclass(frozen=True)
class Imported:
    """What `seed_history` imported."""

    entities: int
    hours: int
    start: datetime


def _sensors(registry: list[dict[str, Any]], states: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """unique_id -> {entity_id, unit, state_class} of the integration's enabled sensors with statistics."""
    attributes = {state["entity_id"]: state["attributes"] for state in states}
    found: dict[str, dict[str, Any]] = {}
    for entry in registry:
        if entry.get("platform") != DOMAIN or entry.get("disabled_by"):
            continue
        attrs = attributes.get(str(entry["entity_id"]), {})
        if attrs.get("state_class") in STATE_CLASSES and attrs.get("unit_of_measurement") in UNIT_CLASSES:
            found[str(entry["unique_id"])] = {
                "entity_id": entry["entity_id"],
                "unit": attrs["unit_of_measurement"],
                "state_class": attrs["state_class"],
            }
    return found


def _native_units() -> dict[tuple[str, str], str | None]:
    """(service, key) -> the unit the core's values are in."""
    return {
        (service, register["key"]): register["ha"]["unit"]
        for service, definition in ledger().items()
        for register in definition["registers"]
    }


def statistics(
    history: SiteHistory, sensors: dict[str, dict[str, Any]], serial: str, start: datetime, hours: int
) -> list[dict[str, Any]]:
    """`recorder/import_statistics` messages for the sensors a history has series of.

    The first `hours` buckets are imported (the last one, the current hour, is
    left to Home Assistant). Measurements get the hour's mean, min and max;
    counters their value at the hour's end and a sum that reaches 0 where the
    history ends. Home Assistant's own statistics of a sensor begin with a sum
    of 0 at its first recorded state (the recorder continues from short-term
    statistics, which cannot be imported), so the imported sums end there:
    they are the energy still to come before the live simulator starts,
    negated, and the first hour Home Assistant compiles carries on from them.
    A sensor shown in another unit than the core's (a suggested unit) is left out.
    """
    native = _native_units()
    by_register: dict[tuple[str, str], list[str]] = {}
    for unique_id in sensors:
        _serial, _unit, service, key = unique_id.split("_", 3)
        by_register.setdefault((service, key), []).append(unique_id)
    messages = []
    for series in history["series"]:
        sensor = sensors.get(f"{serial}_{series['unit']}_{series['service']}_{series['key']}")
        alone = by_register.get((series["service"], series["key"]), [])
        if sensor is None and len(alone) == 1:
            # The GX's own services (system, settings) are read at unit 100, whatever their instance.
            sensor = sensors[alone[0]]
        if sensor is None or native.get((series["service"], series["key"])) != sensor["unit"]:
            continue
        starts = [(start + timedelta(hours=k)).isoformat() for k in range(hours)]
        counter = sensor["state_class"] == "total_increasing"
        if counter:
            end = series["last"][-1]
            stats = [
                {"start": at, "state": last, "sum": last - end}
                for at, last in zip(starts, series["last"], strict=False)
            ]
        else:
            stats = [
                {"start": at, "mean": mean, "min": low, "max": high}
                for at, mean, low, high in zip(
                    starts, series["mean"], series["min"], series["max"], strict=False
                )
            ]
        metadata = {
            "has_sum": counter,
            "mean_type": 0 if counter else 1,
            "name": None,
            "source": "recorder",
            "statistic_id": sensor["entity_id"],
            "unit_class": UNIT_CLASSES[sensor["unit"]],
            "unit_of_measurement": sensor["unit"],
        }
        messages.append({"type": "recorder/import_statistics", "metadata": metadata, "stats": stats})
    return messages


async def seed_history(
    ws: Websocket, scenario: str, hours: int = 24, now: datetime | None = None
) -> Imported:
    """Import `hours` of the scenario's site, up to the current hour, for the integration's sensors."""
    now = now or datetime.now(UTC)
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    history = Simulator.history(scenario, (now - start).total_seconds(), step_seconds=STEP_S, seed=SEED)
    registry = await ws.command({"type": "config/entity_registry/list"})
    sensors = _sensors(registry, await ws.command({"type": "get_states"}))
    serials = {unique_id.split("_", 1)[0] for unique_id in sensors}
    if len(serials) != 1:
        return Imported(0, hours, start)
    messages = statistics(history, sensors, serials.pop(), start, hours)
    for message in messages:
        await ws.command(message)
    return Imported(len(messages), hours, start)
