"""Soak inside a real Home Assistant: polling at 1 s for minutes, the GX's faults mixed in.

`python -m demo.soak_ha [--scenario large] [--minutes 10] [--every-entity]`
(run by `scripts/soak ha`). It starts the simulator (5 ms latency) and a
Home Assistant of its own (a fresh config folder, loopback only), adds the GX
through the config flow, sets the poll interval to 1 s through the options
flow and lets it run while the simulator misbehaves on a schedule: a reply
cut mid-frame, a malformed reply, a request left unanswered past the
timeout, a device unplugged and plugged back, a stretch where the GX resets
the connection every 20 replies, and a reboot longer than the interval.

It fails when Home Assistant's log holds an error other than the
coordinator's one line per outage ("Error fetching ... data"), or any
traceback; when an enabled entity is still unavailable or values stopped
moving after the last fault; when Home Assistant holds more than one
connection to the GX at the end; or when its resident memory grew by more
than MEMORY_GROWTH from the warm-up to the end. Warnings are counted and
printed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import psutil
from victron_gx_modbus import Simulator

from .api import HomeAssistantApi, Websocket
from .process import home_assistant
from .state import free_port, prepare

if TYPE_CHECKING:
    from victron_gx_modbus.simulator import SimulatedDevice

LATENCY_MS = 5.0
INTERVAL_S = 1
WARM_UP_S = 60.0
RECOVERY_S = 20.0
MEMORY_GROWTH = 0.10
UNPLUGGED_S = 20
FLAKY_S = 30
REBOOT_S = 5.0
FAULT_PERIODS = {"cut": 30, "malformed": 45, "stall": 60, "unplug": 120, "flaky": 240, "reboot": 180}
"""Seconds between faults of each kind."""
EXPECTED_ERROR = re.compile(r"Error fetching Victron GX \S+ data")
LOG_LINE = re.compile(
    r"^\S+ \S+ (?P<level>[A-Z]+) \((?P<thread>[^)]*)\) \[(?P<logger>[^\]]+)\] (?P<message>.*)$"
)


@dataclass(frozen=True)
class Resources:
    """What the Home Assistant process holds."""

    rss_mib: float
    fds: int
    threads: int
    gx_connections: int


def _resources(pid: int, gx_port: int) -> Resources:
    process = psutil.Process(pid)
    connections = process.net_connections(kind="tcp")
    return Resources(
        rss_mib=process.memory_info().rss / 2**20,
        fds=process.num_fds(),
        threads=process.num_threads(),
        gx_connections=sum(1 for c in connections if c.raddr and c.raddr.port == gx_port),
    )


class FaultSchedule:
    """Injects the GX's usual troubles into the simulator, one tick per second."""

    def __init__(self, gx: Simulator, unpluggable: str) -> None:
        """Misbehave as `gx`; `unpluggable` is the scenario id of the device to unplug."""
        self._gx = gx
        self._device = unpluggable
        self.injected: collections.Counter[str] = collections.Counter()

    async def tick(self, second: int) -> None:
        """Start the faults due at `second` and end those whose time is up."""
        if second % FAULT_PERIODS["unplug"] == UNPLUGGED_S:
            await self._gx.set_present(self._device, present=True)
        if second % FAULT_PERIODS["flaky"] == FLAKY_S:
            self._gx.drop_every(0)
        for fault, period in FAULT_PERIODS.items():
            if second % period == 0:
                await self._start(fault)
                self.injected[fault] += 1

    async def _start(self, fault: str) -> None:
        match fault:
            case "cut":
                self._gx.drop_next_replies(1)
            case "malformed":
                self._gx.malform_next_replies("bad_length", 1)
            case "stall":
                self._gx.stall(1)
            case "unplug":
                await self._gx.set_present(self._device, present=False)
            case "flaky":
                self._gx.drop_every(20)
            case _:
                self._gx.reboot(REBOOT_S)

    async def end(self) -> None:
        """End every fault: the device plugged back, nothing pending."""
        self._gx.drop_every(0)
        self._gx.clear_faults()
        await self._gx.set_present(self._device, present=True)


def _unpluggable(devices: list[SimulatedDevice]) -> str:
    """The device to unplug: a solar charger when there is one, else any device off the GX itself."""
    chargers = [d["id"] for d in devices if d["service"] == "solarcharger"]
    others = [d["id"] for d in devices if d["unit"] not in {None, 100}]
    return (chargers or others)[0]


def _form_defaults(schema: list[dict[str, Any]]) -> dict[str, Any]:
    """A form's default answer, sections (`expandable`) included, from its serialized schema."""
    answer: dict[str, Any] = {}
    for item in schema:
        if item.get("type") == "expandable":
            answer[item["name"]] = _form_defaults(item["schema"])
        elif "default" in item:
            answer[item["name"]] = item["default"]
    return answer


async def _set_interval(api: HomeAssistantApi, entry_id: str, seconds: int) -> None:
    """Set the poll interval through the options flow, as a user would."""
    result = await api.options_flow(entry_id)
    result = await api.options_flow_step(result["flow_id"], {"next_step_id": "settings"})
    answer = _form_defaults(result["data_schema"])
    answer["scan_interval"] = seconds
    result = await api.options_flow_step(result["flow_id"], answer)
    if result["type"] != "create_entry":
        msg = f"the options flow did not take the interval: {result}"
        raise RuntimeError(msg)


def _read_log(path: Path) -> tuple[list[str], list[str], collections.Counter[str]]:
    """The log's expected error lines, its unexpected ones (and tracebacks), and warnings by logger."""
    expected: list[str] = []
    unexpected: list[str] = []
    warnings: collections.Counter[str] = collections.Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("Traceback"):
            unexpected.append(line)
            continue
        match = LOG_LINE.match(line)
        if match is None:
            continue
        level = match["level"]
        if level in {"ERROR", "CRITICAL"}:
            (expected if EXPECTED_ERROR.search(match["message"]) else unexpected).append(line)
        elif level == "WARNING":
            warnings[f"{match['logger']}: {match['message'][:90]}"] += 1
    return expected, unexpected, warnings


@dataclass
class Outcome:
    """What a soak saw in Home Assistant."""

    enabled: int = 0
    start: Resources | None = None
    end: Resources | None = None
    injected: collections.Counter[str] = field(default_factory=collections.Counter)
    problems: list[str] = field(default_factory=list)


async def _drive(api: HomeAssistantApi, gx: Simulator, hass_pid: int, args: argparse.Namespace) -> Outcome:
    """Add the GX, poll at 1 s, run the faults, then check the entities."""
    outcome = Outcome()
    ws = await api.websocket()
    entry = await api.add_gx(gx.host, gx.port)
    if args.every_entity:
        await ws.enable_every_entity(entry["entry_id"])
    await _set_interval(api, entry["entry_id"], INTERVAL_S)
    await asyncio.sleep(WARM_UP_S)
    enabled = {e["entity_id"] for e in await ws.entry_entities(entry["entry_id"]) if not e.get("disabled_by")}
    outcome.enabled = len(enabled)
    outcome.start = _resources(hass_pid, gx.port)
    print(
        f"{args.scenario}: {len(enabled)} entities enabled, polled every {INTERVAL_S} s; "
        f"faults for {args.minutes:g} min",
        flush=True,
    )
    schedule = FaultSchedule(gx, _unpluggable(await gx.devices()))
    began = time.monotonic()
    for second in range(1, round(args.minutes * 60) + 1):
        await schedule.tick(second)
        await asyncio.sleep(max(0.0, began + second - time.monotonic()))
    await schedule.end()
    outcome.injected = schedule.injected
    await asyncio.sleep(RECOVERY_S)
    outcome.problems += await _check_entities(api, await api.websocket(), enabled)  # the first one idled out
    outcome.end = _resources(hass_pid, gx.port)
    return outcome


async def _soak(args: argparse.Namespace) -> Outcome:
    """Run Home Assistant in a fresh folder beside the simulator; judge its log afterwards."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="vgm-soak-ha-"))
    login = prepare(folder, args.scenario, port)
    try:
        async with (
            Simulator(args.scenario, latency_ms=LATENCY_MS) as gx,
            home_assistant(folder) as hass,
            aiohttp.ClientSession() as session,
        ):
            api = HomeAssistantApi(session, f"http://127.0.0.1:{port}")
            async with asyncio.timeout(120):
                await api.wait_until_up()
            await api.log_in(login.username, login.password)
            outcome = await _drive(api, gx, hass.pid, args)
        outcome.problems += _judge_log(folder / "home-assistant.log", outcome.injected)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return outcome


def _judge_log(path: Path, injected: collections.Counter[str]) -> list[str]:
    """Print what the log holds; the problems: unexpected errors, or more outage errors than outages."""
    expected, unexpected, warnings = _read_log(path)
    print(f"log: {len(expected)} outage errors (expected), {len(unexpected)} other errors or tracebacks")
    for message, count in warnings.most_common():
        print(f"  warning x{count}: {message}")
    problems = [f"unexpected log line: {line}" for line in unexpected[:20]]
    outages = injected["reboot"] + injected["stall"]
    if len(expected) > outages:
        problems.append(f"{len(expected)} outage errors for {outages} reboots and stalls")
    return problems


def _report(outcome: Outcome) -> int:
    """Print the resources and the problems; the exit status."""
    start, end, problems = outcome.start, outcome.end, list(outcome.problems)
    print(f"faults injected: {dict(outcome.injected)}")
    if start is not None and end is not None:
        print(f"{'':<16}{'after warm-up':>14}{'at the end':>12}")
        for name in ("rss_mib", "fds", "threads", "gx_connections"):
            print(f"{name:<16}{getattr(start, name):>14.1f}{getattr(end, name):>12.1f}")
        if end.gx_connections > 1:
            problems.append(f"Home Assistant holds {end.gx_connections} connections to the GX")
        if end.rss_mib > start.rss_mib * (1 + MEMORY_GROWTH):
            problems.append(f"memory grew {end.rss_mib / start.rss_mib - 1:.1%}")
    for problem in problems:
        print(f"soak ha: {problem}", file=sys.stderr)
    return 1 if problems else 0


async def _check_entities(api: HomeAssistantApi, ws: Websocket, enabled: set[str]) -> list[str]:
    """After the faults: every enabled entity available, and values still moving."""
    states = {s["entity_id"]: s["state"] for s in await api.states()}
    problems = [
        f"{entity_id} is still unavailable"
        for entity_id in sorted(enabled)
        if states.get(entity_id) == "unavailable"
    ]
    ws.entity_ids = enabled
    ws.writes = 0
    await ws.subscribe_state_changes()
    await ws.count_events_for(5 * INTERVAL_S)
    if ws.writes == 0:
        problems.append("no entity wrote a state in the last 5 s")
    return problems[:20]


def main() -> int:
    """Run the soak."""
    parser = argparse.ArgumentParser(prog="scripts/soak ha", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="large")
    parser.add_argument("--minutes", type=float, default=10.0, help="time under faults")
    parser.add_argument("--every-entity", action="store_true", help="enable every entity first")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    with contextlib.suppress(KeyboardInterrupt):
        return _report(asyncio.run(_soak(args)))
    return 130


if __name__ == "__main__":
    sys.exit(main())
