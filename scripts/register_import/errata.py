"""Corrections to the official list where it disagrees with the GX's own map.

The errata live in ``register_ledgers/errata/official-list.json``; each names a
register by service type and official address and the facts to set.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .facts import ImportReport, ServiceFacts, trim_reserved, type_holds

if TYPE_CHECKING:
    from pathlib import Path

_SETTABLE = {"address", "type", "scale", "writable", "range", "dbus_path", "unit", "enum"}


def apply_errata(services: dict[str, ServiceFacts], path: Path, report: ImportReport) -> None:
    """Apply every erratum of a file, reporting each (and any that match nothing)."""
    if not path.is_file():
        return
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for erratum in document["errata"]:
        if "reserved" in erratum:
            _add_reserved(services, erratum, report)
            continue
        name, address, changes = erratum["service"], erratum["address"], erratum["set"]
        service = services.get(name)
        register = next((r for r in service.registers if r.address == address), None) if service else None
        if service is None or register is None:
            report.flagged.append(f"erratum for {name} {address} matches no register: stale, not applied")
            continue
        unknown = set(changes) - _SETTABLE
        if unknown:
            report.unusable.append(f"erratum for {name} {address} sets unknown fields {sorted(unknown)}")
            continue
        for field, value in changes.items():
            setattr(register, field, value)
        if register.range and not type_holds(register.type, register.scale, *register.range):
            register.range = None
        report.corrected.append(f"{name} {address}: set {changes} ({erratum['reason']})")
        service.registers.sort(key=lambda reg: reg.address)


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
