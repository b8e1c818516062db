"""Turn official list rows into register facts, reporting what had to be fixed.

Facts are what Victron's list says of a register: address, type, scale, unit,
writability, D-Bus path, value range and enum codes. Everything else in a
ledger file is our own Home Assistant metadata (see ``metadata``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .enums import parse_enum

if TYPE_CHECKING:
    from .sources import RegisterList, SourceRow

SERVICE_PREFIX = "com.victronenergy."
NUMERIC_TYPES = ("uint16", "int16", "uint32", "int32", "uint64")
TYPE_TYPOS = {"in16": "int16", "unit32": "uint32", "unit16": "uint16", "int16t": "int16"}
_STRING_TYPE = re.compile(r"^string\[(\d+)\]$", re.IGNORECASE)
_RANGE = re.compile(r"^(-?\s*[\d.]+)\s*to\s*(-?\s*[\d.]+)\s*[A-Za-z]*$")


@dataclass
class ImportReport:
    """What the importer corrected, skipped or flagged, one line per finding."""

    corrected: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    unusable: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """All findings, grouped, for printing."""
        out = [f"corrected: {line}" for line in self.corrected]
        out += [f"flagged: {line}" for line in self.flagged]
        out += [f"unusable: {line}" for line in self.unusable]
        return out


@dataclass
class RegisterFacts:
    """The official facts of one register."""

    service: str
    address: int
    type: str
    scale: float
    unit: str | None
    writable: bool
    dbus_path: str | None
    description: str
    range: list[float] | None
    enum: dict[str, str] | None
    remarks: str | None
    internal: bool
    sentinels: list[dict[str, Any]] = field(default_factory=list)
    """Values the publishing service uses for "not available" (errata only)."""
    overflow: str | None = None
    """Why real systems publish values the type cannot hold (errata only)."""

    def as_json(self) -> dict[str, Any]:
        """The facts in ledger-file field order (sentinels and overflow only where set)."""
        extra: dict[str, Any] = {}
        if self.sentinels:
            extra["sentinels"] = self.sentinels
        if self.overflow is not None:
            extra["overflow"] = self.overflow
        return {
            "address": self.address,
            "type": self.type,
            "scale": self.scale,
            "unit": self.unit,
            "writable": self.writable,
            "dbus_path": self.dbus_path,
            "description": self.description,
            "range": self.range,
            "enum": self.enum,
            "remarks": self.remarks,
            **extra,
            "internal": self.internal,
        }


@dataclass
class ServiceFacts:
    """All registers of one service type and its reserved address blocks."""

    service: str
    registers: list[RegisterFacts] = field(default_factory=list)
    reserved: list[list[int]] = field(default_factory=list)


def service_type(service: str) -> str:
    """Strip the D-Bus prefix: ``com.victronenergy.vebus`` -> ``vebus``."""
    return service.removeprefix(SERVICE_PREFIX)


def _number(text: str) -> float | int:
    value = float(text.replace(" ", ""))
    return int(value) if value.is_integer() else value


def _parse_type(row: SourceRow, report: ImportReport) -> str | None:
    raw = row.get("type")
    if raw is None:
        return None
    lowered = raw.lower()
    if lowered in TYPE_TYPOS:
        report.corrected.append(f"line {row.line}: type {raw!r} -> {TYPE_TYPOS[lowered]!r}")
        return TYPE_TYPOS[lowered]
    if lowered in NUMERIC_TYPES:
        return lowered
    match = _STRING_TYPE.match(raw)
    if match:
        normalised = f"string[{match.group(1)}]"
        if raw != normalised:
            report.corrected.append(f"line {row.line}: type {raw!r} -> {normalised!r}")
        return normalised
    return None


def _parse_scale(row: SourceRow, report: ImportReport) -> float | int:
    raw = row.get("scale")
    if raw is None:
        return 1
    try:
        value = _number(raw)
    except ValueError:
        report.corrected.append(f"line {row.line}: unreadable scale {raw!r} -> 1")
        return 1
    if value == 0:
        report.corrected.append(f"line {row.line}: scale 0 -> 1")
        return 1
    return value


_RAW_BOUNDS = {
    "uint16": (0, 0xFFFF),
    "int16": (-0x8000, 0x7FFF),
    "uint32": (0, 0xFFFF_FFFF),
    "int32": (-0x8000_0000, 0x7FFF_FFFF),
    "uint64": (0, 0xFFFF_FFFF_FFFF_FFFF),
}


def type_holds(reg_type: str, scale: float, low: float, high: float) -> bool:
    """Whether a stated range fits the type (one raw step of slack for "65536")."""
    bounds = _RAW_BOUNDS.get(reg_type)
    if bounds is None:
        return True
    ends = sorted((bounds[0] / scale, bounds[1] / scale))
    step = 1.5 / abs(scale)
    return ends[0] - step <= low and high <= ends[1] + step


def _parse_range(row: SourceRow, reg_type: str, scale: float, report: ImportReport) -> list[float] | None:
    raw = row.get("range")
    if raw is None:
        return None
    match = _RANGE.match(raw)
    if not match:
        return None
    low, high = _number(match.group(1)), _number(match.group(2))
    low, high = min(low, high), max(low, high)
    if not type_holds(reg_type, scale, low, high):
        report.corrected.append(
            f"line {row.line}: range {raw!r} does not fit {reg_type} scale {scale}: "
            "dropped (the type bounds it)"
        )
        return None
    clamped = clamp_to_type(reg_type, scale, low, high)
    if clamped != [low, high]:
        report.corrected.append(
            f"line {row.line}: range {raw!r} names one more than a {reg_type} holds: "
            f"{clamped[0]} to {clamped[1]}"
        )
    return clamped


def _plain(value: float) -> float | int:
    rounded = round(value, 9)
    return int(rounded) if float(rounded).is_integer() else rounded


def clamp_to_type(reg_type: str, scale: float, low: float, high: float) -> list[float]:
    """A range cut to what the type holds after scale (lists often write 65536 or 2^31)."""
    bounds = _RAW_BOUNDS.get(reg_type)
    if bounds is None:
        return [low, high]
    ends = sorted((bounds[0] / scale, bounds[1] / scale))
    return [low if low >= ends[0] else _plain(ends[0]), high if high <= ends[1] else _plain(ends[1])]


def _reserved_block(address: str) -> list[int] | None:
    match = re.fullmatch(r"(\d+)\s*(?:-\s*(\d+))?", address)
    if not match:
        return None
    first = int(match.group(1))
    return [first, int(match.group(2) or first)]


def _is_reserved(row: SourceRow) -> bool:
    return "RESERVED" in {row.get("description"), row.get("path")}


def _register(row: SourceRow, service: str, report: ImportReport) -> RegisterFacts | None:
    address_text = row.get("address") or ""
    if not address_text.isdigit():
        report.unusable.append(f"line {row.line}: address {address_text!r} is not a number")
        return None
    reg_type = _parse_type(row, report)
    if reg_type is None:
        report.unusable.append(f"line {row.line}: unknown type {row.get('type')!r}")
        return None
    path = row.get("path")
    internal = path == "INTERNAL"
    if internal:
        report.flagged.append(
            f"line {row.line}: {service_type(service)} {address_text} is INTERNAL (kept, no D-Bus path)"
        )
        path = None
    elif path is None:
        report.flagged.append(
            f"line {row.line}: {service_type(service)} {address_text} has no D-Bus path (kept)"
        )
    writable_text = (row.get("writable") or "").lower()
    if writable_text not in {"yes", "no"}:
        report.flagged.append(
            f"line {row.line}: {service_type(service)} {address_text} writable column "
            f"{row.get('writable')!r}: read-only"
        )
    unit = row.get("unit")
    enum = parse_enum(unit, report, where=f"line {row.line}")
    scale = _parse_scale(row, report)
    description = row.get("description")
    if description is None:
        report.flagged.append(f"line {row.line}: {service_type(service)} {address_text} has no description")
    return RegisterFacts(
        service=service,
        address=int(address_text),
        type=reg_type,
        scale=scale,
        unit=None if enum else unit,
        writable=writable_text == "yes",
        dbus_path=path,
        description=description or path or f"Register {address_text}",
        range=_parse_range(row, reg_type, scale, report),
        enum=enum,
        remarks=row.get("remarks"),
        internal=internal,
    )


def collect_facts(source: RegisterList, report: ImportReport) -> dict[str, ServiceFacts]:
    """Group a list's usable rows by service type; reserved rows become blocks."""
    services: dict[str, ServiceFacts] = {}
    for row in source.rows:
        service = row.get("service")
        if service is None or not service.startswith(SERVICE_PREFIX):
            detail = "RESERVED row" if _is_reserved(row) else "row"
            report.unusable.append(f"line {row.line}: {detail} without a service name")
            continue
        facts = services.setdefault(service_type(service), ServiceFacts(service=service))
        if _is_reserved(row):
            block = _reserved_block(row.get("address") or "")
            if block is None:
                report.unusable.append(f"line {row.line}: reserved address {row.get('address')!r}")
            else:
                facts.reserved.append(block)
            continue
        register = _register(row, service, report)
        if register is not None:
            facts.registers.append(register)
    for name, facts in services.items():
        facts.registers.sort(key=lambda reg: reg.address)
        facts.reserved = trim_reserved(name, facts, report)
    return services


_TYPE_WORDS = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "uint64": 4}


def type_words(reg_type: str) -> int:
    """How many 16-bit registers a value of this (normalised) type spans."""
    match = _STRING_TYPE.match(reg_type)
    return int(match.group(1)) if match else _TYPE_WORDS[reg_type]


def trim_reserved(name: str, facts: ServiceFacts, report: ImportReport) -> list[list[int]]:
    """Reserved blocks, sorted, without the words a register really uses."""
    used = {reg.address + i for reg in facts.registers for i in range(type_words(reg.type))}
    trimmed: list[list[int]] = []
    for first, last in sorted(facts.reserved):
        free = [address for address in range(first, last + 1) if address not in used]
        if len(free) != last - first + 1:
            report.corrected.append(f"{name}: reserved {first}-{last} overlaps a register: trimmed")
        if free:
            trimmed.append([free[0], free[-1]])
    return trimmed
