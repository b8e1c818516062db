"""Corrections and additions to the official list's facts.

``register_ledgers/errata/official-list.json`` corrects the list where it
disagrees with the GX's own map; ``register_ledgers/errata/services.json`` adds
what the publishing services produce that neither documents (enum codes,
sentinels, registers that overflow), each with its source. An erratum names a
register by service type and official address and either the facts to ``set``
or enum codes to ``add`` to the list's table.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .facts import ImportReport, ServiceFacts, trim_reserved, type_holds

if TYPE_CHECKING:
    from pathlib import Path

    from .facts import RegisterFacts

_SETTABLE = {
    "address",
    "type",
    "scale",
    "writable",
    "range",
    "dbus_path",
    "unit",
    "enum",
    "sentinels",
    "overflow",
}
ERRATA_FILES = ("official-list.json", "services.json")
"""Errata files under ``register_ledgers/errata/``, applied in this order."""


def apply_errata(services: dict[str, ServiceFacts], path: Path, report: ImportReport) -> None:
    """Apply every erratum of a file, reporting each (and any that match nothing)."""
    if not path.is_file():
        return
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for erratum in document["errata"]:
        if "reserved" in erratum:
            _add_reserved(services, erratum, report)
            continue
        name, address = erratum["service"], erratum["address"]
        changes, added = erratum.get("set", {}), erratum.get("add", {})
        service = services.get(name)
        register = next((r for r in service.registers if r.address == address), None) if service else None
        if service is None or register is None:
            report.flagged.append(f"erratum for {name} {address} matches no register: stale, not applied")
            continue
        unknown = (set(changes) - _SETTABLE) | (set(added) - {"enum"})
        if unknown:
            report.unusable.append(f"erratum for {name} {address} sets unknown fields {sorted(unknown)}")
            continue
        for field, value in changes.items():
            setattr(register, field, value)
        if register.range and not type_holds(register.type, register.scale, *register.range):
            register.range = None
        why = erratum["reason"] + (f"; source: {erratum['source']}" if "source" in erratum else "")
        if changes:
            report.corrected.append(f"{name} {address}: set {changes} ({why})")
        if added:
            _add_codes(register, added["enum"], f"{name} {address}", report, why)
        service.registers.sort(key=lambda reg: reg.address)


def _add_codes(
    register: RegisterFacts, codes: dict[str, str], at: str, report: ImportReport, why: str
) -> None:
    """Codes a service publishes that the table lacks; a code the table has keeps its text."""
    table = dict(register.enum or {})
    clash = sorted((code for code in codes if code in table), key=int)
    if clash:
        report.flagged.append(f"erratum for {at} adds codes {clash} the table already has: kept")
    new = {code: text for code, text in codes.items() if code not in table}
    register.enum = dict(sorted({**table, **new}.items(), key=lambda item: int(item[0])))
    report.corrected.append(f"{at}: codes {sorted(new, key=int)} added ({why})")


def _add_reserved(services: dict[str, ServiceFacts], erratum: dict[str, Any], report: ImportReport) -> None:
    """A reserved block the GX serves (reads 0xFFFF) that the list does not name."""
    name = erratum["service"]
    first, last = erratum["reserved"]
    service = services.get(name)
    if service is None:
        report.flagged.append(f"erratum for {name} reserved {first}-{last}: no such service, not applied")
        return
    service.reserved.append([first, last])
    service.reserved = trim_reserved(name, service, report)
    report.corrected.append(f"{name}: reserved {first}-{last} added ({erratum['reason']})")
