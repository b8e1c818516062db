"""Parse enum tables (``code=text;code=text``) as Victron writes them.

Both the official list and the GX's own map use this form; the texts also hold
two slips this parser repairs, reporting each: a comma where a semicolon
belongs (``1=Charger only,2=Inverter only``) and code ranges
(``51-52=Battery disconnect request``), which stand for every code in them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .facts import ImportReport

_ITEM = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*=\s*(.+?)\s*$")
_COMMA_BEFORE_CODE = re.compile(r",(?=\s*\d+(?:\s*-\s*\d+)?\s*=)")


def _items(text: str, report: ImportReport, where: str) -> list[str]:
    items = []
    for part in text.split(";"):
        pieces = _COMMA_BEFORE_CODE.split(part)
        if len(pieces) > 1:
            report.corrected.append(f"{where}: enum item {part.strip()!r} split at a comma")
        items += [piece for piece in pieces if piece.strip()]
    return items


def parse_enum(text: str | None, report: ImportReport, *, where: str) -> dict[str, str] | None:
    """Codes (as strings) to texts, or None when the text is no enum table."""
    if text is None or "=" not in text:
        return None
    items = _items(text, report, where)
    matches = [match for match in map(_ITEM.match, items) if match is not None]
    if not matches or len(matches) != len(items):
        return None
    enum: dict[str, str] = {}
    for match in matches:
        first, last, label = int(match.group(1)), int(match.group(2) or match.group(1)), match.group(3)
        if last != first:
            report.corrected.append(f"{where}: enum range {first}-{last} expanded to each code")
        for code in range(first, last + 1):
            if str(code) in enum:
                report.corrected.append(f"{where}: enum code {code} given twice: kept {enum[str(code)]!r}")
                continue
            enum[str(code)] = label
    return enum
