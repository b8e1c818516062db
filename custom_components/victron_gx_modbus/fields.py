"""Form fields the flows share: whole numbers in a range with a translated error, ports, the unit ID list.

The unit ID list is what a user types ("100, 226, 238"), as the GX lists
its units under Settings → Integrations → Modbus TCP server → Available
services; a site that gives one gets exactly those units scanned, and no
background sweep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import voluptuous as vol
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
)

from victron_gx_modbus import parse_unit_list

from .const import CONF_UNIT_IDS

if TYPE_CHECKING:
    from collections.abc import Mapping


def bounded(minimum: int, maximum: int, error: str, unit: str | None = None) -> vol.All:
    """A whole number from `minimum` to `maximum`; outside it, the translated `error`.

    The range is checked before the selector's own check, whose message
    Home Assistant would show untranslated.
    """
    config = NumberSelectorConfig(min=minimum, max=maximum, step=1, mode=NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    return vol.All(vol.Range(min=minimum, max=maximum, msg=error), NumberSelector(config))


def port_field() -> vol.All:
    """A TCP port (1 to 65535)."""
    return bounded(1, 65535, "port_range")


def parse_unit_ids(text: str) -> list[int] | None:
    """The unit IDs of `text`, sorted and each once; None for an empty text.

    Raises ValueError for anything but whole numbers from 0 to 247 (the
    package's `parse_unit_list`, which the command line uses too).
    """
    return sorted(parse_unit_list(text)) or None


def unit_ids_field(current: Mapping[str, Any]) -> dict[vol.Optional, TextSelector]:
    """The optional unit ID field of a form, suggesting `current`'s text."""
    suggested = current.get(CONF_UNIT_IDS)
    if isinstance(suggested, list):  # a stored list, shown as the user typed it
        suggested = ", ".join(str(unit) for unit in suggested) or None
    return {vol.Optional(CONF_UNIT_IDS, description={"suggested_value": suggested}): TextSelector()}
