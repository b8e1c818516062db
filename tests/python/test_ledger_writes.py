"""Every writable register's write bound matches its unit, and every range fits its type."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

import pytest
from conftest import REFERENCE
from register_import.metadata import physical_bound
from victron_gx_modbus import ledger

if TYPE_CHECKING:
    from victron_gx_modbus.ledger import Register

GX_MAP = REFERENCE / "dbus-modbustcp-attributes.csv"
RAW_BOUNDS = {
    "uint16": (0, 0xFFFF),
    "int16": (-0x8000, 0x7FFF),
    "uint32": (0, 0xFFFF_FFFF),
    "int32": (-0x8000_0000, 0x7FFF_FFFF),
    "uint64": (0, 0xFFFF_FFFF_FFFF_FFFF),
}
# HA unit -> the physical bound before the AC/DC and setpoint/limit split.
BY_UNIT = {
    "W": "ac_power",
    "A": "ac_current",
    "V": "ac_voltage",
    "%": "percentage",
    "Hz": "frequency",
    "kWh": "energy",
    "s": "duration",
    "min": "duration",
    "h": "duration",
    "d": "duration",
    "°C": "temperature",
    "Ah": "charge",
    "m³": "volume",
}
# Units the GX's own map gives that are a physical quantity (a number register must carry one too).
PHYSICAL = {"W", "kW", "A", "V", "Hz", "%", "kWh", "A AC", "A DC", "V AC", "V DC"}


def _writable() -> list[tuple[str, Register]]:
    return [(name, r) for name, service in ledger().items() for r in service["registers"] if r["writable"]]


def _expected_bound(register: Register) -> set[str]:
    platform = register["ha"]["platform"]
    if platform in {"select", "switch", "button"}:
        return {"enum"}
    if platform == "text":
        return {"text_length"}
    unit = register["ha"]["unit"]
    if unit is None:
        return {"register_range", "timestamp"}
    if unit in {"s", "min", "h"}:
        return {"duration", "time_of_day"}
    base = BY_UNIT[unit]
    return {physical_bound(base, register["dbus_path"] or "", register["unit"] or "")}


def test_there_are_136_writable_registers() -> None:
    assert len(_writable()) == 136


def _id(value: object) -> str:
    return value if isinstance(value, str) else str(value["key"])  # type: ignore[index]


@pytest.mark.parametrize(("service", "register"), _writable(), ids=_id)
def test_the_bound_matches_the_unit(service: str, register: Register) -> None:
    write = register["ha"]["write"]
    assert write is not None
    assert write["kind"] == register["ha"]["platform"]
    assert write["bound"] in _expected_bound(register), f"{service} {register['address']}"


def test_named_fixes_hold() -> None:
    """The bounds this review corrected (each was wrong before)."""
    by_key = {(service, r["address"]): r for service, r in _writable()}
    bound = {key: r["ha"]["write"]["bound"] for key, r in by_key.items() if r["ha"]["write"]}
    assert bound["vebus", 210] == "ac_voltage"  # droop U0 is an AC voltage
    assert bound["settings", 2713] == bound["settings", 2714] == "ac_current"
    assert by_key["settings", 2713]["unit"] == by_key["settings", 2714]["unit"] == "A"
    assert bound["settings", 5428] == "timestamp"
    assert by_key["settings", 5428]["range"] == [-(2**31), 2**31 - 1]
    limits = [("vebus", 66), ("vebus", 67), ("vebus", 68), ("pvinverter", 1056)]
    limits += [("settings", 2704), ("settings", 2706), ("settings", 2720), ("settings", 2722)]
    assert {bound[key] for key in limits} == {"ac_power_limit"}


def test_every_range_fits_its_type_after_scale() -> None:
    for name, service in ledger().items():
        for register in service["registers"]:
            bounds = RAW_BOUNDS.get(register["type"])
            if register["range"] is None or bounds is None:
                continue
            scale = register["scale"]
            low, high = sorted(bound / scale for bound in bounds)
            tolerance = 1e-9 * max(1.0, abs(low), abs(high))
            assert low - tolerance <= register["range"][0] <= register["range"][1] <= high + tolerance, (
                f"{name} {register['address']} {register['key']}: {register['range']} vs {register['type']}"
            )


@pytest.mark.skipif(not GX_MAP.is_file(), reason="the GX's own map is not beside the repository")
def test_a_number_has_the_unit_the_gx_serves() -> None:
    """A writable number whose GX map names a physical unit carries a unit (2713/2714 had none)."""
    with GX_MAP.open(encoding="utf-8") as handle:
        served = {
            (row[0].rsplit(".", 1)[-1], int(row[4])): row[3]
            for row in csv.reader(handle)
            if len(row) >= 8 and row[4].isdigit()
        }
    for service, register in _writable():
        gx_unit = served.get((service, register["address"]))
        if register["ha"]["platform"] == "number" and gx_unit in PHYSICAL:
            assert register["ha"]["unit"] is not None, f"{service} {register['address']} ({gx_unit})"
