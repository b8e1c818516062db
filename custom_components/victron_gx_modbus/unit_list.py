"""Manual unit IDs: the list a user types in the flows ("100, 226, 238"), as the GX shows them.

The GX lists them under Settings → Integrations → Modbus TCP server →
Available services; a site that gives a list gets exactly those units
scanned, and no background sweep.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from homeassistant.helpers.selector import TextSelector

from .const import CONF_UNIT_IDS

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_UNIT_ID = 247
"""The highest unit ID a GX maps (248-255 are reserved)."""
_SEPARATORS = re.compile(r"[\s,;]+")


def parse_unit_ids(text: str) -> list[int] | None:
    """The unit IDs of `text`, sorted and each once; None for an empty text.

    Raises ValueError for anything but whole numbers from 0 to 247.
    """
    words = [word for word in _SEPARATORS.split(text.strip()) if word]
    if not words:
        return None
    if not all(word.isascii() and word.isdigit() for word in words):
        raise ValueError(text)
    units = sorted({int(word) for word in words})
    if units[-1] > MAX_UNIT_ID:
        raise ValueError(text)
    return units


def unit_ids_field(current: Mapping[str, Any]) -> dict[vol.Optional, TextSelector]:
    """The optional unit ID field of a form, suggesting `current`'s text."""
    return {
        vol.Optional(
            CONF_UNIT_IDS, description={"suggested_value": current.get(CONF_UNIT_IDS)}
        ): TextSelector()
    }


def unit_ids_text(units: list[int] | None) -> str | None:
    """A stored list as the user typed it ("100, 226, 238")."""
    return ", ".join(str(unit) for unit in units) if units else None
