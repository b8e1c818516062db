"""Victron Energy GX Modbus TCP core for Home Assistant.

The work is done in Rust (``victron_gx_modbus._core``); this package gives it
a typed Python face.
"""

from ._core import Limits, __version__, decode, encode
from .client import (
    Client,
    DumpedBlock,
    DumpedDevice,
    FoundDevice,
    GxIdentity,
    Metrics,
    PlannedRegister,
    ScanProgress,
    ScanResult,
    Snapshot,
    SweepResult,
    WriteInfo,
    register_id,
)
from .errors import (
    CodecError,
    DeviceException,
    GXConnectionError,
    GXProtocolError,
    GXTimeoutError,
    LedgerError,
    LimitsError,
    MqttCertificateChanged,
    ScanDataError,
    SimulatorError,
    VictronError,
    WriteNotConfirmed,
    WriteRefused,
)
from .ledger import HaMetadata, Register, Service, WriteSpec, ledger, ledger_register, service_type
from .mqtt import Discovery, DiscoveryPhase, MqttCheck, MqttOptions, PublishedDevice
from .simulator import SimulatedDevice, Simulator, SimulatorStats, WriteLogEntry
from .unit_ids import MAX_UNIT_ID, parse_unit_id, parse_unit_list

__all__ = [
    "MAX_UNIT_ID",
    "Client",
    "CodecError",
    "DeviceException",
    "Discovery",
    "DiscoveryPhase",
    "DumpedBlock",
    "DumpedDevice",
    "FoundDevice",
    "GXConnectionError",
    "GXProtocolError",
    "GXTimeoutError",
    "GxIdentity",
    "HaMetadata",
    "LedgerError",
    "Limits",
    "LimitsError",
    "Metrics",
    "MqttCertificateChanged",
    "MqttCheck",
    "MqttOptions",
    "PlannedRegister",
    "PublishedDevice",
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
    "SweepResult",
    "VictronError",
    "WriteInfo",
    "WriteLogEntry",
    "WriteNotConfirmed",
    "WriteRefused",
    "WriteSpec",
    "__version__",
    "decode",
    "encode",
    "ledger",
    "ledger_register",
    "parse_unit_id",
    "parse_unit_list",
    "register_id",
    "service_type",
]
