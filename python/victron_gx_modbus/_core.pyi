"""Type stubs of the Rust extension module ``victron_gx_modbus._core``."""

from collections.abc import Callable
from typing import Any, TypedDict

__version__: str

class VictronError(Exception):
    """Base of every error raised by the core."""

class LedgerError(VictronError):
    """The compiled register ledger is unusable."""

class CodecError(VictronError):
    """A value could not be decoded or encoded."""

def ledger_json() -> str:
    """Return the compiled register ledger as JSON text."""

def decode(register_type: str, scale: float, words: list[int]) -> int | float | str | None:
    """Decode register words; None for the "not available" sentinel."""

def encode(register_type: str, scale: float, value: float | str) -> list[int]:
    """Encode a value into register words, range checked."""

class SimulatorError(VictronError):
    """The GX simulator could not start or do what was asked."""

def bundled_scenarios() -> list[str]:
    """Names of the bundled simulator scenarios."""

async def start_simulator(
    scenario: str,
    host: str,
    port: int,
    latency_ms: float,
    jitter_ms: float,
    service_time_ms: float,
    max_connections: int | None,
    seed: int,
) -> SimulatorCore:
    """Start a GX simulator (scenario: a bundled name or a .json path)."""

class SimulatorCore:
    """A running GX simulator."""

    @property
    def host(self) -> str:
        """The IP address it listens on."""
    @property
    def port(self) -> int:
        """The TCP port it listens on."""
    def stats_json(self) -> str:
        """Request statistics and the write log as JSON text."""
    def reset_stats(self) -> None:
        """Clear the statistics."""
    def stall(self, count: int) -> None:
        """Leave the next `count` requests unanswered."""
    def drop_next_replies(self, count: int) -> None:
        """Cut the next `count` replies in half and close the connection."""
    def malform_next_replies(self, kind: str, count: int) -> None:
        """Malform the next `count` replies."""
    def clear_faults(self) -> None:
        """Drop pending faults."""
    def reboot(self, seconds: float) -> None:
        """Close every connection and refuse new ones for `seconds`."""
    async def set_present(self, device: str, present: bool) -> None:
        """Unplug or plug back a device by scenario id."""
    async def devices_json(self) -> str:
        """The scenario's devices as JSON text."""
    async def stop(self) -> None:
        """Stop and release the port."""

class GXConnectionError(VictronError):
    """The GX could not be reached or the connection was lost."""

class GXTimeoutError(GXConnectionError):
    """The GX did not answer in time."""

class GXProtocolError(GXConnectionError):
    """The GX sent a reply that does not fit the request."""

class ScanDataError(VictronError):
    """A scan result is missing, unreadable or not from a GX."""

class PollOutput(TypedDict):
    """What one poll returns."""

    values: list[int | float | str | None]
    unavailable: list[int]
    changed: list[int]
    unavailable_devices: list[int]
    connection_lost: bool
    requests: int
    failed: int

class ClientCore:
    """A connection to one GX."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float,
        connect_timeout: float,
        max_in_flight: int,
        max_rate: float,
        slow_every: int,
    ) -> None:
        """Describe the connection; nothing connects until the first request."""
    async def scan(
        self,
        mode: str,
        units: list[int] | None,
        progress: Callable[[dict[str, Any]], object] | None,
    ) -> str:
        """Scan the GX; the scan result as JSON."""
    async def use_scan(self, scan_json: str) -> None:
        """Adopt a stored scan result."""
    async def plan_json(self) -> str:
        """The planned registers as JSON."""
    async def poll(self) -> PollOutput:
        """Read every due block."""
    async def read_registers(self, unit: int, address: int, count: int) -> list[int]:
        """Read registers; DeviceException on an exception reply."""
    def metrics_json(self) -> str:
        """Request counters and latency as JSON."""
    async def close(self) -> None:
        """Close the connection."""
