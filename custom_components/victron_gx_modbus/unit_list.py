"""Manual unit IDs: the list a user types in the flows ("100, 226, 238"), as the GX shows them.

The GX lists them under Settings → Integrations → Modbus TCP server →
Available services; a site that gives a list gets exactly those units
scanned, and no background sweep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import voluptuous as vol
from homeassistant.helpers.selector import TextSelector

from victron_gx_modbus import parse_unit_list

from .const import CONF_UNIT_IDS

if TYPE_CHECKING:
    from collections.abc import Mapping


def parse_unit_ids(text: str) -> list[int] | None:
    """The unit IDs of `text`, sorted and each once; None for an empty text.

    Raises ValueError for anything but whole numbers from 0 to 247 (the
    package's `parse_unit_list`, which the command line uses too).
    """
    return sorted(parse_unit_list(text)) or None


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
