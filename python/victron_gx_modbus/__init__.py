"""Victron Energy GX Modbus TCP core for Home Assistant.

The work is done in Rust (``victron_gx_modbus._core``); this package gives it
a typed Python face.
"""

from ._core import CodecError, LedgerError, SimulatorError, VictronError, __version__, decode, encode
from .ledger import HaMetadata, Register, Service, WriteSpec, ledger, service_type
from .simulator import SimulatedDevice, Simulator, SimulatorStats

__all__ = [
    "CodecError",
    "HaMetadata",
    "LedgerError",
    "Register",
    "Service",
    "SimulatedDevice",
    "Simulator",
    "SimulatorError",
    "SimulatorStats",
    "VictronError",
    "WriteSpec",
    "__version__",
    "decode",
    "encode",
    "ledger",
    "service_type",
]
