"""Type stubs of the Rust extension module ``victron_gx_modbus._core``."""

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
