"""The Document versions sheet: which revision added which register."""

from __future__ import annotations

import pytest
from conftest import CURRENT_LIST
from register_import.revisions import named_addresses, named_paths, parse_versions, read_versions
from victron_gx_modbus import ledger


@pytest.mark.parametrize(
    ("text", "addresses"),
    [
        ("Add registers for missing Lynx alarms (registers 327 and 328)", [327, 328]),
        ("Add registers for microgrid capacity (240-246)", list(range(240, 247))),
        (
            "Add registers 4940 to 4942 for AC current limits on acsystem services (Multi-RS, HS-19)",
            [4940, 4941, 4942],
        ),
        ("Add register 2716 for frequent setpoint updates, to be used instead of 2700 or 2703", [2716]),
        (
            "Add 32-bit power registers for battery services (256), gensets (3230-3235)",
            [256, *range(3230, 3236)],
        ),
        ("Add registers for power factor, on supported meters (2645, 2646, 2647)", [2645, 2646, 2647]),
        ("Add register for solarcharger power with scalefactor of 1 (up to 65kW)", []),
        ("Added UnitID 100 (maps to UnitID 0)", []),
        ("Add mappings for device instances up to 296", []),
    ],
)
def test_addresses_are_read_from_change_texts(text: str, addresses: list[int]) -> None:
    assert named_addresses(text) == addresses


def test_paths_are_read_from_change_texts() -> None:
    assert named_paths("Added /Dc/0/Power and /Alarms/BmsCable (eg. v1.16)") == [
        "/Dc/0/Power",
        "/Alarms/BmsCable",
    ]


def test_only_additions_date_registers_and_the_earliest_wins() -> None:
    rows: list[list[str | None]] = [
        ["Rev 20", "Added 32-bit energy registers (register 1300)"],
        ["Rev 22", "Moved 32-bit energy registers added in Rev-20 (register 1310)"],
        [None, "Make register 2704 int16"],
        [None, None, "a note (register 9)"],
        ["Rev 23", "Add register 1300 again, and /Dc/0/Power"],
        ["Rev 24", None],
    ]
    appearance = parse_versions(rows)
    assert appearance.by_address == {1300: 20}
    assert appearance.by_path == {"/Dc/0/Power": 23}
    assert appearance.revision(1300, None) == 20
    assert appearance.revision(5, "/Dc/0/Power") == 23
    assert appearance.revision(5, "/Dc/0/Voltage") is None


@pytest.mark.skipif(not CURRENT_LIST.is_file(), reason="the official list is not beside the repository")
def test_the_official_sheet_is_read_whole() -> None:
    appearance = read_versions(CURRENT_LIST)
    assert {a.revision for a in appearance.additions} >= {8, 49, 50, 51, 53}
    assert appearance.by_address[256] == 50
    assert appearance.by_address[2720] == 53
    assert read_versions(CURRENT_LIST.with_suffix(".tsv")).by_address == {}


def test_the_ledger_holds_each_registers_first_revision() -> None:
    added = {
        (name, r["address"]): r["added_in"]
        for name, service in ledger().items()
        for r in service["registers"]
    }
    assert added["battery", 256] == 50
    assert added["battery", 258] is None
    assert (added["battery", 327], added["battery", 328]) == (53, 53)
    assert (added["settings", 2720], added["settings", 2722]) == (53, 53)
    assert added["system", 884] == 51
    assert added["system", 834] is None
    assert sum(value is not None for value in added.values()) == 76
