"""Every D-Bus path of the ledger against the GX's own map (dbus-modbustcp-attributes.csv)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from conftest import REFERENCE, ROOT
from register_import.gx_map import read_gx_map
from register_import.ledger import load_ledger

if TYPE_CHECKING:
    from pathlib import Path

GX_MAP = REFERENCE / "dbus-modbustcp-attributes.csv"


def path_problems(ledger: dict[str, dict[str, Any]], gx_map_path: Path) -> list[str]:
    """Registers whose D-Bus path is not the map's, character for character."""
    registers = {
        (service_type, register["address"]): register
        for service_type, service in ledger.items()
        for register in service["registers"]
    }
    problems = []
    for at, entry in sorted(read_gx_map(gx_map_path).items()):
        register = registers.get(at)
        if register is None:
            problems.append(f"{at}: the map serves {entry.dbus_path}, the ledger has no register")
        elif register["dbus_path"] is None:
            problems.append(f"{at} {register['key']}: no D-Bus path where the map has {entry.dbus_path}")
        elif register["dbus_path"] != entry.dbus_path:
            problems.append(
                f"{at} {register['key']}: {register['dbus_path']} where the map has {entry.dbus_path}"
            )
    return problems


@pytest.mark.skipif(
    not GX_MAP.is_file(), reason="the GX's own map is not beside the repository (../shared/reference/)"
)
def test_every_path_is_spelled_as_the_gx_map_spells_it() -> None:
    assert path_problems(load_ledger(ROOT / "register_ledgers"), GX_MAP) == []


@pytest.mark.skipif(
    not GX_MAP.is_file(), reason="the GX's own map is not beside the repository (../shared/reference/)"
)
def test_a_path_in_another_case_or_missing_is_caught() -> None:
    ledger = load_ledger(ROOT / "register_ledgers")
    settings = {r["address"]: r for r in ledger["settings"]["registers"]}
    settings[2902]["dbus_path"] = "/Settings/Cgwacs/Hub4Mode"
    solar = {r["address"]: r for r in ledger["solarcharger"]["registers"]}
    solar[777]["dbus_path"] = None
    problems = path_problems(ledger, GX_MAP)
    hub4_mode = "/Settings/Cgwacs/Hub4Mode where the map has /Settings/CGwacs/Hub4Mode"
    assert problems == [
        f"('settings', 2902) settings_cgwacs_hub4_mode: {hub4_mode}",
        "('solarcharger', 777) pv_current: no D-Bus path where the map has /Pv/I",
    ]
