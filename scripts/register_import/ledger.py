"""Merge fresh register facts with the ledger's own metadata and write it out.

A ledger file per service type holds, per register, the official facts (the
importer rewrites them) and our ``key`` and ``ha`` metadata (kept once made).
Registers are matched to existing entries by address.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .facts import type_words
from .metadata import base_key, draft_metadata, merge_state_keys

if TYPE_CHECKING:
    from pathlib import Path

    from .facts import ImportReport, RegisterFacts, ServiceFacts
    from .revisions import FirstAppearance

LEDGER_FORMAT = 1


@dataclass(frozen=True)
class ListPresence:
    """Which (service type, address) pairs one official list has."""

    label: str
    addresses: frozenset[tuple[str, int]]


def load_ledger(directory: Path) -> dict[str, dict[str, Any]]:
    """Read every ledger file of a folder, keyed by service type."""
    ledger = {}
    for path in sorted(directory.glob("*.json")):
        with path.open(encoding="utf-8") as handle:
            ledger[path.stem] = json.load(handle)
    return ledger


def _preferred(group: list[RegisterFacts]) -> RegisterFacts:
    """Of registers sharing one D-Bus path, the widest (then lowest) wins the plain key."""
    return min(group, key=lambda reg: (-type_words(reg.type), reg.address))


def _assign_keys(facts: ServiceFacts, existing: dict[int, dict[str, Any]]) -> dict[int, str]:
    """Key per address; existing keys are never changed."""
    groups: dict[str, list[RegisterFacts]] = defaultdict(list)
    for reg in facts.registers:
        groups[base_key(reg)].append(reg)
    taken = {entry["key"] for entry in existing.values()}
    assigned: dict[int, str] = {}
    for base, group in groups.items():
        preferred = _preferred(group)
        for reg in group:
            if reg.address in existing:
                assigned[reg.address] = existing[reg.address]["key"]
                continue
            key = base if reg is preferred and base not in taken else f"{base}_{reg.address}"
            taken.add(key)
            assigned[reg.address] = key
    return assigned


def _since(service: str, address: int, lists: list[ListPresence]) -> str | None:
    return next((item.label for item in lists if (service, address) in item.addresses), None)


def _metadata(
    service_type: str,
    reg: RegisterFacts,
    entry: dict[str, Any] | None,
    report: ImportReport,
) -> dict[str, Any]:
    """Keep existing metadata unless the register's writability or enum-ness changed under it."""
    if entry is None:
        return draft_metadata(reg)
    kept: dict[str, Any] = entry["ha"]
    at = f"{service_type} {reg.address} ({entry['key']})"
    if (kept["write"] is not None) != reg.writable or (entry["enum"] is None) != (reg.enum is None):
        report.flagged.append(f"{at}: writability or enum changed, platform re-drafted")
        return {**draft_metadata(reg), "name": kept["name"]}
    if kept["states"] is None or reg.enum is None or kept["states"].keys() == reg.enum.keys():
        return kept
    report.flagged.append(f"{at}: enum codes changed, state keys of the new codes drafted")
    return {**kept, "states": merge_state_keys(kept["states"], reg.enum)}


def build_service(
    service_type: str,
    facts: ServiceFacts,
    current_label: str,
    older: list[ListPresence],
    existing_file: dict[str, Any] | None,
    report: ImportReport,
    appearance: FirstAppearance | None = None,
) -> dict[str, Any]:
    """The ledger document of one service type."""
    existing = {entry["address"]: entry for entry in (existing_file or {}).get("registers", [])}
    current_addresses = {reg.address for reg in facts.registers}
    for address, entry in sorted(existing.items()):
        if address not in current_addresses:
            report.flagged.append(f"{service_type} {address} ({entry['key']}) is gone from the list: removed")
    keys = _assign_keys(facts, {a: e for a, e in existing.items() if a in current_addresses})
    registers = []
    for reg in facts.registers:
        key = keys[reg.address]
        ha = _metadata(service_type, reg, existing.get(reg.address), report)
        if reg.overflow is not None and ha["enabled_by_default"]:
            report.flagged.append(
                f"{service_type} {reg.address} overflows on real systems: disabled by default"
            )
            ha = {**ha, "enabled_by_default": False}
        registers.append(
            {
                "key": key,
                **reg.as_json(),
                "since": _since(service_type, reg.address, older) or current_label,
                "added_in": appearance.revision(reg.address, reg.dbus_path) if appearance else None,
                "ha": ha,
            }
        )
    return {
        "format": LEDGER_FORMAT,
        "service": facts.service,
        "source_list": current_label,
        "reserved": facts.reserved,
        "registers": registers,
    }


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _dump_object(obj: dict[str, Any], indent: str, nested: set[str]) -> list[str]:
    lines = []
    items = list(obj.items())
    for index, (name, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        if name in nested and isinstance(value, dict):
            lines.append(f"{indent}{_compact(name)}: {{")
            lines += _dump_object(value, indent + "  ", set())
            lines.append(f"{indent}}}{comma}")
        else:
            lines.append(f"{indent}{_compact(name)}: {_compact(value)}{comma}")
    return lines


def render_service(document: dict[str, Any]) -> str:
    """Ledger file text: one field per line, so hand edits diff cleanly."""
    header = {name: value for name, value in document.items() if name != "registers"}
    head = _dump_object(header, "  ", set())
    head[-1] += ","
    lines = ["{", *head]
    lines.append('  "registers": [')
    registers = document["registers"]
    for index, register in enumerate(registers):
        lines.append("    {")
        lines += _dump_object(register, "      ", {"ha"})
        lines.append("    }" + ("," if index < len(registers) - 1 else ""))
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"
