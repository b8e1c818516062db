"""Entity categories and default enablement follow docs/ledger-metadata.md."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import ROOT
from register_import.ledger import load_ledger
from register_import.policy import is_error_detail, is_identity, is_retired

LEDGER = load_ledger(ROOT / "register_ledgers")
SCENARIOS = ROOT / "src" / "sim" / "scenarios"
LISTS = ("3.66", "rev53")  # the ledger's "since" labels, oldest first
PHASES = ("L1", "L2", "L3")


def _per_phase(*templates: str) -> list[str]:
    return [template.format(phase) for template in templates for phase in PHASES]


MUST_HAVE = {
    "system": [
        "/Dc/Battery/Soc",
        "/Dc/Battery/Voltage",
        "/Dc/Battery/Current",
        "/Dc/Battery/Power",
        "/Dc/Battery/State",
        "/Dc/Battery/TimeToGo",
        "/Dc/Pv/Power",
        *_per_phase(
            "/Ac/Consumption/{}/Power",
            "/Ac/Grid/{}/Power",
            "/Ac/PvOnGrid/{}/Power",
            "/Ac/PvOnOutput/{}/Power",
        ),
    ],
    "grid": ["/Ac/Energy/Forward", "/Ac/Energy/Reverse", *_per_phase("/Ac/{}/Power")],
    "vebus": [
        *_per_phase("/Ac/ActiveIn/{}/P", "/Ac/Out/{}/P"),
        "/State",
        "/Energy/AcIn1ToAcOut",
        "/Energy/AcIn1ToInverter",
        "/Energy/InverterToAcOut",
        "/Energy/InverterToAcIn1",
        "/Alarms/HighTemperature",
        "/Alarms/LowBattery",
        "/Alarms/Overload",
        "/Alarms/GridLost",
    ],
    "battery": [
        "/Soc",
        "/Dc/0/Voltage",
        "/Dc/0/Current",
        "/Dc/0/Power",
        "/Dc/0/Temperature",
        "/State",
        "/TimeToGo",
        "/Alarms/LowVoltage",
        "/Alarms/HighVoltage",
        "/Alarms/LowSoc",
        "/Alarms/HighTemperature",
        "/Alarms/LowCellVoltage",
    ],
    "solarcharger": ["/Yield/Power", "/Yield/User", "/State"],
    "pvinverter": ["/Ac/Power", *_per_phase("/Ac/{}/Energy/Forward")],
    "evcharger": ["/Ac/Power", "/Ac/Energy/Forward"],
}


def _registers() -> list[tuple[str, dict[str, Any]]]:
    return [(name, register) for name, service in LEDGER.items() for register in service["registers"]]


def _is_twin(register: dict[str, Any]) -> bool:
    """A narrower copy of a register the GX also serves wider (its key ends in its address)."""
    return str(register["key"]).endswith(f"_{register['address']}")


def _served(register: dict[str, Any], register_list: str) -> bool:
    return LISTS.index(register["since"]) <= LISTS.index(register_list)


def enabled_fraction(scenario: dict[str, Any]) -> tuple[int, int]:
    """(enabled by default, all) entities of the services a scenario lists."""
    default_list = scenario.get("gx", {}).get("register_list", LISTS[-1])
    enabled = total = 0
    for device in scenario["devices"]:
        register_list = device.get("register_list", default_list)
        served = [r for r in LEDGER[device["service"]]["registers"] if _served(r, register_list)]
        count = device.get("count", 1)
        total += count * len(served)
        enabled += count * sum(r["ha"]["enabled_by_default"] for r in served)
    return enabled, total


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.json")), ids=lambda path: path.stem)
def test_at_most_a_third_of_a_scenarios_entities_are_enabled(path: Any) -> None:
    enabled, total = enabled_fraction(json.loads(path.read_text(encoding="utf-8")))
    print(f"{path.stem}: {enabled} of {total} entities enabled by default ({enabled / total:.1%})")
    assert 0 < enabled <= total / 3


def test_the_three_phase_site_works_out_of_the_box() -> None:
    scenario = json.loads((SCENARIOS / "three-phase.json").read_text(encoding="utf-8"))
    present = {device["service"] for device in scenario["devices"]}
    assert MUST_HAVE.keys() <= present
    enabled = {(name, r["dbus_path"]) for name, r in _registers() if r["ha"]["enabled_by_default"]}
    missing = [
        (name, path) for name, paths in MUST_HAVE.items() for path in paths if (name, path) not in enabled
    ]
    assert missing == []


def test_every_setting_is_config_and_every_identity_or_error_register_diagnostic() -> None:
    wrong = []
    for name, register in _registers():
        category = register["ha"]["entity_category"]
        if register["writable"]:
            expected: str | None = "config"
        elif is_identity(register["dbus_path"], internal=register["internal"]) or is_error_detail(
            register["dbus_path"]
        ):
            expected = "diagnostic"
        else:
            continue
        if category != expected:
            wrong.append(f"{name} {register['address']} {register['dbus_path']}: {category}, not {expected}")
    assert wrong == []


def test_twins_and_retired_registers_are_disabled() -> None:
    enabled = [
        f"{name} {register['address']}"
        for name, register in _registers()
        if register["ha"]["enabled_by_default"]
        and (_is_twin(register) or is_retired(register["description"], register["remarks"]))
    ]
    assert enabled == []


def test_registers_that_overflow_are_disabled_and_say_why() -> None:
    """docs/ledger-metadata.md: a register whose type cannot hold real values is never enabled by default."""
    marked = [(name, r) for name, r in _registers() if r.get("overflow")]
    assert {(name, r["dbus_path"]) for name, r in marked} >= {
        ("battery", "/History/ChargedEnergy"),
        ("battery", "/History/TotalAhDrawn"),
        ("battery", "/Dc/1/Voltage"),
    }
    assert [r["key"] for _, r in marked if r["ha"]["enabled_by_default"]] == []
