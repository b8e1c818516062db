"""What the integration costs inside a real Home Assistant, per scenario.

`python -m demo.bench [--scenarios three-phase,large] [--seconds 60] [--json]`
(run by `scripts/bench`). For each scenario it starts the simulator (5 ms
latency) and a Home Assistant of its own (a fresh config folder, loopback
only), adds the GX through the config flow at a 5 s interval and measures
over whole poll cycles: with the default-enabled entities while the
background sweep after the set-up runs (it must still run when the
measurement ends), then, once the sweep has ended (about ten minutes), the
steady state with the default-enabled entities and with every entity
enabled:

- Home Assistant's process CPU per second (every thread, from /proc
  schedstat), per 5 s window: the median (Home Assistant's own periodic
  jobs, such as compiling statistics every 5 minutes, fall in a few windows)
  and the mean; an idle Home Assistant without the integration, measured the
  same way, for reference;
- event-loop time per poll cycle: the CPU time of Home Assistant's main
  thread (its event loop) per 5 s window, from /proc schedstat (ns), minus
  the idle loop's; median and maximum;
- state writes per cycle of the integration's entities (state_changed
  events); the tests check that an entity writes only when its value or
  availability changed;
- where the CPU goes: the medians per second of the event loop, of the
  core's threads (named `victron-gx-modbus`) and of every other thread
  (in the steady state nearly all Home Assistant's recorder, which writes
  each state to its database), each above the idle process's, and the
  event loop's and the other threads' share per state write in µs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
from victron_gx_modbus import Simulator

from .api import HomeAssistantApi, Websocket
from .process import home_assistant
from .state import free_port, prepare

INTERVAL_S = 5.0
CORE_THREAD = "victron-gx-mod"  # the core runtime's threads (comm is cut at 15 characters)
LATENCY_MS = 5.0
ENABLE_RELOAD_WAIT_S = 40.0  # Home Assistant reloads an entry 30 s after entities are enabled
SWEEP_WAIT_S = 20 * 60.0  # the sweep after a set-up takes about ten minutes at 5 requests/s
SETTLE_S = 30.0  # after a set-up, before measuring: the registries are saved about 10 s later
DEFAULTS = "default-enabled entities"
EVERY = "every entity"
DURING_SWEEP = "defaults, during the sweep"


@dataclass
class Figures:
    """What one measurement found."""

    scenario: str
    selection: str
    entities: int
    enabled: int
    cpu_ms_per_s: float
    """Median over 5 s windows (Home Assistant's own periodic jobs, such as statistics, fall in a few)."""
    cpu_ms_per_s_mean: float
    idle_cpu_ms_per_s: float
    loop_ms_per_cycle_median: float
    loop_ms_per_cycle_max: float
    state_writes_per_cycle: float
    loop_ms_per_s: float
    core_ms_per_s: float
    other_ms_per_s: float
    """Threads neither the event loop's nor the core's: in the steady state nearly all the recorder's."""
    loop_us_per_write: float
    other_us_per_write: float
    cycles: int


def _loop_ns(pid: int) -> int:
    """CPU time of the process's main thread (Home Assistant's event loop) in ns."""
    fields = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text(encoding="utf-8").split()
    return int(fields[0])


@dataclass(frozen=True)
class ProcessNs:
    """CPU time of a process in ns: every thread, and the core's threads among them."""

    total: int
    core: int


def _process_ns(pid: int) -> ProcessNs:
    """CPU time of the process's threads in ns (schedstat: finer than the 10 ms ticks of cpu_times)."""
    total = core = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that just ended
            spent = int((task / "schedstat").read_text(encoding="utf-8").split()[0])
            total += spent
            if (task / "comm").read_text(encoding="utf-8").startswith(CORE_THREAD):
                core += spent
    return ProcessNs(total, core)


@dataclass
class Windows:
    """Per 5 s window: process CPU ms/s, event-loop ms, the core's and the other threads' ms/s."""

    cpu: list[float]
    loop: list[float]
    core: list[float]
    other: list[float]
    writes_per_cycle: float


async def _measure(pid: int, ws: Websocket, cycles: int) -> Windows:
    """Measure `cycles` windows of 5 s, and the state writes per cycle over them."""
    ws.writes = 0
    windows = Windows([], [], [], [], 0.0)
    for _ in range(cycles):
        before, loop_before, started = _process_ns(pid), _loop_ns(pid), time.monotonic()
        await ws.count_events_for(INTERVAL_S)
        elapsed = time.monotonic() - started
        after, loop_ns = _process_ns(pid), _loop_ns(pid) - loop_before
        total, core = max(after.total - before.total, 0), max(after.core - before.core, 0)
        windows.cpu.append(total / 1e6 / elapsed)
        windows.loop.append(loop_ns / 1e6)
        windows.core.append(core / 1e6 / elapsed)
        windows.other.append(max(total - loop_ns - core, 0) / 1e6 / elapsed)
    windows.writes_per_cycle = ws.writes / cycles
    return windows


async def _wait_for_sweep(api: HomeAssistantApi, ws: Websocket, entry_id: str) -> None:
    """Wait until the background sweep after the set-up is done (about ten minutes).

    The figures are those of the steady state a site spends its days in,
    not of the sweep's first minutes. The websocket's events are drained
    meanwhile (Home Assistant closes a connection that falls behind).
    """
    async with asyncio.timeout(SWEEP_WAIT_S):
        while await api.sweep_percent(entry_id) < 100:  # noqa: PLR2004 - percent
            await ws.count_events_for(30)


@dataclass(frozen=True)
class Baseline:
    """What an idle Home Assistant without the integration costs, measured the same way."""

    cpu_ms_per_s: float
    loop_ms_per_cycle: float
    other_ms_per_s: float

    @classmethod
    def of(cls, idle: Windows) -> Baseline:
        """The medians of an idle process's windows."""
        return cls(statistics.median(idle.cpu), statistics.median(idle.loop), statistics.median(idle.other))


async def _selection(
    hass_pid: int, ws: Websocket, entry_id: str, scenario: str, selection: str, cycles: int, idle: Baseline
) -> Figures:
    """Measure the entry's enabled entities over `cycles` poll cycles, `SETTLE_S` from now."""
    ours = await ws.entry_entities(entry_id)
    ws.entity_ids = {e["entity_id"] for e in ours if not e.get("disabled_by")}
    await asyncio.sleep(SETTLE_S)  # past the registries' delayed saves after a set-up
    measured = await _measure(hass_pid, ws, cycles)
    loop = [max(w - idle.loop_ms_per_cycle, 0.0) for w in measured.loop]
    other = max(statistics.median(measured.other) - idle.other_ms_per_s, 0.0)
    writes = measured.writes_per_cycle
    cpu = measured.cpu
    return Figures(
        scenario=scenario,
        selection=selection,
        entities=len(ours),
        enabled=len(ws.entity_ids),
        cpu_ms_per_s=round(statistics.median(cpu), 2),
        cpu_ms_per_s_mean=round(statistics.mean(cpu), 2),
        idle_cpu_ms_per_s=round(idle.cpu_ms_per_s, 2),
        loop_ms_per_cycle_median=round(statistics.median(loop), 2),
        loop_ms_per_cycle_max=round(max(loop), 2),
        state_writes_per_cycle=round(writes, 1),
        loop_ms_per_s=round(statistics.median(loop) / INTERVAL_S, 2),
        core_ms_per_s=round(statistics.median(measured.core), 2),
        other_ms_per_s=round(other, 2),
        loop_us_per_write=round(statistics.median(loop) * 1e3 / writes, 1) if writes else 0.0,
        other_us_per_write=round(other * INTERVAL_S * 1e3 / writes, 1) if writes else 0.0,
        cycles=cycles,
    )


async def _scenario(scenario: str, cycles: int) -> list[Figures]:
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="vgm-bench-ha-"))
    login = prepare(folder, scenario, port)
    quiet = (folder / "configuration.yaml").read_text(encoding="utf-8").replace(": info", ": warning")
    (folder / "configuration.yaml").write_text(quiet, encoding="utf-8")
    base = f"http://127.0.0.1:{port}"
    results: list[Figures] = []
    async with Simulator(scenario, latency_ms=LATENCY_MS) as gx:
        try:
            async with home_assistant(folder) as hass, aiohttp.ClientSession() as session:
                api = HomeAssistantApi(session, base)
                async with asyncio.timeout(120):
                    await api.wait_until_up()
                await api.log_in(login.username, login.password)
                ws = await api.websocket()
                await ws.subscribe_state_changes()
                await asyncio.sleep(10)  # let start-up settle
                idle = Baseline.of(await _measure(hass.pid, ws, cycles))
                entry_id = (await api.add_gx(gx.host, gx.port))["entry_id"]
                sweeping = await _selection(hass.pid, ws, entry_id, scenario, DURING_SWEEP, cycles, idle)
                if await api.sweep_percent(entry_id) >= 100:  # noqa: PLR2004 - percent
                    msg = f"{scenario}: the sweep ended before its measurement did"
                    raise RuntimeError(msg)
                await _wait_for_sweep(api, ws, entry_id)
                results.append(await _selection(hass.pid, ws, entry_id, scenario, DEFAULTS, cycles, idle))
                await ws.enable_every_entity(entry_id)
                await asyncio.sleep(ENABLE_RELOAD_WAIT_S)
                results.append(await _selection(hass.pid, ws, entry_id, scenario, EVERY, cycles, idle))
                results.append(sweeping)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return results


async def _run(args: argparse.Namespace) -> int:
    everything: list[Figures] = []
    for scenario in args.scenarios.split(","):
        figures = await _scenario(scenario, max(1, round(args.seconds / INTERVAL_S)))
        everything.extend(figures)
        if not args.json:
            for f in figures:
                print(
                    f"HA        {f.scenario:<16} {f.selection:<26} {f.enabled:>5}/{f.entities} entities: "
                    f"CPU {f.cpu_ms_per_s:5.2f} ms/s median, {f.cpu_ms_per_s_mean:5.2f} mean "
                    f"(idle {f.idle_cpu_ms_per_s:.2f}), "
                    f"loop {f.loop_ms_per_cycle_median:5.2f} ms/cycle median "
                    f"(max {f.loop_ms_per_cycle_max:.2f}), "
                    f"{f.state_writes_per_cycle:6.1f} state writes/cycle; "
                    f"ms/s loop {f.loop_ms_per_s:.2f}, core {f.core_ms_per_s:.2f}, "
                    f"other threads {f.other_ms_per_s:.2f}; "
                    f"per write: loop {f.loop_us_per_write:.1f} us, "
                    f"other threads {f.other_us_per_write:.1f} us",
                    flush=True,
                )
    if args.json:
        print(json.dumps([asdict(f) for f in everything], indent=1))
    return 0


def main() -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(prog="scripts/bench --ha", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="three-phase,large")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time per selection")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return asyncio.run(_run(args))


if __name__ == "__main__":
    sys.exit(main())
