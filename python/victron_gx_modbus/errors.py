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


class WriteRefused(VictronError):  # noqa: N818 - the name the API promises
    """A write the core refused: nothing was sent to the GX.

    `register` is `"<unit>/<service>/<key>"`, `value` the value asked for
    (None when only the range was asked), `min`, `max` and `step` the
    register's range under the limits (None when writes are off or the
    register has no range), `allowed` the only codes a code register takes,
    and `reason` why (e.g. "outside -5750..=5750 (AC power per phase: 230 V x 25 A)").
    """

    def __init__(
        self,
        message: str,
        register: str,
        address: int,
        value: float | str | None,
        minimum: float | None,
        maximum: float | None,
        step: float | None,
        allowed: list[int] | None,
        reason: str,
    ) -> None:
        """Keep the register, the value and its bounds."""
        super().__init__(message)
        self.register = register
        self.address = address
        self.value = value
        self.min = minimum
        self.max = maximum
        self.step = step
        self.allowed = allowed
        self.reason = reason

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """(min, max) of the register under the limits."""
        return (self.min, self.max)


class WriteNotConfirmed(VictronError):  # noqa: N818 - pairs with WriteRefused
    """The GX accepted a write but reads back another value."""

    def __init__(self, message: str, register: str, written: str, read_back: str) -> None:
        """Keep what was written and what came back."""
        super().__init__(message)
        self.register = register
        self.written = written
        self.read_back = read_back


class LimitsError(VictronError, ValueError):
    """An electrical limit that cannot describe a real installation; `option` names it."""

    def __init__(self, message: str, option: str) -> None:
        """Keep the option's name."""
        super().__init__(message)
        self.option = option


class MqttCertificateChanged(VictronError):  # noqa: N818 - the name the API promises
    """The GX's MQTT over TLS showed another certificate than the trusted one; nothing was sent.

    A reset or replaced GX makes a new certificate, and so would someone in
    between: `fingerprint` is the SHA-256 fingerprint shown now (pass it as
    `MqttOptions.fingerprint` to trust it), `expected` the one trusted.
    """

    def __init__(self, message: str, fingerprint: str, expected: str) -> None:
        """Keep both fingerprints."""
        super().__init__(message)
        self.fingerprint = fingerprint
        self.expected = expected


__all__ = [
    "CodecError",
    "DeviceException",
    "GXConnectionError",
    "GXProtocolError",
    "GXTimeoutError",
    "LedgerError",
    "LimitsError",
    "MqttCertificateChanged",
    "ScanDataError",
    "SimulatorError",
    "VictronError",
    "WriteNotConfirmed",
    "WriteRefused",
]
