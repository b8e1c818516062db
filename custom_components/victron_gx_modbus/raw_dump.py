"""A live raw dump of the registers each found device serves, for diagnostics.

Each device's served registers (the ledger's, minus those the scan found
unsupported) are merged into blocks of contiguous addresses of at most 125
words, and each block is read as it is. A refused block or one that does not
answer in time is reported with its error; the others are still dumped.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import REDACTED

from victron_gx_modbus import DeviceException, VictronError, ledger

if TYPE_CHECKING:
    from victron_gx_modbus import Client, FoundDevice, Register

MAX_WORDS = 125
"""The most registers one Modbus read may ask for."""
DUMP_TIMEOUT = 10.0
"""Seconds the whole dump may take; blocks not read by then are reported as timed out."""
SENSITIVE_KEYS = frozenset({"serial", "position_latitude", "position_longitude", "altitude"})
"""Registers whose words the dump blanks (identity and location)."""

_TYPE_WORDS = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "uint64": 4}
_STRING = re.compile(r"string\[(\d+)\]", re.IGNORECASE)


def type_words(register_type: str) -> int:
    """How many 16-bit registers a value of `register_type` spans."""
    if match := _STRING.fullmatch(register_type):
        return int(match.group(1))
    return _TYPE_WORDS[register_type]


@dataclass(slots=True)
class Block:
    """Contiguous served registers of one device, read in one request."""

    start: int
    count: int
    sensitive: list[int]
    """Addresses (in the block) whose words are redacted."""


def served_blocks(found: FoundDevice) -> list[Block]:
    """The device's served registers as blocks of contiguous addresses, each at most 125 words."""
    service = ledger().get(found["service"])
    if service is None:
        return []
    unsupported = set(found["unsupported"])
    registers: list[Register] = sorted(
        (r for r in service["registers"] if r["key"] not in unsupported), key=lambda r: r["address"]
    )
    blocks: list[Block] = []
    for register in registers:
        words = type_words(register["type"])
        last = blocks[-1] if blocks else None
        if last is None or last.start + last.count != register["address"] or last.count + words > MAX_WORDS:
            last = Block(register["address"], 0, [])
            blocks.append(last)
        if register["key"] in SENSITIVE_KEYS:
            last.sensitive.extend(range(register["address"], register["address"] + words))
        last.count += words
    return blocks


async def _read(client: Client, unit: int, block: Block, deadline: float) -> dict[str, Any]:
    """One block as {start, count, words} or {start, count, error}."""
    dumped: dict[str, Any] = {"start": block.start, "count": block.count}
    try:
        async with asyncio.timeout_at(deadline):
            words = await client.read_registers(unit, block.start, block.count)
    except DeviceException as err:
        dumped["error"] = f"exception 0x{err.code:02X}"
    except VictronError as err:
        dumped["error"] = f"{type(err).__name__}: {err}"
    except TimeoutError:
        dumped["error"] = "not read within the diagnostics time limit"
    else:
        dumped["words"] = [
            REDACTED if block.start + offset in block.sensitive else word for offset, word in enumerate(words)
        ]
    return dumped


async def async_dump(client: Client, devices: list[FoundDevice]) -> list[dict[str, Any]]:
    """Read every served block of `devices` (concurrently, within `DUMP_TIMEOUT`)."""
    deadline = asyncio.get_running_loop().time() + DUMP_TIMEOUT
    plans = [(found, served_blocks(found)) for found in devices]
    reads = [_read(client, found["unit"], block, deadline) for found, blocks in plans for block in blocks]
    results = iter(await asyncio.gather(*reads))
    return [
        {
            "unit": found["unit"],
            "service": found["service"],
            "blocks": [next(results) for _ in blocks],
        }
        for found, blocks in plans
    ]
