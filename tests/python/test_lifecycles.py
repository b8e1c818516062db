"""Every process lifecycle exits 0, many times over, in fresh subprocesses.

A core thread that touches Python after the event loop closed (or while
the interpreter finalizes) crashes the process at exit, and only now and
then: hence many runs of each. `VGM_LIFECYCLE_RUNS` sets the runs per
lifecycle (default 50).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from lifecycles import ASYNC, SYNC
from victron_gx_modbus import Simulator

RUNS = int(os.environ.get("VGM_LIFECYCLE_RUNS", "50"))
PARALLEL = 4
SCRIPT = Path(__file__).with_name("lifecycles.py")
PER_RUN_TIMEOUT = 60


async def _run(command: list[str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), PER_RUN_TIMEOUT)
    except TimeoutError:
        process.kill()
        _, stderr = await process.communicate()
        return -1, "timed out\n" + stderr.decode(errors="replace")
    assert process.returncode is not None
    return process.returncode, stderr.decode(errors="replace")


async def _run_many(command: list[str], runs: int) -> list[tuple[int, str]]:
    gate = asyncio.Semaphore(PARALLEL)

    async def one() -> tuple[int, str]:
        async with gate:
            return await _run(command)

    return await asyncio.gather(*(one() for _ in range(runs)))


def _verdict(name: str, outcomes: list[tuple[int, str]]) -> None:
    failures = [(code, err) for code, err in outcomes if code != 0]
    if failures:
        code, stderr = failures[0]
        pytest.fail(
            f"{name}: {len(failures)} of {len(outcomes)} runs failed; first exit code {code}, "
            f"its stderr (faulthandler output included):\n{stderr}"
        )


@pytest.mark.parametrize("name", sorted([*ASYNC, *SYNC]))
async def test_lifecycle_exits_cleanly_every_time(name: str) -> None:
    async with Simulator("single-phase-ess") as sim:
        command = [sys.executable, "-X", "faulthandler", str(SCRIPT), name, sim.host, str(sim.port)]
        outcomes = await _run_many(command, RUNS)
    _verdict(name, outcomes)


async def test_watch_twice_exits_cleanly_every_time() -> None:
    async with Simulator("single-phase-ess") as sim:
        command = [
            sys.executable,
            "-X",
            "faulthandler",
            "-m",
            "victron_gx_modbus",
            "watch",
            f"{sim.host}:{sim.port}",
            "--count",
            "2",
            "--interval",
            "0.05",
        ]
        outcomes = await _run_many(command, RUNS)
    _verdict("watch --count 2", outcomes)
