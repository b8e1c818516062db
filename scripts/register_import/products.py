"""Product names by Victron product ID, from public tables, into register_ledgers/products/.

Two kinds of public source are read, each given as a file:

* the GX's own product table, as extracted from its `vecan-dbus` program
  (one `<decimal id> <name>` per line, `#` comments), e.g.
  `Victron_ProductId_mapping.txt` of github.com/keshavdv/victron-ble;
* a table of `0xHHHH: "name"` pairs, as transcribed from the VE.Direct
  protocol document's product ID list (the `MODEL_ID_MAPPING` of
  `victron_ble/devices/base.py` in the same repository).

The GX's table comes first (it names products as the GX shows them); the
pairs fill in IDs it lacks. IDs that name no product (0xFFFE reserved,
0xFFFF not set) and the GX's placeholder entries ("XUP example 3") are left
out. The result is data: the core compiles it in and looks names up.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "register_ledgers" / "products" / "products.json"

FORMAT = 1
"""Version of the products file's layout (the core refuses another)."""

MAX_PRODUCT_ID = 0xFFFF
"""Product IDs are 16 bits."""

NOT_PRODUCTS = frozenset({0xFFFE, 0xFFFF})
"""Product IDs Victron reserves for "reserved" and "no product set"."""

_ID_LINE = re.compile(r"^\s*(\d+)\s+(\S.*?)\s*$")
_PAIR = re.compile(r"""0x([0-9A-Fa-f]{1,4})\s*:\s*(["'])(.+?)\2""")
_PLACEHOLDER = re.compile(r"\bexample \d+$")


class ProductSourceError(ValueError):
    """A source file is not a product table of the kind it was given as."""


@dataclass
class Source:
    """One public table: where it came from and the names it gives."""

    label: str
    names: dict[int, str] = field(default_factory=dict)


def _keep(product_id: int, name: str) -> bool:
    """Whether an entry names a product: a 16-bit ID that is one, and no placeholder name."""
    if not 0 < product_id <= MAX_PRODUCT_ID or product_id in NOT_PRODUCTS:
        return False
    return _PLACEHOLDER.search(name) is None


def read_id_lines(path: Path, label: str) -> Source:
    """A `<decimal id> <name>` table (the GX's own); the first name of an ID counts."""
    source = Source(label)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ID_LINE.match(line)
        if match is None:
            msg = f"{path}:{number}: not '<decimal id> <name>': {line!r}"
            raise ProductSourceError(msg)
        product_id, name = int(match[1]), match[2]
        if _keep(product_id, name):
            source.names.setdefault(product_id, name)
    if not source.names:
        msg = f"{path}: no product IDs"
        raise ProductSourceError(msg)
    return source


def read_hex_pairs(path: Path, label: str) -> Source:
    """Every `0xHHHH: "name"` pair of a file (a transcribed product list); the first name counts."""
    source = Source(label)
    for match in _PAIR.finditer(path.read_text(encoding="utf-8")):
        product_id, name = int(match[1], 16), match[3].strip()
        if _keep(product_id, name):
            source.names.setdefault(product_id, name)
    if not source.names:
        msg = f'{path}: no 0xHHHH: "name" pairs'
        raise ProductSourceError(msg)
    return source


def merge(sources: list[Source]) -> dict[int, str]:
    """One name per ID: the first source that names it wins."""
    merged: dict[int, str] = {}
    for source in sources:
        for product_id, name in source.names.items():
            merged.setdefault(product_id, name)
    return dict(sorted(merged.items()))


def render(sources: list[Source]) -> str:
    """The products file: its sources with how many names each gave, and the names by ID."""
    merged = merge(sources)
    header = {
        "format": FORMAT,
        "generated_by": "scripts/import-product-names",
        "sources": [{"label": s.label, "names": len(s.names)} for s in sources],
    }
    lines = [
        json.dumps({"id": product_id, "name": name}, ensure_ascii=False)
        for product_id, name in merged.items()
    ]
    head = json.dumps(header, indent=1, ensure_ascii=False)[:-2]  # without the closing brace
    return head + ',\n "products": [\n  ' + ",\n  ".join(lines) + "\n ]\n}\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) the products file from the given public tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--gx-table", type=Path, action="append", default=[], help="'<decimal id> <name>' lines"
    )
    parser.add_argument(
        "--hex-pairs", type=Path, action="append", default=[], help="'0xHHHH: \"name\"' pairs"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="fail when the output differs, write nothing")
    args = parser.parse_args(argv)
    if not args.gx_table and not args.hex_pairs:
        parser.error("give at least one --gx-table or --hex-pairs source")
    try:
        sources = [read_id_lines(path, f"gx-table:{path.name}") for path in args.gx_table]
        sources += [read_hex_pairs(path, f"hex-pairs:{path.name}") for path in args.hex_pairs]
    except (OSError, ProductSourceError) as err:
        print(f"import-product-names: {err}", file=sys.stderr)
        return 1
    text = render(sources)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"import-product-names: {args.output} is not what the sources give", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"{args.output}: {len(merge(sources))} products from {len(sources)} sources")
    return 0
