"""Soak: hours of polling compressed into minutes, with faults, and resources required flat.

`scripts/soak [--scenario large] [--hours 8] [--interval 1] [--max-minutes 15]`
polls the simulator back to back as many times as `hours` of polling every
`interval` seconds would (8 h at 1 s: 28,800 polls), with the GX's usual
troubles mixed in (a cut reply every 1,000 polls, a stall every 2,500, a
reboot every 7,000). It reports resident memory, open file descriptors and
sockets, asyncio tasks, threads and the core's pending tasks after a
warm-up and at the end, and fails when any grew by 5% or more (memory) or
at all (the others), or when polling stopped recovering.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from dataclasses import dataclass

import psutil
from victron_gx_modbus import Client, Simulator

WARM_UP_POLLS = 300
MEMORY_GROWTH = 0.05
FAULTS = {1_000: "cut", 2_500: "stall", 7_000: "reboot"}


@dataclass(frozen=True)
class Resources:
    """What the process holds."""

    rss_mib: float
    fds: int
    sockets: int
    tasks: int
    threads: int


def _resources() -> Resources:
    process = psutil.Process()
    return Resources(
        rss_mib=process.memory_info().rss / 2**20,
        fds=process.num_fds(),
        sockets=len(process.net_connections(kind="tcp")),
        tasks=len(asyncio.all_tasks()),
        threads=threading.active_count(),
    )


def _inject(sim: Simulator, poll: int) -> str | None:
    for every, fault in sorted(
        FAULTS.items(), reverse=True
    ):  # the rarest first: 7,000 is also a multiple of 1,000
        if poll % every == 0:
            if fault == "cut":
                sim.drop_next_replies(1)
            elif fault == "stall":
                sim.stall(1)
            else:
                sim.reboot(0.2)
            return fault
    return None


@dataclass
class Run:
    """What the polling loop saw."""

    polls: int = 0
    lost: int = 0
    incomplete: int = 0
    seconds: float = 0.0
    warmed_up: Resources | None = None


async def _poll(client: Client, sim: Simulator, polls: int, deadline: float) -> tuple[Run, dict[str, int]]:
    """Poll back to back with faults mixed in, until `polls` or the deadline."""
    run, injected = Run(), dict.fromkeys(FAULTS.values(), 0)
    started = time.monotonic()
    while run.polls < polls and time.monotonic() < deadline:
        run.polls += 1
        if (fault := _inject(sim, run.polls)) is not None:
            injected[fault] += 1
        snapshot = await client.poll()
        run.lost += snapshot["connection_lost"]
        run.incomplete += bool(snapshot["unavailable"])
        if snapshot["connection_lost"]:
            await asyncio.sleep(0.05)  # a real interval would pass before the next poll
        if run.polls == WARM_UP_POLLS:
            run.warmed_up = _resources()
    run.seconds = time.monotonic() - started
    return run, injected


def _problems(run: Run, start: Resources, end: Resources, polls: int, *, last_complete: bool) -> list[str]:
    problems = []
    if end.rss_mib > start.rss_mib * (1 + MEMORY_GROWTH):
        problems.append(f"memory grew {end.rss_mib / start.rss_mib - 1:.1%}")
    problems += [
        f"{name} grew from {getattr(start, name)} to {getattr(end, name)}"
        for name in ("fds", "sockets", "tasks", "threads")
        if getattr(end, name) > getattr(start, name)
    ]
    if not last_complete:
        problems.append("the last poll did not read every register")
    if run.polls < polls:
        problems.append(f"only {run.polls:,} of {polls:,} polls in time")
    return problems


async def _soak(args: argparse.Namespace) -> int:
    polls = round(args.hours * 3600 / args.interval)
    async with Simulator(args.scenario) as sim:
        client = Client(sim.host, sim.port, timeout=0.5, connect_timeout=0.5, max_rate=0)
        result = await client.scan()
        print(
            f"{args.scenario}: {len(result['devices'])} devices, {len(client.registers)} registers; "
            f"{polls:,} polls ({args.hours:g} h at {args.interval:g} s)",
            flush=True,
        )
        run, injected = await _poll(client, sim, polls, time.monotonic() + args.max_minutes * 60)
        final = await client.poll()
        end = _resources()
        await client.close()
    if run.warmed_up is None:
        print("soak: too few polls to measure", file=sys.stderr)
        return 1
    print(
        f"polled {run.polls:,} times in {run.seconds / 60:.1f} min ({run.polls / run.seconds:.0f}/s); "
        f"faults injected {injected}; polls with the GX lost {run.lost}, "
        f"with some register unavailable {run.incomplete}"
    )
    print(f"{'':<10}{'after warm-up':>14}{'at the end':>12}")
    for name in ("rss_mib", "fds", "sockets", "tasks", "threads"):
        print(f"{name:<10}{getattr(run.warmed_up, name):>14.1f}{getattr(end, name):>12.1f}")
    complete = not (final["unavailable"] or final["connection_lost"])
    problems = _problems(run, run.warmed_up, end, polls, last_complete=complete)
    for problem in problems:
        print(f"soak: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    """Run the soak."""
    parser = argparse.ArgumentParser(prog="scripts/soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="large")
    parser.add_argument("--hours", type=float, default=8.0, help="polling time to compress")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval it stands for (s)")
    parser.add_argument("--max-minutes", type=float, default=15.0, help="wall-time bound")
    return asyncio.run(_soak(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
