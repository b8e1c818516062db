"""The client driven from Home Assistant's own event loop against the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import time
from typing import TYPE_CHECKING, Self

import psutil
import pytest
from victron_gx_modbus import (
    Client,
    DeviceException,
    GXConnectionError,
    ScanDataError,
    ScanProgress,
    Simulator,
    _bridge,
    register_id,
)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant


class LoopLagMonitor:
    """Measures how late a 5 ms ticker runs: a blocked loop shows as lag."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, loop.time() - before - 0.005)

    def __enter__(self) -> Self:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()


def connections_to(port: int) -> int:
    return sum(
        1
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
    )


async def test_scan_and_a_hundred_polls_inside_home_assistant(hass: HomeAssistant) -> None:
    """Home Assistant's blocking-call detection is on (conftest): a blocking call raises."""
    async with Simulator("single-phase-ess", latency_ms=1) as sim:
        threads_before = threading.active_count()
        events: list[ScanProgress] = []
        with LoopLagMonitor() as lag:
            client = Client(sim.host, sim.port, timeout=2)
            result = await client.scan(progress=events.append)
            await asyncio.sleep(0)  # let the last progress callback run
            snapshots = [await client.poll() for _ in range(100)]
            await client.close()
        assert {(d["unit"], d["service"]) for d in result["devices"]} >= {(227, "vebus"), (226, "battery")}
        assert events
        assert events[-1]["phase"] == "done"
        assert all(s["failed"] == 0 for s in snapshots)
        assert snapshots[-1]["values"]["226/battery/custom_name"] == "House bank"
        assert lag.worst < 0.05, f"the event loop stalled for {lag.worst * 1000:.0f} ms"
        assert connections_to(sim.port) == 0
        assert threading.active_count() <= threads_before
        assert hass.is_running


async def test_a_stored_scan_result_is_reused_without_probing() -> None:
    async with Simulator("three-phase") as sim:
        async with Client(sim.host, sim.port) as first:
            result = await first.scan()
        sim.reset_stats()
        async with Client(sim.host, sim.port) as second:
            await second.use_scan(result)
            snapshot = await second.poll()
        assert snapshot["failed"] == 0
        assert sim.stats()["exceptions"] == 0
        assert sim.stats()["requests"] == snapshot["requests"]
        assert any(r["service"] == "evcharger" for r in second.registers)


async def test_unreachable_gx_is_a_connection_error_and_poll_reports_loss() -> None:
    async with Simulator("minimal") as sim:
        port = sim.port
        client = Client(sim.host, port, timeout=0.5, connect_timeout=0.5)
        await client.scan()
    # The simulator is gone: polling does not raise, it reports the loss.
    snapshot = await client.poll()
    assert snapshot["connection_lost"]
    assert set(snapshot["unavailable"]) == set(snapshot["values"])
    with pytest.raises(GXConnectionError):
        await client.read_registers(100, 840)
    await client.close()
    fresh = Client("127.0.0.1", port, timeout=0.5, connect_timeout=0.5)
    with pytest.raises(GXConnectionError):
        await fresh.scan()
    await fresh.close()


async def test_device_exceptions_carry_the_modbus_code() -> None:
    async with Simulator("single-phase-ess") as sim, Client(sim.host, sim.port) as client:
        with pytest.raises(DeviceException) as caught:
            await client.read_registers(100, 259)
        assert caught.value.code == 0x0A
        assert await client.read_registers(100, 2700) == [50]


async def test_misuse_is_a_clear_error() -> None:
    client = Client("127.0.0.1", 1)
    with pytest.raises(ScanDataError, match="scan"):
        await client.poll()
    with pytest.raises(ScanDataError, match="unreadable"):
        await client.use_scan({"version": 1})  # type: ignore[typeddict-item]
    with pytest.raises(ValueError, match="timeout"):
        Client("127.0.0.1", timeout=0)
    with pytest.raises(ValueError, match="mode"):
        await client.scan(mode="everything")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="port must be 1-65535, got 70000"):
        Client("127.0.0.1", 70000)
    with pytest.raises(ValueError, match="port must be 1-65535, got 0"):
        Client("127.0.0.1", 0)
    await client.close()


async def test_a_closed_client_says_so() -> None:
    async with Simulator("minimal") as sim:
        client = Client(sim.host, sim.port)
        await client.scan()
        await client.close()
        assert client.closed
        with pytest.raises(GXConnectionError, match="closed"):
            await client.poll()
        with pytest.raises(GXConnectionError, match="closed"):
            await client.read_registers(100, 840)
        await client.close()  # idempotent


async def test_close_ends_a_poll_in_flight_and_waits_for_it() -> None:
    async with Simulator("single-phase-ess") as sim:
        client = Client(sim.host, sim.port, timeout=3)
        await client.scan()
        sim.stall(100)  # the poll's requests get no reply
        poll = asyncio.ensure_future(client.poll())
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await client.close()
        assert time.monotonic() - started < 1
        assert poll.done()
        with pytest.raises(GXConnectionError, match="closed"):
            await poll
        sim.clear_faults()


async def test_a_raising_progress_callback_ends_the_scan_with_its_error() -> None:
    calls = 0

    def broken(_: ScanProgress) -> None:
        nonlocal calls
        calls += 1
        msg = "progress display failed"
        raise RuntimeError(msg)

    async with Simulator("single-phase-ess", latency_ms=2) as sim, Client(sim.host, sim.port) as client:
        with pytest.raises(RuntimeError, match="progress display failed"):
            await client.scan(progress=broken)
        await asyncio.sleep(0.1)
        assert calls == 1
        result = await client.scan()  # the client is still usable
        assert result["devices"]


async def test_cancelling_a_poll_aborts_the_work_behind_it() -> None:
    async with Simulator("single-phase-ess") as sim, Client(sim.host, sim.port, timeout=2) as client:
        await client.scan()
        sim.stall(100)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await client.poll()
        sim.clear_faults()
        assert _bridge._bridges[asyncio.get_running_loop()].core.pending() == 0
        snapshot = await client.poll()  # a later poll works
        assert not snapshot["connection_lost"]


async def test_cancelling_a_scan_leaves_the_client_usable() -> None:
    async with Simulator("large", latency_ms=5) as sim, Client(sim.host, sim.port) as client:
        task = asyncio.ensure_future(client.scan(mode="deep"))
        await asyncio.sleep(0.2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        started = time.monotonic()
        result = await client.scan()
        assert len(result["devices"]) > 20
        assert time.monotonic() - started < 10
        metrics = client.metrics()
        assert metrics["requests"] > 0
        assert metrics["latency_ms"]["p50"] >= 4.0


async def test_a_client_dropped_without_close_releases_its_connection() -> None:
    async with Simulator("single-phase-ess") as sim:
        client = Client(sim.host, sim.port)
        await client.scan()
        await client.poll()
        assert connections_to(sim.port) == 1
        del client
        gc.collect()
        for _ in range(50):
            if sim.stats()["connections_open"] == 0:
                break
            await asyncio.sleep(0.02)
        assert connections_to(sim.port) == 0
        assert sim.stats()["connections_open"] == 0


async def test_core_log_records_reach_python_logging(caplog: pytest.LogCaptureFixture) -> None:
    async with Simulator("minimal") as sim:
        port = sim.port
        client = Client(sim.host, port, timeout=0.5, connect_timeout=0.5)
        await client.scan(unit_ids=[100])
    with caplog.at_level(logging.INFO, logger="victron_gx_modbus"):
        await client.poll()  # the GX is gone: the core logs the lost connection
        await client.close()
    assert any(
        record.name.startswith("victron_gx_modbus.") and record.levelno == logging.WARNING
        for record in caplog.records
    ), caplog.text


async def test_only_the_named_registers_are_planned_and_read() -> None:
    async with Simulator("three-phase") as sim:
        async with Client(sim.host, sim.port) as scanner:
            result = await scanner.scan()
            everything = len(scanner.registers)
        wanted = {"100/system/dc_battery_soc", "100/system/ac_grid_l1_power", "100/system/ac_grid_l2_power"}
        wanted &= {f"{r['unit']}/{r['service']}/{r['key']}" for r in scanner.registers}
        assert len(wanted) == 3, "the ledger's keys changed: pick others"
        async with Client(sim.host, sim.port) as client:
            await client.use_scan(result, only=[*wanted, "999/nothing/here"])
            assert {f"{r['unit']}/{r['service']}/{r['key']}" for r in client.registers} == wanted
            sim.reset_stats()
            snapshot = await client.poll()
        assert set(snapshot["values"]) == wanted
        assert snapshot["failed"] == 0
        assert sim.stats()["requests"] == snapshot["requests"] <= 2
        assert everything > 500


async def test_a_new_read_plan_never_mixes_with_a_poll_in_flight() -> None:
    async with Simulator("three-phase") as sim, Client(sim.host, sim.port) as client:
        result = await client.scan()
        few = [register_id(r["unit"], r["service"], r["key"]) for r in client.registers[:5]]
        await client.use_scan(result, only=few)

        async def keep_polling() -> list[int]:
            return [len((await client.poll())["values"]) for _ in range(20)]

        polling = asyncio.create_task(keep_polling())
        for only in (None, few, None):  # the plan grows and shrinks while polls run
            await asyncio.sleep(0)
            await client.use_scan(result, only=only)
        sizes = await polling
        assert set(sizes) <= {len(few), len(client.registers)}
        assert len((await client.poll())["values"]) == len(client.registers)
