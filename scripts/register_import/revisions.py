"""First appearance of registers from the official list's "Document versions" sheet.

The sheet has one row per change, the revision ("Rev 50") in the first column
of the first row of each revision and the text in the second (a third column
holds notes). Only rows that add something ("Add ...", "Added ...") date
registers; fixes, moves and renames do not. A row names its registers by
address, after the word "register(s)" ("register 2716", "registers 4940 to
4942") or in parentheses ("(256)", "(3230-3235)", "(registers 2720 and 2722)"),
or by D-Bus path ("/Dc/0/Power"). A register named more than once keeps the
earliest revision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .sources import SourceError, read_xlsx_sheet

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

VERSIONS_SHEET = "Document versions"

_REVISION = re.compile(r"^\s*rev\w*\s*(\d+)\s*$", re.IGNORECASE)
_ADDS = re.compile(r"^\s*(?:add|added)\b", re.IGNORECASE)
_SPAN = re.compile(r"(?<![\w.-])(\d+)(?:\s*(?:-|to)\s*(\d+))?(?![\w.-])")
_AFTER_WORD = re.compile(r"\bregisters?\s+(\d+(?:\s*(?:-|to|and|,|or)\s*\d+)*)", re.IGNORECASE)
_PARENTHESES = re.compile(r"\(([^)]*)\)")
_UNIT_ID = re.compile(r"unit\s*id", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w.])/[A-Z][A-Za-z0-9]*(?:/[A-Za-z0-9]+)*")
_MAX_SPAN = 64


@dataclass(frozen=True)
class Addition:
    """One row of the sheet that adds registers."""

    revision: int
    text: str
    addresses: tuple[int, ...]
    paths: tuple[str, ...]


@dataclass
class FirstAppearance:
    """Revision of each address and D-Bus path the sheet says was added."""

    by_address: dict[int, int] = field(default_factory=dict)
    by_path: dict[str, int] = field(default_factory=dict)
    additions: list[Addition] = field(default_factory=list)

    def revision(self, address: int, path: str | None) -> int | None:
        """The revision that added a register, when the sheet says."""
        if address in self.by_address:
            return self.by_address[address]
        return self.by_path.get(path) if path is not None else None


def _addresses(text: str) -> list[int]:
    found: list[int] = []
    for match in _SPAN.finditer(text):
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if first <= last <= first + _MAX_SPAN:
            found.extend(range(first, last + 1))
        else:
            found.extend((first, last))
    return found


def named_addresses(text: str) -> list[int]:
    """Addresses a change text names, in order, without repeats."""
    found: list[int] = []
    for match in _AFTER_WORD.finditer(text):
        found += _addresses(match.group(1))
    for match in _PARENTHESES.finditer(text):
        if not _UNIT_ID.search(match.group(1)):
            found += _addresses(match.group(1))
    return list(dict.fromkeys(found))


def named_paths(text: str) -> list[str]:
    """D-Bus paths a change text names."""
    return list(dict.fromkeys(_PATH.findall(text)))


def parse_versions(rows: Iterable[list[str | None]]) -> FirstAppearance:
    """The additions of the sheet's rows (revision in the first cell, text in the second)."""
    result = FirstAppearance()
    revision: int | None = None
    for row in rows:
        head = row[0] if row else None
        if head is not None and (match := _REVISION.match(head)):
            revision = int(match.group(1))
        text = row[1] if len(row) > 1 else None
        if revision is None or text is None or not _ADDS.match(text):
            continue
        addition = Addition(revision, text.strip(), tuple(named_addresses(text)), tuple(named_paths(text)))
        result.additions.append(addition)
        for address in addition.addresses:
            result.by_address.setdefault(address, revision)
        for path in addition.paths:
            result.by_path.setdefault(path, revision)
    return result


def read_versions(path: Path) -> FirstAppearance:
    """The additions the "Document versions" sheet of an .xlsx list records (none for a .tsv)."""
    if path.suffix.lower() != ".xlsx":
        return FirstAppearance()
    try:
        rows = read_xlsx_sheet(path, VERSIONS_SHEET)
    except SourceError:
        return FirstAppearance()
    return parse_versions(rows)
