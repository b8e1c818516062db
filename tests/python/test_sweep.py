"""Client.sweep and Client.search: a bounded rate, a rebooting GX, cancelling; searching on evidence."""

from __future__ import annotations

import asyncio
import math

import pytest
from victron_gx_modbus import Client, ScanProgress, Simulator


async def test_sweep_finds_a_device_connected_after_the_scan() -> None:
    async with Simulator("single-phase-ess", latency_ms=0) as sim, Client(sim.host, sim.port) as client:
        await sim.set_present("water", present=False)
        scan = await client.scan()
        await sim.set_present("water", present=True)
        steps: list[str] = []
        swept = await client.sweep(scan, rate=math.inf, progress=lambda step: steps.append(step["phase"]))
    assert [(found["unit"], found["service"]) for found in swept["found"]] == [(20, "tank")]
    assert len(swept["result"]["devices"]) == len(scan["devices"]) + 1
    assert swept["stats"]["requests"] > swept["stats"]["probes"] > 3000
    assert steps[0] == "sweeping"
    assert steps[-1] == "done"


async def test_a_cancelled_sweep_sends_nothing_more() -> None:
    async with Simulator("minimal", latency_ms=0) as sim, Client(sim.host, sim.port) as client:
        scan = await client.scan()
        task = asyncio.create_task(client.sweep(scan, rate=100.0))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.05)
        before = sim.stats()["requests"]
        await asyncio.sleep(0.2)
        assert sim.stats()["requests"] == before


@pytest.mark.parametrize("rate", [0.0, -1.0, math.nan, 1e-30])
async def test_a_nonsense_rate_is_refused(rate: float) -> None:
    async with Simulator("minimal", latency_ms=0) as sim, Client(sim.host, sim.port) as client:
        scan = await client.scan()
        with pytest.raises(ValueError, match="rate"):
            await client.sweep(scan, rate=rate)


@pytest.mark.parametrize("patience", [-1.0, math.nan, math.inf, 86_401.0])
async def test_a_nonsense_patience_is_refused(patience: float) -> None:
    async with Simulator("minimal", latency_ms=0) as sim, Client(sim.host, sim.port) as client:
        scan = await client.scan()
        with pytest.raises(ValueError, match="patience"):
            await client.sweep(scan, patience=patience)


async def test_a_sweep_through_a_reboot_says_it_waited_and_finds_the_device() -> None:
    async with Simulator("single-phase-ess", latency_ms=0) as sim, Client(sim.host, sim.port) as client:
        await sim.set_present("water", present=False)
        scan = await client.scan()
        await sim.set_present("water", present=True)
        steps: list[str] = []

        def on_step(step: ScanProgress) -> None:
            # Progress comes at most once a second: reboot at the first step.
            if step["phase"] == "sweeping" and "sweeping" not in steps:
                sim.reboot(1.5)
            steps.append(step["phase"])

        swept = await client.sweep(scan, rate=math.inf, patience=30.0, progress=on_step)
    assert [(found["unit"], found["service"]) for found in swept["found"]] == [(20, "tank")]
    assert "waiting" in steps
    assert steps[-1] == "done"


async def test_evidence_names_a_charger_plugged_in_later_and_a_search_finds_it() -> None:
    async with Simulator("three-phase") as sim, Client(sim.host, sim.port, max_rate=0) as client:
        assert await client.unexplained() == []  # before any scan or poll
        await sim.set_present("mppt_garage", present=False)
        scan = await client.scan()
        await client.poll()
        assert await client.unexplained() == []
        await sim.set_present("mppt_garage", present=True)
        await client.poll()
        assert await client.unexplained() == ["solarcharger"]
        sim.reset_stats()
        outcome = await client.search(scan, "solarcharger", rate=math.inf)
        assert [(found["unit"], found["service"]) for found in outcome["found"]] == [(3, "solarcharger")]
        assert outcome["stats"]["failed_requests"] == sim.stats()["exceptions"] < 50
        with pytest.raises(ValueError, match="rate"):
            await client.search(scan, "solarcharger", rate=0)
