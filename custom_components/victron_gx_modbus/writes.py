"""Writes in an entry's options: whether they are on, and the limits the core bounds them by.

Every bound comes from the core (`Client.write_info`); nothing here computes one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from victron_gx_modbus import Limits

from .const import CONF_LIMITS, CONF_WRITES

if TYPE_CHECKING:
    from collections.abc import Mapping


def writes_on(options: Mapping[str, Any]) -> bool:
    """Whether the entry's options turn writes on (off by default)."""
    return bool(options.get(CONF_WRITES, False)) and CONF_LIMITS in options


def entry_limits(options: Mapping[str, Any]) -> Limits | None:
    """The core's limits of an entry with writes on (validated again by the core); else None."""
    return Limits(**options[CONF_LIMITS]) if writes_on(options) else None
