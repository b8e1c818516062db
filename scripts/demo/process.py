"""A Home Assistant process of its own, for the benchmark, the soak and the tests."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import TYPE_CHECKING

from .state import HA_COMMAND

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence
    from pathlib import Path

STOP_WITHIN_S = 30


@contextlib.asynccontextmanager
async def home_assistant(
    folder: Path, *, stderr: int = asyncio.subprocess.DEVNULL, command: Sequence[str] = HA_COMMAND
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Home Assistant on the config `folder` (its output dropped, `stderr` as given).

    `command` runs Home Assistant once the config folder is appended.

    On leaving, a process still running is stopped (SIGTERM, killed after
    STOP_WITHIN_S seconds).
    """
    hass = await asyncio.create_subprocess_exec(
        *command,
        str(folder),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )
    try:
        yield hass
    finally:
        if hass.returncode is None:
            hass.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(hass.wait(), STOP_WITHIN_S)
            except TimeoutError:
                hass.kill()
                await hass.wait()
