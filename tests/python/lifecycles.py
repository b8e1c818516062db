"""Process lifecycles that once crashed at exit, each run as `python lifecycles.py NAME HOST PORT`.

Every lifecycle ends the process in a way Home Assistant or a CLI user does:
leaving `asyncio.run` with work pending, closing a loop under a poll,
dropping a client without closing it. The process must exit 0; a crash in
a core thread shows as a non-zero exit code (the test runs it with
faulthandler on).
"""

from __future__ import annotations

import asyncio
import gc
import random
import sys
from typing import TYPE_CHECKING

from victron_gx_modbus import Client, Simulator

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine


def _client(host: str, port: int) -> Client:
    return Client(host, port, timeout=2, max_rate=0)


async def scan_poll_exit(host: str, port: int) -> None:
    """Scan, poll three times and leave `asyncio.run` without closing."""
    client = _client(host, port)
    await client.scan()
    for _ in range(3):
        await client.poll()


async def poll_cancelled(host: str, port: int) -> None:
    """Cancel a poll mid-flight (at a random moment), then exit."""
    async with _client(host, port) as client:
        await client.scan()
        task = asyncio.ensure_future(client.poll())
        await asyncio.sleep(random.uniform(0, 0.01))  # noqa: S311 - timing, not security
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def poll_pending_at_exit(host: str, port: int) -> None:
    """Leave `asyncio.run` while polls are in flight (asyncio cancels them)."""
    client = _client(host, port)
    await client.scan()
    for _ in range(3):
        asyncio.ensure_future(client.poll())  # noqa: RUF006 - left pending on purpose
    await asyncio.sleep(random.uniform(0, 0.005))  # noqa: S311


async def dropped_without_close(host: str, port: int) -> None:
    """Drop a client (with a poll in flight) without closing it."""
    client = _client(host, port)
    await client.scan()
    await client.poll()
    task = asyncio.ensure_future(client.poll())
    await asyncio.sleep(0)
    task.cancel()
    del client, task
    gc.collect()
    await asyncio.sleep(0.01)


async def simulator_start_stop(_host: str, _port: int) -> None:
    """Start an in-process simulator, scan it, stop it."""
    async with Simulator("minimal") as sim, Client(sim.host, sim.port, max_rate=0) as client:
        await client.scan(unit_ids=[100])
        await client.poll()


async def simulator_dropped(_host: str, _port: int) -> None:
    """Start an in-process simulator with a client connected and exit without stopping either."""
    sim = Simulator("minimal")
    await sim.start()
    client = Client(sim.host, sim.port, max_rate=0)
    await client.scan(unit_ids=[100])


async def gx_stalls_at_exit(_host: str, _port: int) -> None:
    """A GX that stops answering while the process exits with requests pending."""
    sim = Simulator("single-phase-ess")
    await sim.start()
    client = Client(sim.host, sim.port, timeout=5, max_rate=0)
    await client.scan()
    sim.stall(1000)
    for _ in range(2):
        asyncio.ensure_future(client.poll())  # noqa: RUF006 - left pending on purpose
    await asyncio.sleep(0.02)


def loop_closed_with_poll_pending(host: str, port: int) -> None:
    """Close the event loop by hand while a poll is pending (no cancellation)."""
    loop = asyncio.new_event_loop()
    client = _client(host, port)
    loop.run_until_complete(client.scan())
    pending = loop.create_task(client.poll())
    loop.run_until_complete(asyncio.sleep(random.uniform(0, 0.005)))  # noqa: S311
    loop.close()
    del pending


ASYNC: dict[str, Callable[[str, int], Coroutine[None, None, None]]] = {
    "scan_poll_exit": scan_poll_exit,
    "poll_cancelled": poll_cancelled,
    "poll_pending_at_exit": poll_pending_at_exit,
    "dropped_without_close": dropped_without_close,
    "simulator_start_stop": simulator_start_stop,
    "simulator_dropped": simulator_dropped,
    "gx_stalls_at_exit": gx_stalls_at_exit,
}
SYNC: dict[str, Callable[[str, int], None]] = {
    "loop_closed_with_poll_pending": loop_closed_with_poll_pending,
}


def main() -> None:
    """Run one lifecycle."""
    name, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if name in SYNC:
        SYNC[name](host, port)
    else:
        asyncio.run(ASYNC[name](host, port))


if __name__ == "__main__":
    main()
