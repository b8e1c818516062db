"""The flows' side of the GX: identify it, turn failures into form errors, scan it with progress."""

from __future__ import annotations

from typing import TYPE_CHECKING

from victron_gx_modbus import (
    Client,
    GXConnectionError,
    GXProtocolError,
    GXTimeoutError,
    ScanDataError,
    ScanProgress,
    VictronError,
)

from .const import CONNECT_TIMEOUT, LOGGER, REQUEST_TIMEOUT, SCAN_MAX_RATE

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from victron_gx_modbus import ScanResult
    from victron_gx_modbus.client import ScanMode


class NotAGxError(Exception):
    """The device answers Modbus TCP but is not a GX."""


def flow_client(host: str, port: int) -> Client:
    """A short-lived client for a connection test or a scan."""
    return Client(
        host, port, timeout=REQUEST_TIMEOUT, connect_timeout=CONNECT_TIMEOUT, max_rate=SCAN_MAX_RATE
    )


async def identify(host: str, port: int) -> str:
    """The GX serial at host:port: two reads at unit 100, nothing probed (no error in the GX's log)."""
    async with flow_client(host, port) as client:
        try:
            identity = await client.identify()
        except (GXProtocolError, ScanDataError) as err:
            raise NotAGxError from err
    serial = identity["serial"]
    if not serial:
        raise NotAGxError
    return serial


def error_key(err: Exception) -> str:
    """The translated error of a failed connection test."""
    if isinstance(err, NotAGxError):
        return "not_a_gx"
    if isinstance(err, GXTimeoutError):
        return "timeout"
    if isinstance(err, GXConnectionError):
        return "cannot_connect"
    LOGGER.exception("Unexpected error while connecting to the GX", exc_info=err)
    return "unknown"


async def async_test_connection(host: str, port: int) -> tuple[str, dict[str, str]]:
    """The GX serial at host:port and no errors; or no serial and the form's errors."""
    try:
        return await identify(host, port), {}
    except Exception as err:  # noqa: BLE001 - every error becomes a form error
        return "", {"base": error_key(err)}


async def async_scan(
    host: str,
    port: int,
    mode: ScanMode,
    progress: Callable[[float], None],
    unit_ids: list[int] | None = None,
) -> ScanResult:
    """Scan the GX (exactly `unit_ids` when given), passing the progress fraction on.

    The fraction goes to a flow's `async_update_progress`.
    """

    def on_step(step: ScanProgress) -> None:
        if step["total"]:
            progress(min(1.0, step["done"] / step["total"]))

    async with flow_client(host, port) as client:
        return await client.scan(mode=mode, unit_ids=unit_ids, progress=on_step)


def scan_outcome(task: asyncio.Task[ScanResult], address: str) -> tuple[ScanResult | None, str]:
    """The result of a finished scan task; or None and the error's text (logged)."""
    try:
        return task.result(), ""
    except Exception as err:  # noqa: BLE001 - a failed scan ends the flow, never crashes it
        if isinstance(err, VictronError):
            LOGGER.warning("Scanning the GX at %s failed: %s", address, err)
        else:
            LOGGER.exception("Unexpected error while scanning the GX", exc_info=err)
        return None, str(err)
