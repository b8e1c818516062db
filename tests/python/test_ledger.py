"""The compiled ledger as Python sees it, and the ledger CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import victron_gx_modbus
from victron_gx_modbus import ledger, ledger_register


def test_every_register_of_the_official_list_is_compiled_in() -> None:
    services = ledger()
    assert len(services) == 33
    assert sum(len(service["registers"]) for service in services.values()) == 950
    assert {"system", "vebus", "battery", "solarcharger", "grid", "settings"} <= services.keys()


def test_register_fields_are_complete() -> None:
    register = next(r for r in ledger()["vebus"]["registers"] if r["key"] == "ac_active_in_l1_v")
    assert register["address"] == 3
    assert register["type"] == "uint16"
    assert register["scale"] == 10
    assert register["writable"] is False
    assert register["since"] == "3.66"
    assert register["ha"]["device_class"] == "voltage"
    assert register["ha"]["unit"] == "V"


def test_enum_registers_have_state_keys() -> None:
    state = next(r for r in ledger()["vebus"]["registers"] if r["key"] == "state")
    assert state["ha"]["platform"] == "sensor"
    assert state["ha"]["device_class"] == "enum"
    assert state["enum"] is not None
    assert state["ha"]["states"] is not None
    assert state["ha"]["states"].keys() == state["enum"].keys()


def test_phase_registers_are_named_consistently() -> None:
    """A phase register's name ends in its phase, before a qualifier such as " (16-bit)"."""
    for service in ledger().values():
        for register in service["registers"]:
            path = register["dbus_path"] or ""
            name = re.sub(r" \([^()]+\)$", "", register["ha"]["name"])
            for phase in ("L1", "L2", "L3"):
                if f"/{phase}/" in path:
                    assert name.endswith(f" {phase}"), register["key"]


def test_registers_newer_than_366_are_marked() -> None:
    since = {r["since"] for s in ledger().values() for r in s["registers"]}
    assert since == {"3.66", "rev53"}


@pytest.mark.parametrize("flag", [[], ["--json"]])
def test_cli_lists_the_ledger(flag: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "victron_gx_modbus", "ledger", *flag],
        capture_output=True,
        text=True,
        check=True,
    )
    if flag:
        services = json.loads(result.stdout)
        assert sum(len(s["registers"]) for s in services.values()) == 950
    else:
        assert result.stdout.rstrip().endswith("950 registers in 33 service types")


def test_version_is_exposed() -> None:
    assert victron_gx_modbus.__version__ == "0.1.0"


def test_a_register_is_looked_up_by_service_and_key() -> None:
    serial = ledger_register("system", "serial")
    assert serial is not None
    assert (serial["address"], serial["type"]) == (800, "string[6]")
    assert ledger_register("system", "no_such_key") is None
    assert ledger_register("no_such_service", "serial") is None
    for name, service in ledger().items():
        assert all(ledger_register(name, register["key"]) is register for register in service["registers"])
