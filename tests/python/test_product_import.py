"""The product-name table: built by scripts/import-product-names from public tables, stored as data."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from conftest import ROOT
from register_import.products import (
    FORMAT,
    ProductSourceError,
    main,
    merge,
    read_hex_pairs,
    read_id_lines,
)

if TYPE_CHECKING:
    from pathlib import Path

GX_TABLE = """# extracted from the GX's vecan-dbus
41957 Lynx Smart BMS 500
41227 SmartSolar MPPT VE.Can 250/100
41227 a second name is ignored
57352 XUP example 0
65534 reserved
65535 No product set
"""
HEX_PAIRS = """MODEL_ID_MAPPING = {
    0xA3E5: "Lynx Smart BMS 500A",
    0x2623: "MultiPlus-II 48/5000/70-50",
    0xA389: 'SmartShunt 500A/50mV',
}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_gx_table_wins_and_non_products_are_left_out(tmp_path: Path) -> None:
    gx = read_id_lines(write(tmp_path, "gx.txt", GX_TABLE), "gx")
    assert gx.names == {41957: "Lynx Smart BMS 500", 41227: "SmartSolar MPPT VE.Can 250/100"}
    pairs = read_hex_pairs(write(tmp_path, "pairs.py", HEX_PAIRS), "pairs")
    assert pairs.names == {
        0xA3E5: "Lynx Smart BMS 500A",
        0x2623: "MultiPlus-II 48/5000/70-50",
        0xA389: "SmartShunt 500A/50mV",
    }
    merged = merge([gx, pairs])
    assert merged[0xA3E5] == "Lynx Smart BMS 500"  # the GX's own name
    assert merged[0x2623] == "MultiPlus-II 48/5000/70-50"  # filled in from the second source
    assert list(merged) == sorted(merged)


def test_sources_that_are_no_product_table_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ProductSourceError, match="decimal id"):
        read_id_lines(write(tmp_path, "bad.txt", "0xA3E5 hex is not decimal\n"), "bad")
    with pytest.raises(ProductSourceError, match="no product IDs"):
        read_id_lines(write(tmp_path, "empty.txt", "# nothing\n65535 No product set\n"), "empty")
    with pytest.raises(ProductSourceError, match="pairs"):
        read_hex_pairs(write(tmp_path, "none.py", "x = 1\n"), "none")


def test_the_file_is_written_and_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gx = write(tmp_path, "gx.txt", GX_TABLE)
    pairs = write(tmp_path, "pairs.py", HEX_PAIRS)
    out = tmp_path / "products" / "products.json"
    args = ["--gx-table", str(gx), "--hex-pairs", str(pairs), "--output", str(out)]
    assert main(args) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["format"] == FORMAT
    assert document["sources"] == [
        {"label": "gx-table:gx.txt", "names": 2},
        {"label": "hex-pairs:pairs.py", "names": 3},
    ]
    assert [p["id"] for p in document["products"]] == [0x2623, 41227, 0xA389, 41957]
    assert main([*args, "--check"]) == 0
    out.write_text("{}", encoding="utf-8")
    assert main([*args, "--check"]) == 1
    assert main(["--gx-table", str(tmp_path / "missing.txt"), "--output", str(out)]) == 1
    assert "missing.txt" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--output", str(out)])  # no source


def test_the_stored_table_is_usable() -> None:
    document = json.loads(
        (ROOT / "register_ledgers" / "products" / "products.json").read_text(encoding="utf-8")
    )
    assert document["format"] == FORMAT
    ids = [product["id"] for product in document["products"]]
    assert ids == sorted(set(ids))  # one name per ID, in order
    assert len(ids) > 700
    assert all(0 < product_id < 0xFFFE for product_id in ids)
    assert all(product["name"].strip() == product["name"] != "" for product in document["products"])
    assert sum(source["names"] for source in document["sources"]) >= len(ids)
