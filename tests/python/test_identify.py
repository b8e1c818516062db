"""`Client.identify()`: the GX's serial and firmware in two reads and no exception reply."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from conftest import ROOT
from victron_gx_modbus import (
    Client,
    GXConnectionError,
    GXTimeoutError,
    ScanDataError,
    Simulator,
)

if TYPE_CHECKING:
    from pathlib import Path

MINIMAL = ROOT / "src" / "sim" / "scenarios" / "minimal.json"


@pytest.mark.parametrize("scenario", ["single-phase-ess", "three-phase", "old-firmware"])
async def test_identity_is_the_scans_gx_in_two_reads_without_an_exception(scenario: str) -> None:
    async with Simulator(scenario) as sim, Client(sim.host, sim.port) as client:
        identity = await client.identify()
        stats = sim.stats()
        assert (stats["requests"], stats["exceptions"]) == (2, 0)
        assert client.metrics()["requests"] == 2
        result = await client.scan()
        assert identity == {**result["gx"], "absent_exception": None}
        assert identity["serial"]
        assert identity["firmware"]
        assert identity["firmware"].startswith("v")
        sim.reset_stats()
        assert await client.identify(firmware=False) == {**identity, "firmware": None}
        assert sim.stats()["requests"] == 1


def scenario_file(tmp_path: Path, *, keep_system: bool) -> str:
    """The minimal scenario with a system service that has no serial, or without one."""
    scenario = json.loads(MINIMAL.read_text())
    if keep_system:
        del scenario["devices"][0]["serial"]
    else:
        scenario["devices"] = [d for d in scenario["devices"] if d["service"] != "system"]
    path = tmp_path / "not-a-gx.json"
    path.write_text(json.dumps(scenario))
    return str(path)


@pytest.mark.parametrize(
    ("keep_system", "reason"), [(True, "empty serial"), (False, "answered exception 0x0a")]
)
async def test_unit_100_that_is_not_a_gx_is_scan_data_error(
    tmp_path: Path, *, keep_system: bool, reason: str
) -> None:
    async with (
        Simulator(scenario_file(tmp_path, keep_system=keep_system)) as sim,
        Client(sim.host, sim.port) as client,
    ):
        with pytest.raises(ScanDataError, match=f"not a GX device: .*{reason}"):
            await client.identify()
        assert sim.stats()["requests"] <= 2


async def test_a_silent_gx_is_a_timeout_and_no_gx_a_connection_error() -> None:
    async with Simulator("minimal") as sim:
        port = sim.port
        async with Client(sim.host, port, timeout=0.3) as client:
            sim.stall(2)
            with pytest.raises(GXTimeoutError):
                await client.identify()
    async with Client("127.0.0.1", port, connect_timeout=0.5) as client:
        with pytest.raises(GXConnectionError):
            await client.identify()
