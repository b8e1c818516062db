"""The demo's day of history: the site model's hours become the statistics Home Assistant imports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from demo.history import statistics
from victron_gx_modbus import Client, Simulator, SimulatorError, decode, ledger

SERIAL = "c0619ab2a7d1"
START = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)


def sensor(entity_id: str, unit: str, state_class: str) -> dict[str, str]:
    return {"entity_id": entity_id, "unit": unit, "state_class": state_class}


SENSORS = {
    f"{SERIAL}_225_battery_soc": sensor("sensor.lynx_bms_state_of_charge", "%", "measurement"),
    f"{SERIAL}_30_grid_ac_l1_energy_forward": sensor("sensor.grid_energy_l1", "kWh", "total_increasing"),
    f"{SERIAL}_0_solarcharger_yield_power": sensor("sensor.mppt_0_pv_power", "W", "measurement"),
    # The GX serves its system service at unit 100 (the scenario's instance 0).
    f"{SERIAL}_100_system_ac_grid_l1_power": sensor("sensor.system_grid_l1", "W", "measurement"),
    # Shown in another unit than the core's: left out rather than converted.
    f"{SERIAL}_30_grid_ac_l2_energy_forward": sensor("sensor.grid_energy_l2", "MWh", "total_increasing"),
}


def test_a_day_of_hourly_statistics_for_the_sensors_the_history_covers() -> None:
    history = Simulator.history("three-phase", 24 * 3600 + 1800)
    messages = {m["metadata"]["statistic_id"]: m for m in statistics(history, SENSORS, SERIAL, START, 24)}
    assert set(messages) == {
        "sensor.lynx_bms_state_of_charge",
        "sensor.grid_energy_l1",
        "sensor.mppt_0_pv_power",
        "sensor.system_grid_l1",
    }
    grid_l1 = messages["sensor.system_grid_l1"]["stats"]
    assert all(row["min"] <= row["mean"] <= row["max"] for row in grid_l1)

    soc = messages["sensor.lynx_bms_state_of_charge"]
    assert soc["metadata"]["mean_type"] == 1
    assert not soc["metadata"]["has_sum"]
    assert [row["start"] for row in soc["stats"]] == [
        (START + timedelta(hours=k)).isoformat() for k in range(24)
    ]
    assert all(0 <= row["min"] <= row["mean"] <= row["max"] <= 100 for row in soc["stats"])
    assert len({round(row["mean"]) for row in soc["stats"]}) > 3, "the battery charges and discharges"

    grid = messages["sensor.grid_energy_l1"]
    assert grid["metadata"]["has_sum"]
    assert grid["metadata"]["unit_class"] == "energy"
    sums = [row["sum"] for row in grid["stats"]]
    assert sums == sorted(sums)
    assert sums[-1] - sums[0] > 1, "a day of grid import on L1"
    # The sums reach 0 where the history ends (the live simulator's start value),
    # where Home Assistant's own statistics begin theirs: the last half hour is still to come.
    (live_start,) = {
        s["last"][-1]
        for s in history["series"]
        if s["device"] == "grid" and s["key"] == "ac_l1_energy_forward"
    }
    assert sums[-1] < 0
    assert all(row["state"] - row["sum"] == pytest.approx(live_start) for row in grid["stats"])

    pv = messages["sensor.mppt_0_pv_power"]["stats"]
    assert min(row["max"] for row in pv) == 0, "a night"
    assert max(row["mean"] for row in pv) > 100, "a day"


@pytest.mark.usefixtures("socket_enabled")
async def test_the_history_ends_where_the_simulator_starts() -> None:
    history = Simulator.history("three-phase", 7200, bucket_seconds=600)
    counter = next(
        s for s in history["series"] if s["device"] == "grid" and s["key"] == "ac_l1_energy_forward"
    )
    assert len(counter["last"]) == 12
    assert counter["last"][0] < counter["last"][-1]
    register = next(r for r in ledger()["grid"]["registers"] if r["key"] == "ac_l1_energy_forward")
    async with Simulator("three-phase") as sim, Client(sim.host, sim.port) as client:
        words = await client.read_registers(30, register["address"], 2)
    live = decode(register["type"], register["scale"], words)
    assert isinstance(live, float)
    assert counter["last"][-1] == pytest.approx(live, abs=0.02), "the live GX carries on from the history"


def test_a_bad_span_is_a_clear_error() -> None:
    with pytest.raises(SimulatorError, match="1 s to 7 days"):
        Simulator.history("three-phase", 0)
    with pytest.raises(SimulatorError, match="no bundled scenario"):
        Simulator.history("nowhere", 3600)
