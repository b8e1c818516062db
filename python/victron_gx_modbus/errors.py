"""Exceptions of victron_gx_modbus, all subclasses of `VictronError`."""

from __future__ import annotations

from ._core import (
    CodecError,
    GXConnectionError,
    GXProtocolError,
    GXTimeoutError,
    LedgerError,
    ScanDataError,
    SimulatorError,
    VictronError,
)


class DeviceException(VictronError):  # noqa: N818 - the Modbus term
    """The GX answered a request with a Modbus exception reply.

    `code` is the Modbus exception code: 0x01 unsupported function, 0x02
    undefined address (or a read-only register in a write), 0x03 bad
    quantity, 0x0A (0x0B on older firmware) no service of that type at the unit.
    """

    def __init__(self, code: int, message: str) -> None:
        """Keep the Modbus exception code."""
        super().__init__(message)
        self.code = code


__all__ = [
    "CodecError",
    "DeviceException",
    "GXConnectionError",
    "GXProtocolError",
    "GXTimeoutError",
    "LedgerError",
    "ScanDataError",
    "SimulatorError",
    "VictronError",
]
