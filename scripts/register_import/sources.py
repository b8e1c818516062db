"""Read Victron's official Modbus TCP register list into plain rows.

Victron publishes the list as an .xlsx workbook (sheet "Field list"); older
releases were also shared as a tab-separated export of that sheet. Both are
read here with the standard library only, so the importer runs on any Python.
"""

from __future__ import annotations

import csv
import re
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

if TYPE_CHECKING:
    from pathlib import Path

_SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS = {"m": _SHEET_NS, "r": _REL_NS}
FIELD_LIST_SHEET = "Field list"
HEADER_FIRST_CELL = "dbus-service-name"
COLUMNS = (
    "service",
    "description",
    "address",
    "type",
    "scale",
    "range",
    "path",
    "writable",
    "unit",
    "remarks",
)


class SourceError(Exception):
    """The file is not a register list this importer understands."""


@dataclass(frozen=True)
class SourceRow:
    """One row of the Field list, cells stripped, blanks as None."""

    line: int
    cells: dict[str, str | None]

    def get(self, column: str) -> str | None:
        """Return the cell of a named column (None when blank)."""
        return self.cells.get(column)


@dataclass(frozen=True)
class RegisterList:
    """The rows of one official list file and the label it is known by."""

    label: str
    path: Path
    rows: list[SourceRow]


def list_label(path: Path) -> str:
    """Derive a list's label ("3.66", "rev53") from Victron's file name."""
    match = re.search(r"register-list-(.+?)$", path.stem)
    return match.group(1) if match else path.stem


def _column_index(reference: str) -> int:
    letters = re.match(r"[A-Z]+", reference)
    if letters is None:
        msg = f"bad cell reference {reference!r}"
        raise SourceError(msg)
    index = 0
    for char in letters.group(0):
        index = index * 26 + ord(char) - ord("A") + 1
    return index - 1


def _shared_strings(book: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in book.namelist():
        return []
    root = ET.fromstring(book.read("xl/sharedStrings.xml"))  # noqa: S314 - local file
    return [
        "".join(node.text or "" for node in item.iter(f"{{{_SHEET_NS}}}t"))
        for item in root.findall("m:si", _NS)
    ]


def _sheet_member(book: zipfile.ZipFile, sheet_name: str) -> str:
    workbook = ET.fromstring(book.read("xl/workbook.xml"))  # noqa: S314
    relations = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
    targets = {rel.get("Id"): rel.get("Target", "") for rel in relations}
    sheets = workbook.find("m:sheets", _NS)
    for sheet in sheets if sheets is not None else []:
        if sheet.get("name") == sheet_name:
            target = targets.get(sheet.get(f"{{{_REL_NS}}}id"), "").lstrip("/")
            return target if target.startswith("xl/") else f"xl/{target}"
    msg = f"no sheet named {sheet_name!r}"
    raise SourceError(msg)


def read_xlsx_sheet(path: Path, sheet_name: str) -> list[list[str | None]]:
    """Return one sheet of a workbook as rows of cell texts."""
    try:
        with zipfile.ZipFile(path) as book:
            strings = _shared_strings(book)
            root = ET.fromstring(book.read(_sheet_member(book, sheet_name)))  # noqa: S314
    except (zipfile.BadZipFile, KeyError, ET.ParseError) as err:
        msg = f"{path}: not a readable .xlsx workbook ({err})"
        raise SourceError(msg) from err
    rows: list[list[str | None]] = []
    for row in root.iter(f"{{{_SHEET_NS}}}row"):
        cells: dict[int, str | None] = {}
        for cell in row.findall("m:c", _NS):
            value = cell.find("m:v", _NS)
            kind = cell.get("t")
            if kind == "s" and value is not None and value.text is not None:
                text: str | None = strings[int(value.text)]
            elif kind == "inlineStr":
                text = "".join(n.text or "" for n in cell.iter(f"{{{_SHEET_NS}}}t"))
            else:
                text = value.text if value is not None else None
            cells[_column_index(cell.get("r", "A"))] = text
        width = max(cells) + 1 if cells else 0
        rows.append([cells.get(i) for i in range(width)])
    return rows


def _read_tsv(path: Path) -> list[list[str | None]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [[cell or None for cell in row] for row in csv.reader(handle, delimiter="\t")]


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    stripped = text.strip()
    return stripped or None


def read_register_list(path: Path) -> RegisterList:
    """Read the Field list rows below the header of an .xlsx or .tsv list."""
    if not path.is_file():
        msg = f"{path}: no such file"
        raise SourceError(msg)
    raw = read_xlsx_sheet(path, FIELD_LIST_SHEET) if path.suffix.lower() == ".xlsx" else _read_tsv(path)
    header_at = next(
        (i for i, row in enumerate(raw) if row and _clean(row[0]) == HEADER_FIRST_CELL),
        None,
    )
    if header_at is None:
        msg = f"{path}: no header row starting with {HEADER_FIRST_CELL!r}"
        raise SourceError(msg)
    rows = []
    for offset, row in enumerate(raw[header_at + 1 :], start=header_at + 2):
        padded = (row + [None] * len(COLUMNS))[: len(COLUMNS)]
        cells = {name: _clean(value) for name, value in zip(COLUMNS, padded, strict=True)}
        if any(cells.values()):
            rows.append(SourceRow(line=offset, cells=cells))
    return RegisterList(label=list_label(path), path=path, rows=rows)
