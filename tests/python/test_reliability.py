"""The core under a GX's troubles: a flaky connection, a reboot in the middle of a scan or a poll."""

from __future__ import annotations

import asyncio

import pytest
from victron_gx_modbus import Client, GXConnectionError, Simulator


async def found(sim: Simulator) -> set[tuple[int, str]]:
    """The devices a quick scan of a healthy GX finds."""
    async with Client(sim.host, sim.port, max_rate=0) as client:
        return {(d["unit"], d["service"]) for d in (await client.scan())["devices"]}


async def test_a_scan_survives_a_gx_that_drops_the_connection_every_few_replies() -> None:
    async with Simulator("three-phase") as sim:
        healthy = await found(sim)
        sim.drop_every(20)
        before = sim.stats()["faults_injected"]
        async with Client(sim.host, sim.port, max_rate=0) as client:
            result = await client.scan()
            snapshots = [await client.poll() for _ in range(5)]
        assert sim.stats()["faults_injected"] - before >= 5, "the GX did drop connections"
        assert {(d["unit"], d["service"]) for d in result["devices"]} == healthy
        assert not any(s["connection_lost"] for s in snapshots)
        assert snapshots[-1]["unavailable"] == [], "every block is read again on a new connection"


async def test_a_reboot_in_the_middle_of_a_scan_is_a_clear_error_and_the_client_recovers() -> None:
    async with Simulator("three-phase", latency_ms=5) as sim:
        client = Client(sim.host, sim.port, timeout=0.5, connect_timeout=0.5)
        scan = asyncio.ensure_future(client.scan())
        await asyncio.sleep(0.15)
        sim.reboot(0.5)
        with pytest.raises(GXConnectionError):
            await scan
        await asyncio.sleep(1.0)  # the GX is back; the backoff has passed
        result = await client.scan()
        assert len(result["devices"]) >= 10
        await client.close()


async def test_a_reboot_in_the_middle_of_a_poll_is_reported_then_recovered() -> None:
    async with (
        Simulator("three-phase", latency_ms=20) as sim,
        Client(sim.host, sim.port, timeout=0.5, connect_timeout=0.5) as client,
    ):
        await client.scan()
        await client.poll()
        before = sim.stats()["requests"]
        poll = asyncio.ensure_future(client.poll())
        while sim.stats()["requests"] == before:  # noqa: ASYNC110 - until the poll is on the wire
            await asyncio.sleep(0.001)
        sim.reboot(0.3)  # its replies take 20 ms: the poll is still in flight
        interrupted = await poll
        assert interrupted["failed"] > 0 or interrupted["connection_lost"]
        async with asyncio.timeout(10):
            while (snapshot := await client.poll())["connection_lost"] or snapshot["unavailable"]:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
