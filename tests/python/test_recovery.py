"""A GX that reboots comes back whole: the first poll that reaches it reads every register."""

from __future__ import annotations

import asyncio
import time

from victron_gx_modbus import Client, Simulator


async def test_the_poll_that_finds_the_gx_back_has_every_register() -> None:
    async with (
        Simulator("three-phase") as sim,
        Client(sim.host, sim.port, timeout=1, connect_timeout=1) as client,
    ):
        await client.scan()
        assert not (await client.poll())["unavailable"]
        for _ in range(2):
            sim.reboot(0.5)
            await asyncio.sleep(0.02)
            lost = 0
            deadline = time.monotonic() + 10
            while (snapshot := await client.poll())["connection_lost"]:
                lost += 1
                assert time.monotonic() < deadline, "the GX never came back"
                await asyncio.sleep(0.01)
            assert lost >= 1
            assert snapshot["unavailable"] == []
            assert snapshot["failed"] == 0
        assert client.metrics()["reconnects"] >= 2
