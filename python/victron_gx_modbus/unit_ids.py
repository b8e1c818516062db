"""Unit IDs as a user types them: the GX's range, and lists like "100, 226, 238"."""

from __future__ import annotations

import re

MAX_UNIT_ID = 247
"""The highest unit ID a GX maps (248-255 are reserved)."""
_SEPARATORS = re.compile(r"[\s,;]+")


def parse_unit_id(text: str) -> int:
    """One unit ID (a whole number 0-247); raises ValueError for anything else."""
    word = text.strip()
    if not (word.isascii() and word.isdigit() and int(word) <= MAX_UNIT_ID):
        msg = f"{text!r} is not a unit ID 0-{MAX_UNIT_ID}"
        raise ValueError(msg)
    return int(word)


def parse_unit_list(text: str) -> list[int]:
    """The unit IDs of a list, in the order given and each once; [] for an empty text.

    Commas, semicolons and white space separate them, as the GX's own list
    (Settings, Modbus TCP server, Available services) can be copied. Raises
    ValueError naming the whole text when one of them is not a unit ID 0-247.
    """
    try:
        units = [parse_unit_id(word) for word in _SEPARATORS.split(text.strip()) if word]
    except ValueError:
        msg = f"{text!r} is not a list of unit IDs 0-{MAX_UNIT_ID}"
        raise ValueError(msg) from None
    return list(dict.fromkeys(units))
