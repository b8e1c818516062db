"""CPU of polling and of the background sweep: the core's threads and Python's, separately.

A plain `Client` (the defaults Home Assistant uses: 8 requests in flight, at
most 500 requests/s) polls the simulator, which runs in a process of its own
at 0 ms latency, so that this process holds only the client. CPU time is
read per thread from /proc/self/task/*/schedstat (ns): the core's threads
are its tokio runtime's (named `victron-gx-modbus`), Python's the main
thread (the event loop). Each figure is the median of `--runs` windows.

- Polling: every register of the scan polled `--polls` times per window,
  `--poll-gap` seconds apart (0.25: each poll wakes the core from idle and
  the requests stay well below the rate limit, as with Home Assistant's
  5 s interval): CPU and wall time per poll, and CPU per request.
- Sweep: the background sweep at each of `--sweep-rates` requests/s with a
  progress callback (as Home Assistant passes), while the client polls once
  a second; against the same polling without a sweep. Windows are whole
  seconds that start between two polls, so both hold the same polls, and
  alternate (sweep, none, sweep, ...).

Run by `scripts/bench core` after the Rust benchmark, or alone:
`.venv/bin/python scripts/cpu_bench.py [--scenarios three-phase,large]
[--polls 60] [--poll-gap 0.25] [--runs 5] [--sweep-rates 1,5,50] [--sweep-seconds 10]
[--sweep-scenario three-phase] [--json]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from victron_gx_modbus import Client, ScanProgress

CORE_THREAD = "victron-gx-mod"  # comm is cut at 15 characters
"""Name prefix of the core runtime's threads."""


@dataclass(slots=True)
class Cpu:
    """CPU time in ns: the core's threads, Python's main thread, and any other thread."""

    core: int = 0
    python: int = 0
    other: int = 0

    def __sub__(self, earlier: Cpu) -> Cpu:
        """The CPU spent since `earlier`."""
        return Cpu(self.core - earlier.core, self.python - earlier.python, self.other - earlier.other)


def cpu_now() -> Cpu:
    """CPU time of this process's threads so far, by kind."""
    cpu = Cpu()
    main = Path("/proc/self").resolve().name
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that just ended
            spent = int((task / "schedstat").read_text(encoding="utf-8").split()[0])
            if task.name == main:
                cpu.python += spent
            elif (task / "comm").read_text(encoding="utf-8").startswith(CORE_THREAD):
                cpu.core += spent
            else:
                cpu.other += spent
    return cpu


@dataclass(slots=True)
class PollFigures:
    """CPU and wall time of one scenario's polls (medians over the runs)."""

    scenario: str
    registers: int
    requests_per_poll: float
    wall_ms_per_poll: float
    core_ms_per_poll: float
    python_ms_per_poll: float
    core_us_per_request: float
    python_us_per_request: float
    runs: list[dict[str, float]]


@dataclass(slots=True)
class SweepFigures:
    """CPU per second the sweep adds to polling at one rate (medians over the runs)."""

    scenario: str
    rate: float
    probes_per_s: float
    core_ms_per_s: float
    python_ms_per_s: float
    total_ms_per_s: float
    progress_events_per_s: float
    runs: list[dict[str, float]]


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs (the runs share their keys, the figures' field names)."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


class Simulated:
    """The simulator in a process of its own (`python -m victron_gx_modbus simulate`)."""

    def __init__(self, scenario: str) -> None:
        """Describe the simulator; `start` runs it."""
        self.scenario = scenario
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start it on a free port and wait until it listens."""
        command = [sys.executable, "-m", "victron_gx_modbus", "simulate", "--scenario", self.scenario]
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*command, "--port", "0", "--latency-ms", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None  # noqa: S101 - piped above
        for line in self._process.stdout:
            if "listening on" in line:
                self.port = int(line.rsplit(":", 1)[1])
                return
        msg = f"the simulator of {self.scenario} did not start"
        raise RuntimeError(msg)

    def stop(self) -> None:
        """Stop it."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)


async def measure_polls(scenario: str, polls: int, runs: int, gap: float) -> PollFigures:
    """CPU per poll of every register of `scenario`, `runs` windows of `polls` polls."""
    sim = Simulated(scenario)
    sim.start()
    try:
        async with Client("127.0.0.1", sim.port) as client:
            await client.scan()
            for _ in range(20):  # the full and slow cycles, warm caches
                await client.poll()
            measured: list[dict[str, float]] = []
            for _ in range(runs):
                requests = 0
                wall = 0.0
                before = cpu_now()
                for _ in range(polls):
                    await asyncio.sleep(gap)
                    started = time.perf_counter()
                    snapshot = await client.poll()
                    wall += time.perf_counter() - started
                    requests += snapshot["requests"]
                    if snapshot["failed"]:
                        msg = f"{scenario}: {snapshot['failed']} failed requests in a poll"
                        raise RuntimeError(msg)
                spent = cpu_now() - before
                measured.append(
                    {
                        "requests_per_poll": requests / polls,
                        "wall_ms_per_poll": wall * 1e3 / polls,
                        "core_ms_per_poll": spent.core / 1e6 / polls,
                        "python_ms_per_poll": spent.python / 1e6 / polls,
                        "core_us_per_request": spent.core / 1e3 / requests,
                        "python_us_per_request": spent.python / 1e3 / requests,
                    }
                )
            registers = len(client.registers)
    finally:
        sim.stop()

    return PollFigures(scenario=scenario, registers=registers, **medians(measured), runs=measured)


async def _poll_every_second(client: Client, start: float, sent: list[int]) -> None:
    """Poll at `start`, `start` + 1 s, ... (on the loop's clock) until cancelled; count requests in `sent`."""
    loop = asyncio.get_running_loop()
    tick = 0
    while True:
        await asyncio.sleep(max(start + tick - loop.time(), 0))
        sent[0] += (await client.poll())["requests"]
        tick += 1


async def _window(seconds: int, start: float) -> Cpu:
    """CPU spent over `seconds` whole seconds starting at `start` (loop clock)."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(start - loop.time(), 0))
    before = cpu_now()
    await asyncio.sleep(max(start + seconds - loop.time(), 0))
    return cpu_now() - before


async def measure_sweep(scenario: str, rate: float, seconds: int, runs: int) -> SweepFigures:
    """CPU per second a sweep at `rate` adds to polling once a second on `scenario`."""
    sim = Simulated(scenario)
    sim.start()
    events = 0

    def on_step(_step: ScanProgress) -> None:
        nonlocal events
        events += 1

    measured: list[dict[str, float]] = []
    try:
        async with Client("127.0.0.1", sim.port) as client:
            result = await client.scan()
            loop = asyncio.get_running_loop()
            origin = math.ceil(loop.time()) + 1.0
            polled = [0]
            poller = asyncio.create_task(_poll_every_second(client, origin, polled))
            # Windows start half-way between two polls.
            at = origin + 0.5
            try:
                for _ in range(runs):
                    sweep = asyncio.create_task(client.sweep(result, rate=rate, progress=on_step))
                    at += 3.0  # the sweep's first reads (what the server serves) settle
                    await asyncio.sleep(max(at - loop.time(), 0))
                    requests_before, polled_before = client.metrics()["requests"], polled[0]
                    events_before = events
                    with_sweep = await _window(seconds, at)
                    polled_now = polled[0] - polled_before
                    probes = client.metrics()["requests"] - requests_before - polled_now
                    progress = events - events_before
                    at += seconds
                    sweep.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await sweep
                    at += 1.0
                    without = await _window(seconds, at)
                    at += seconds
                    added = with_sweep - without
                    measured.append(
                        {
                            "probes_per_s": probes / seconds,
                            "core_ms_per_s": added.core / 1e6 / seconds,
                            "python_ms_per_s": added.python / 1e6 / seconds,
                            "total_ms_per_s": (added.core + added.python + added.other) / 1e6 / seconds,
                            "progress_events_per_s": progress / seconds,
                        }
                    )
            finally:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
    finally:
        sim.stop()

    return SweepFigures(scenario=scenario, rate=rate, **medians(measured), runs=measured)


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="three-phase,large")
    parser.add_argument("--polls", type=int, default=60, help="polls per window")
    parser.add_argument("--poll-gap", type=float, default=0.25, help="seconds between two polls")
    parser.add_argument("--runs", type=int, default=5, help="windows per figure (the median is reported)")
    parser.add_argument("--sweep-rates", default="1,5,50", help="sweep rates in requests/s")
    parser.add_argument("--sweep-seconds", type=int, default=10, help="seconds per sweep window")
    parser.add_argument("--sweep-scenario", default="three-phase")
    parser.add_argument("--json", action="store_true")
    # `scripts/bench core` passes the Rust benchmark's options too: ignored here.
    options, _ = parser.parse_known_args()
    return options


async def main() -> None:
    """Measure and print."""
    options = _options()
    polls = [
        await measure_polls(name, options.polls, options.runs, options.poll_gap)
        for name in options.scenarios.split(",")
    ]
    sweeps = [
        await measure_sweep(options.sweep_scenario, float(rate), options.sweep_seconds, options.runs)
        for rate in options.sweep_rates.split(",")
    ]
    if options.json:
        print(
            json.dumps({"polls": [asdict(p) for p in polls], "sweeps": [asdict(s) for s in sweeps]}, indent=2)
        )
        return
    print(f"== CPU per poll (a plain Client, simulator in its own process at 0 ms; median of {options.runs})")
    print(
        f"{'scenario':<17} {'registers':>9} {'requests':>8} {'wall ms':>8} {'core ms':>8} {'python ms':>9}"
        f" {'core us/req':>11} {'python us/req':>13}"
    )
    for p in polls:
        print(
            f"{p.scenario:<17} {p.registers:>9} {p.requests_per_poll:>8.1f} {p.wall_ms_per_poll:>8.2f}"
            f" {p.core_ms_per_poll:>8.3f} {p.python_ms_per_poll:>9.3f} {p.core_us_per_request:>11.1f}"
            f" {p.python_us_per_request:>13.1f}"
        )
    print(
        f"== background sweep: CPU above polling once a second ({options.sweep_scenario}, "
        f"{options.sweep_seconds} s windows, median of {options.runs})"
    )
    print(
        f"{'rate/s':>6} {'probes/s':>8} {'core ms/s':>9} {'python ms/s':>11}"
        f" {'total ms/s':>10} {'events/s':>8}"
    )
    for s in sweeps:
        print(
            f"{s.rate:>6g} {s.probes_per_s:>8.2f} {s.core_ms_per_s:>9.3f} {s.python_ms_per_s:>11.3f}"
            f" {s.total_ms_per_s:>10.3f} {s.progress_events_per_s:>8.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
