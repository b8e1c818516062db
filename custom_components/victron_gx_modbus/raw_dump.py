"""A live raw dump of the registers each found device serves, for diagnostics.

The core plans and reads it (`Client.raw_dump`: every served register in the
fewest reads the GX answers, each block as it is, within a time limit) and
blanks the identity and location registers; a refused block or one not read
in time carries its error, the others are still dumped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import REDACTED

if TYPE_CHECKING:
    from victron_gx_modbus import Client, DumpedBlock, FoundDevice

DUMP_TIMEOUT = 10.0
"""Seconds the whole dump may take; blocks not read by then are reported as not read."""
SENSITIVE_KEYS = frozenset({"serial", "position_latitude", "position_longitude", "altitude"})
"""Registers whose words the dump blanks (identity and location)."""


async def async_dump(client: Client, devices: list[FoundDevice]) -> list[dict[str, Any]]:
    """The raw words of every block `devices` serve, blanked words shown as redacted."""
    dumped = await client.raw_dump(
        redact=SENSITIVE_KEYS,
        devices=[(found["unit"], found["service"]) for found in devices],
        within=DUMP_TIMEOUT,
    )
    return [{**device, "blocks": [_shown(block) for block in device["blocks"]]} for device in dumped]


def _shown(block: DumpedBlock) -> dict[str, Any]:
    """A block with its blanked words shown as redacted."""
    if "words" not in block:
        return dict(block)
    return {**block, "words": [REDACTED if word is None else word for word in block["words"]]}
