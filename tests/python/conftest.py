"""Shared paths and settings for the Python tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from homeassistant import block_async_io


@pytest.fixture(autouse=True, scope="session")
def _detect_blocking_calls() -> None:
    """Report blocking calls made inside the event loop, as Home Assistant does."""
    block_async_io.enable()


ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference"
CURRENT_LIST = REFERENCE / "victron-modbus-tcp-register-list-rev53.xlsx"
OLDER_LIST = REFERENCE / "victron-modbus-tcp-register-list-3.66.tsv"
