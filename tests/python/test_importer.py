"""The register-list importer: fidelity to the official list and its reports."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

import pytest
from conftest import CURRENT_LIST, OLDER_LIST, ROOT
from register_import.cli import main as import_main

if TYPE_CHECKING:
    from pathlib import Path

COLUMNS = [
    "dbus-service-name",
    "description",
    "Address",
    "Type",
    "Scalefactor",
    "Range",
    "dbus-obj-path",
    "writable",
    "dbus-unit",
    "Remarks",
]
VEBUS = "com.victronenergy.vebus"
ROWS = [
    [VEBUS, "Input voltage phase 1", "3", "uint16", "10", "0 to 6553.5", "/Ac/ActiveIn/L1/V", "no", "V AC"],
    [
        VEBUS,
        "Input current phase 1",
        "6",
        "in16",
        "10",
        "-3276.8 to 3276.7",
        "/Ac/ActiveIn/L1/I",
        "no",
        "A AC",
    ],
    [VEBUS, "RESERVED", "7-9", "", "", "", "RESERVED", "", ""],
    [VEBUS, "Name", "10", "String[4]", "", "", "/CustomName", "yes", ""],
    [VEBUS, "Mode", "20", "uint16", "1", "0 to 4", "/Mode", "yes", "1=Charger Only;3=On;4=Off"],
    ["com.victronenergy.system", "Firmware", "834", "uint16", "1", "0 to 65536", "INTERNAL", "no", ""],
    ["", "", "212", "", "", "", "RESERVED", "", ""],
    [VEBUS, "Odd", "abc", "uint16", "1", "", "/Odd", "no", ""],
]


def write_list(path: Path, rows: list[list[str]]) -> Path:
    lines = [["NOTE", "", "", "", "ModbusTCP Register list"], COLUMNS, *rows]
    path.write_text("".join("\t".join(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_small_list_is_imported_with_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_list(tmp_path / "victron-modbus-tcp-register-list-9.99.tsv", ROWS)
    ledger_dir = tmp_path / "ledgers"
    assert import_main([str(source), "--ledger-dir", str(ledger_dir)]) == 0
    report = capsys.readouterr().err
    assert "'in16' -> 'int16'" in report
    assert "'String[4]' -> 'string[4]'" in report
    assert "834 is INTERNAL" in report
    assert "RESERVED row without a service name" in report
    assert "address 'abc' is not a number" in report

    vebus = json.loads((ledger_dir / "vebus.json").read_text(encoding="utf-8"))
    keys = [r["key"] for r in vebus["registers"]]
    assert keys == ["ac_active_in_l1_v", "ac_active_in_l1_i", "custom_name", "mode"]
    assert vebus["reserved"] == [[7, 9]]
    mode = vebus["registers"][3]
    assert mode["ha"]["platform"] == "select"
    assert mode["ha"]["write"] == {"kind": "select", "bound": "enum"}
    assert mode["ha"]["entity_category"] == "config"
    assert mode["ha"]["enabled_by_default"] is False
    assert mode["enum"] == {"1": "Charger Only", "3": "On", "4": "Off"}
    assert vebus["registers"][2]["ha"]["platform"] == "text"
    system = json.loads((ledger_dir / "system.json").read_text(encoding="utf-8"))
    assert system["registers"][0]["internal"] is True


def test_reimport_keeps_hand_edited_metadata(tmp_path: Path) -> None:
    source = write_list(tmp_path / "list-1.tsv", ROWS)
    ledger_dir = tmp_path / "ledgers"
    assert import_main([str(source), "--ledger-dir", str(ledger_dir), "--quiet"]) == 0
    path = ledger_dir / "vebus.json"
    vebus = json.loads(path.read_text(encoding="utf-8"))
    vebus["registers"][0]["ha"]["name"] = "AC input voltage L1"
    vebus["registers"][0]["key"] = "input_voltage_l1"
    path.write_text(json.dumps(vebus), encoding="utf-8")

    changed = [[*ROWS[0][:4], "100", "0 to 655.35", *ROWS[0][6:]], *ROWS[1:]]
    assert (
        import_main(
            [str(write_list(tmp_path / "list-2.tsv", changed)), "--ledger-dir", str(ledger_dir), "--quiet"]
        )
        == 0
    )
    first = json.loads(path.read_text(encoding="utf-8"))["registers"][0]
    assert first["key"] == "input_voltage_l1"
    assert first["ha"]["name"] == "AC input voltage L1"
    assert first["scale"] == 100


def test_errata_correct_the_official_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger_dir = tmp_path / "ledgers"
    (ledger_dir / "errata").mkdir(parents=True)
    errata = [
        {"service": "vebus", "address": 20, "set": {"writable": False}, "reason": "server has it R"},
        {"service": "vebus", "address": 99, "set": {"type": "int16"}, "reason": "gone"},
    ]
    (ledger_dir / "errata" / "official-list.json").write_text(
        json.dumps({"errata": errata}), encoding="utf-8"
    )
    assert import_main([str(write_list(tmp_path / "list.tsv", ROWS)), "--ledger-dir", str(ledger_dir)]) == 0
    report = capsys.readouterr().err
    assert "vebus 20: set {'writable': False} (server has it R)" in report
    assert "erratum for vebus 99 matches no register" in report
    mode = json.loads((ledger_dir / "vebus.json").read_text(encoding="utf-8"))["registers"][3]
    assert mode["writable"] is False
    assert mode["ha"]["platform"] == "sensor"


def test_check_mode_detects_a_stale_ledger(tmp_path: Path) -> None:
    source = write_list(tmp_path / "list.tsv", ROWS)
    ledger_dir = tmp_path / "ledgers"
    assert import_main([str(source), "--ledger-dir", str(ledger_dir), "--quiet"]) == 0
    assert import_main([str(source), "--ledger-dir", str(ledger_dir), "--quiet", "--check"]) == 0
    (ledger_dir / "vebus.json").write_text("{}", encoding="utf-8")
    assert import_main([str(source), "--ledger-dir", str(ledger_dir), "--quiet", "--check"]) == 1


def test_unreadable_source_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "list.xlsx"
    bad.write_bytes(b"not a zip")
    assert import_main([str(bad), "--ledger-dir", str(tmp_path)]) == 2
    assert "not a readable .xlsx workbook" in capsys.readouterr().err


@pytest.mark.skipif(
    not (CURRENT_LIST.is_file() and OLDER_LIST.is_file()),
    reason="the official lists are not beside the repository (../shared/reference/)",
)
def test_committed_ledger_matches_the_official_list(tmp_path: Path) -> None:
    ledger_dir = tmp_path / "ledgers"
    shutil.copytree(ROOT / "register_ledgers", ledger_dir)
    args = [str(CURRENT_LIST), "--older", str(OLDER_LIST), "--ledger-dir", str(ledger_dir), "--quiet"]
    assert import_main([*args, "--check"]) == 0


def test_reimport_drafts_state_keys_for_new_enum_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger_dir = tmp_path / "ledgers"
    assert (
        import_main([str(write_list(tmp_path / "a.tsv", ROWS)), "--ledger-dir", str(ledger_dir), "--quiet"])
        == 0
    )
    path = ledger_dir / "vebus.json"
    vebus = json.loads(path.read_text(encoding="utf-8"))
    vebus["registers"][3]["ha"]["states"]["3"] = "inverter_on"
    path.write_text(json.dumps(vebus), encoding="utf-8")

    mode = [*ROWS[4][:8], "1=Charger Only,2=Inverter Only;3=On;4=Off"]
    changed = [*ROWS[:4], mode, *ROWS[5:]]
    assert import_main([str(write_list(tmp_path / "b.tsv", changed)), "--ledger-dir", str(ledger_dir)]) == 0
    assert "vebus 20 (mode): enum codes changed" in capsys.readouterr().err
    states = json.loads(path.read_text(encoding="utf-8"))["registers"][3]["ha"]["states"]
    assert states == {"1": "charger_only", "2": "inverter_only", "3": "inverter_on", "4": "off"}


def test_service_errata_add_codes_sentinels_and_overflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger_dir = tmp_path / "ledgers"
    (ledger_dir / "errata").mkdir(parents=True)
    errata = [
        {
            "service": "vebus",
            "address": 20,
            "add": {"enum": {"2": "Inverter Only", "3": "Again"}},
            "source": "a GUI",
            "reason": "published",
        },
        {
            "service": "vebus",
            "address": 3,
            "set": {"sentinels": [{"value": 0, "means": "off"}], "overflow": "too big"},
            "source": "recordings",
            "reason": "seen",
        },
        {"service": "vebus", "address": 6, "add": {"range": [1, 2]}, "reason": "not an addition"},
    ]
    (ledger_dir / "errata" / "services.json").write_text(json.dumps({"errata": errata}), encoding="utf-8")
    assert import_main([str(write_list(tmp_path / "list.tsv", ROWS)), "--ledger-dir", str(ledger_dir)]) == 0
    report = capsys.readouterr().err
    assert "vebus 20: codes ['2'] added (published; source: a GUI)" in report
    assert "adds codes ['3'] the table already has: kept" in report
    assert "erratum for vebus 6 sets unknown fields ['range']" in report
    registers = json.loads((ledger_dir / "vebus.json").read_text(encoding="utf-8"))["registers"]
    voltage, current, _, mode = registers
    assert mode["enum"] == {"1": "Charger Only", "2": "Inverter Only", "3": "On", "4": "Off"}
    assert mode["ha"]["states"]["2"] == "inverter_only"
    assert voltage["sentinels"] == [{"value": 0, "means": "off"}]
    assert voltage["overflow"] == "too big"
    assert "sentinels" not in current
    assert "overflow" not in current

    voltage["ha"]["enabled_by_default"] = True
    path = ledger_dir / "vebus.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["registers"][0] = voltage
    path.write_text(json.dumps(document), encoding="utf-8")
    assert import_main([str(write_list(tmp_path / "list.tsv", ROWS)), "--ledger-dir", str(ledger_dir)]) == 0
    assert "vebus 3 overflows on real systems: disabled by default" in capsys.readouterr().err
    again = json.loads(path.read_text(encoding="utf-8"))["registers"][0]
    assert again["ha"]["enabled_by_default"] is False
