"""Shared paths for the Python tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference"
CURRENT_LIST = REFERENCE / "victron-modbus-tcp-register-list-rev53.xlsx"
OLDER_LIST = REFERENCE / "victron-modbus-tcp-register-list-3.66.tsv"
