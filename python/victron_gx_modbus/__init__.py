"""Victron Energy GX Modbus TCP core for Home Assistant.

The work is done in Rust (``victron_gx_modbus._core``); this package gives it
a typed Python face.
"""

from ._core import __version__, decode, encode
from .client import (
    Client,
    FoundDevice,
    GxIdentity,
    Metrics,
    PlannedRegister,
    ScanProgress,
    ScanResult,
    Snapshot,
    register_id,
)
from .errors import (
    CodecError,
    DeviceException,
    GXConnectionError,
    GXProtocolError,
    GXTimeoutError,
    LedgerError,
    ScanDataError,
    SimulatorError,
    VictronError,
)
from .ledger import HaMetadata, Register, Service, WriteSpec, ledger, service_type
from .simulator import SimulatedDevice, Simulator, SimulatorStats

__all__ = [
    "Client",
    "CodecError",
    "DeviceException",
    "FoundDevice",
    "GXConnectionError",
    "GXProtocolError",
    "GXTimeoutError",
    "GxIdentity",
    "HaMetadata",
    "LedgerError",
    "Metrics",
    "PlannedRegister",
    "Register",
    "ScanDataError",
    "ScanProgress",
    "ScanResult",
    "Service",
    "SimulatedDevice",
    "Simulator",
    "SimulatorError",
    "SimulatorStats",
    "Snapshot",
    "VictronError",
    "WriteSpec",
    "__version__",
    "decode",
    "encode",
    "ledger",
    "register_id",
    "service_type",
]
