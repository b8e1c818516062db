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
