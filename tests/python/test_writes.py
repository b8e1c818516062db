"""Guarded writes through the Python API, with the simulator's write log as the evidence."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING

import pytest
from victron_gx_modbus import (
    Client,
    DeviceException,
    Limits,
    LimitsError,
    Simulator,
    VictronError,
    WriteRefused,
    ledger,
)

if TYPE_CHECKING:
    from victron_gx_modbus import Register
    from victron_gx_modbus.simulator import WriteLogEntry

pytestmark = pytest.mark.usefixtures("socket_enabled")

THREE_PHASE = Limits(ac_voltage=230, phases="three", ac_current=25, dc_current=100, battery="lifepo4_16s")
SINGLE = Limits(ac_voltage=230, phases="single", ac_current=25, dc_current=100, battery="lifepo4_16s")


# The limits themselves.


def test_limits_are_frozen_and_round_trip() -> None:
    assert Limits(**THREE_PHASE.as_dict()) == THREE_PHASE
    assert THREE_PHASE.derived()["ac_power_phase"] == 5750
    assert THREE_PHASE.derived()["ac_power_total"] == 17250
    with pytest.raises(AttributeError):
        THREE_PHASE.ac_current = 32  # type: ignore[misc]
    custom = Limits(
        ac_voltage=120,
        phases="split",
        ac_current=30,
        dc_current=200,
        battery="custom",
        battery_min_voltage=44,
        battery_max_voltage=57.6,
        power_limit=5000,
        power_per_phase=False,
    )
    assert custom.derived() == {
        "ac_power_phase": 3600,
        "ac_power_total": 5000,
        "dc_voltage_min": 44,
        "dc_voltage_max": 57.6,
        "dc_power": 200 * 57.6,
    }
    assert "split" in repr(custom)


@pytest.mark.parametrize(
    ("changes", "option"),
    [
        ({"ac_current": 0}, "ac_current"),
        ({"ac_current": math.nan}, "ac_current"),
        ({"dc_current": -1}, "dc_current"),
        ({"ac_voltage": 5}, "ac_voltage"),
        ({"ac_voltage": math.inf}, "ac_voltage"),
        ({"phases": "four"}, "phases"),
        ({"battery": "nicad"}, "battery"),
        ({"battery": "custom"}, "battery"),
        ({"battery": "custom", "battery_min_voltage": 58, "battery_max_voltage": 44}, "battery_min_voltage"),
        ({"battery": "custom", "battery_min_voltage": 5, "battery_max_voltage": 14}, "battery_min_voltage"),
        ({"power_limit": 0}, "power_limit"),
    ],
)
def test_nonsense_limits_are_refused(changes: dict[str, object], option: str) -> None:
    options = {**SINGLE.as_dict(), **changes}
    with pytest.raises(LimitsError) as refused:
        Limits(**options)
    assert refused.value.option == option
    assert isinstance(refused.value, VictronError)
    assert isinstance(refused.value, ValueError)


def test_ranges_come_from_the_core() -> None:
    client = Client("127.0.0.1", 1, limits=SINGLE)
    assert client.writes_enabled
    assert client.write_range(227, "vebus", "hub4_l1_ac_power_setpoint") == (-5750.0, 5750.0, 1.0)
    assert client.write_range(227, "vebus", "hub4_l2_ac_power_setpoint") == (0.0, 0.0, 1.0)
    coarse = client.write_range(100, "settings", "settings_cgwacs_ac_power_set_point_2703")
    assert coarse == (-5700.0, 5700.0, 100.0)
    assert client.write_range(227, "vebus", "custom_name") == (0.0, 16.0, 1.0)
    info = client.write_info(227, "vebus", "mode")
    assert info["allowed"] == [1, 2, 3, 4]
    assert "AC power per phase: 230" in client.write_info(227, "vebus", "hub4_l1_ac_power_setpoint")["reason"]
    with pytest.raises(WriteRefused, match="read-only"):
        client.write_range(227, "vebus", "ac_active_in_l1_v")


def test_without_limits_nothing_is_writable() -> None:
    client = Client("127.0.0.1", 1)
    assert not client.writes_enabled
    with pytest.raises(WriteRefused, match="writes are not enabled") as refused:
        client.write_range(227, "vebus", "mode")
    assert refused.value.bounds == (None, None)


async def test_a_client_without_limits_sends_no_write() -> None:
    async with Simulator("single-phase-ess") as sim, Client(sim.host, sim.port) as client:
        with pytest.raises(WriteRefused):
            await client.write(227, "vebus", "hub4_l1_ac_power_setpoint", 0)
        assert sim.stats()["requests"] == 0


# Every writable register of every bundled scenario, at and past its ends.


def _values(
    low: float, high: float, step: float, allowed: list[int] | None
) -> tuple[list[float], list[float]]:
    """Values to accept (the ends) and to refuse (one step past each end)."""
    if allowed is not None:
        outside = [float(code) for code in (min(allowed) - 1, max(allowed) + 1) if code >= 0]
        return [float(min(allowed)), float(max(allowed))], outside
    return [low, high], [low - step, high + step]


def _arrived(entry: WriteLogEntry, register: dict[str, object], value: float | str) -> bool:
    if isinstance(value, str):
        return entry["text"] == value
    scale = float(register["scale"])  # type: ignore[arg-type]
    return entry["value"] is not None and abs(entry["value"] - value) <= 0.5 / abs(scale)


def _is_sentinel(register: Register, value: float) -> bool:
    """Whether a value is one the ledger shows as "not available" (e.g. -1 = no limit)."""
    half_step = 0.5 / abs(float(register["scale"]))
    return any(abs(value - sentinel["value"]) < half_step for sentinel in register["sentinels"])


async def _write_everything(scenario: str) -> int:
    written = 0
    async with Simulator(scenario) as sim, Client(sim.host, sim.port, limits=THREE_PHASE) as client:
        result = await client.scan()
        for device in result["devices"]:
            unit, service = device["unit"], device["service"]
            for register in ledger()[service]["registers"]:
                if not register["writable"] or register["key"] in device["unsupported"]:
                    continue
                key = register["key"]
                info = client.write_info(unit, service, key)
                if info["text"]:
                    inside: list[float | str] = ["", "x" * int(info["max"])]
                    outside: list[float | str] = ["x" * (int(info["max"]) + 1)]
                else:
                    ends, past = _values(info["min"], info["max"], info["step"], info["allowed"])
                    inside, outside = list(ends), list(past)
                for value in outside:
                    before = len(sim.writes())
                    with pytest.raises(WriteRefused) as refused:
                        await client.write(unit, service, key, value)
                    assert refused.value.register == f"{unit}/{service}/{key}"
                    assert len(sim.writes()) == before, f"{key} {value!r} reached the GX"
                for value in inside:
                    back = await client.write(unit, service, key, value)
                    entry = sim.writes()[-1]
                    assert (entry["unit"], entry["key"]) == (unit, key)
                    assert _arrived(entry, dict(register), value), (key, value, entry)
                    if isinstance(value, str):
                        assert back == value
                    elif _is_sentinel(register, value):
                        assert back is None, (key, value, back)  # read back as polls show it: unknown
                    else:
                        assert back == pytest.approx(value, abs=info["step"] / 2)
                    written += 1
        stats = sim.stats()
        assert stats["exceptions"] == result["stats"]["failed_requests"]  # writes cost no exception
    return written


@pytest.mark.parametrize("scenario", Simulator.scenarios())
async def test_every_writable_register_at_its_ends(scenario: str) -> None:
    async with asyncio.timeout(120):
        written = await _write_everything(scenario)
    assert written > 0


# Signed and 32-bit setpoints.


@pytest.mark.parametrize(
    ("unit", "service", "key", "value", "words"),
    [
        (100, "settings", "settings_cgwacs_ac_power_set_point", -5000, [0xEC78]),  # ESS grid setpoint
        (100, "settings", "settings_cgwacs_ac_power_set_point_2703", -17200, [0xFF54]),  # scale 0.01
        (100, "settings", "settings_cgwacs_max_feed_in_power", 17250, [0x0000, 0x4362]),
        (227, "vebus", "hub4_l1_ac_power_setpoint_37", -5750, [0xE98A]),
        (227, "vebus", "hub4_l2_ac_power_setpoint_40", -1, [0xFFFF]),
        (227, "vebus", "hub4_l3_ac_power_setpoint_41", 5750, [0x1676]),
        (227, "vebus", "hub4_l1_ac_power_setpoint", -5750, [0xFFFF, 0xE98A]),
        (227, "vebus", "hub4_l2_ac_power_setpoint", -35, [0xFFFF, 0xFFDD]),
        (227, "vebus", "hub4_l3_ac_power_setpoint", 5750, [0x0000, 0x1676]),
        (227, "vebus", "ac_active_in_current_limit", 16.5, [165]),
    ],
)
async def test_signed_and_32_bit_setpoints_arrive_exactly(
    unit: int, service: str, key: str, value: float, words: list[int]
) -> None:
    async with Simulator("single-phase-ess") as sim, Client(sim.host, sim.port, limits=THREE_PHASE) as client:
        assert await client.write(unit, service, key, value) == value
        log = sim.writes()
        by_function = sim.stats()["by_function"]
    assert [entry["words"] for entry in log] == [words]
    assert by_function.get("16" if len(words) == 2 else "6") == 1
    assert set(by_function) == {"3", "16" if len(words) == 2 else "6"}


async def test_a_refusal_names_register_value_and_bounds() -> None:
    async with Simulator("single-phase-ess") as sim, Client(sim.host, sim.port, limits=SINGLE) as client:
        with pytest.raises(WriteRefused) as refused:
            await client.write(227, "vebus", "hub4_l1_ac_power_setpoint", -35000)
        assert sim.stats()["requests"] == 0
    error = refused.value
    assert (error.register, error.address, error.value) == ("227/vebus/hub4_l1_ac_power_setpoint", 96, -35000)
    assert error.bounds == (-5750.0, 5750.0)
    assert error.step == 1
    assert "-35000" in str(error)
    assert "5750" in str(error)


async def test_a_write_is_logged_with_old_and_new_value(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="victron_gx_modbus")
    async with Simulator("single-phase-ess") as sim, Client(sim.host, sim.port, limits=SINGLE) as client:
        await client.write(227, "vebus", "hub4_l1_ac_power_setpoint", -1200)
        await asyncio.sleep(0.05)  # let the loop hand over the core's log records
    records = [r for r in caplog.records if r.name.startswith("victron_gx_modbus.guard")]
    lines = [r.getMessage() for r in records]
    assert lines == ["wrote 227/vebus/hub4_l1_ac_power_setpoint (address 96): 50 W -> -1200 W"]
    assert all(r.levelno == logging.INFO for r in records)


async def test_an_offline_device_is_a_device_exception() -> None:
    async with Simulator("single-phase-ess") as sim, Client(sim.host, sim.port, limits=SINGLE) as client:
        await sim.set_present("multi", present=False)
        with pytest.raises(DeviceException) as failed:
            await client.write(227, "vebus", "hub4_l1_ac_power_setpoint", 10)
        assert sim.writes() == []
    assert failed.value.code == 0x0A


async def test_a_dragged_slider_sends_its_first_and_last_value() -> None:
    async with (
        Simulator("single-phase-ess", latency_ms=10) as sim,
        Client(sim.host, sim.port, limits=SINGLE) as client,
    ):
        values = [step * 100 for step in range(1, 31)]
        outcomes = await asyncio.gather(
            *(client.write(227, "vebus", "hub4_l1_ac_power_setpoint", v) for v in values)
        )
        log = [entry["value"] for entry in sim.writes()]
    assert len(log) <= 2
    assert log[-1] == values[-1]
    assert outcomes[-1] == values[-1]
