"""Every enum of the ledger against the GX's own map (dbus-modbustcp-attributes.csv)."""

from __future__ import annotations

import json

import pytest
from conftest import REFERENCE, ROOT
from register_import.enums import parse_enum
from register_import.facts import ImportReport
from register_import.gx_map import read_gx_map
from register_import.ledger import load_ledger

GX_MAP = REFERENCE / "dbus-modbustcp-attributes.csv"
ERRATA = ROOT / "register_ledgers" / "errata" / "official-list.json"


def _erratum_labels() -> dict[tuple[str, int], dict[str, str]]:
    """Enum texts the errata set on purpose, by (service type, address)."""
    errata = json.loads(ERRATA.read_text(encoding="utf-8"))["errata"]
    return {(e["service"], e["address"]): e["set"]["enum"] for e in errata if "enum" in e.get("set", {})}


@pytest.mark.skipif(
    not GX_MAP.is_file(), reason="the GX's own map is not beside the repository (../shared/reference/)"
)
def test_every_enum_has_the_codes_and_texts_of_the_gx_map() -> None:
    registers = {
        (service_type, register["address"]): register
        for service_type, service in load_ledger(ROOT / "register_ledgers").items()
        for register in service["registers"]
    }
    decided = _erratum_labels()
    problems = []
    for at, entry in sorted(read_gx_map(GX_MAP).items()):
        if entry.enum is None:
            continue
        labels = registers[at]["enum"] or {}
        expected = {**entry.enum, **{c: t for c, t in decided.get(at, {}).items() if c in entry.enum}}
        wrong = {code: labels.get(code) for code, text in expected.items() if labels.get(code) != text}
        if wrong:
            problems.append(f"{at} {entry.dbus_path}: {wrong} where the map has {entry.enum}")
    assert problems == []


def test_enum_texts_split_at_a_stray_comma_and_expand_ranges() -> None:
    report = ImportReport()
    enum = parse_enum("1=Charger only,2=Inverter only;51-53=Disconnect;51=Again", report, where="row 7")
    assert enum == {
        "1": "Charger only",
        "2": "Inverter only",
        "51": "Disconnect",
        "52": "Disconnect",
        "53": "Disconnect",
    }
    assert report.corrected == [
        "row 7: enum item '1=Charger only,2=Inverter only' split at a comma",
        "row 7: enum range 51-53 expanded to each code",
        "row 7: enum code 51 given twice: kept 'Disconnect'",
    ]


@pytest.mark.parametrize("text", [None, "V AC", "1=On;Off", ""])
def test_text_without_an_enum_table_is_no_enum(text: str | None) -> None:
    assert parse_enum(text, ImportReport(), where="row 1") is None
