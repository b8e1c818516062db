"""The register ledger compiled into the core, as typed Python data."""

from __future__ import annotations

import json
from functools import cache
from typing import Literal, TypedDict

from ._core import ledger_json

type Platform = Literal["sensor", "binary_sensor", "number", "select", "switch", "button", "text"]


class WriteSpec(TypedDict):
    """How a writable register is written and which user limit bounds it."""

    kind: Platform
    bound: str


class HaMetadata(TypedDict):
    """Our Home Assistant metadata of one register."""

    name: str
    platform: Platform
    device_class: str | None
    state_class: str | None
    unit: str | None
    entity_category: Literal["config", "diagnostic"] | None
    enabled_by_default: bool
    suggested_precision: int | None
    suggested_unit: str | None
    states: dict[str, str] | None
    write: WriteSpec | None


class Sentinel(TypedDict):
    """A value the publishing service uses for "not available"; shown as unknown."""

    value: float
    means: str


class Register(TypedDict):
    """One register: official facts plus Home Assistant metadata."""

    key: str
    address: int
    type: str
    scale: float
    unit: str | None
    writable: bool
    dbus_path: str | None
    description: str
    range: list[float] | None
    enum: dict[str, str] | None
    remarks: str | None
    sentinels: list[Sentinel]
    overflow: str | None
    """Why real systems publish values the type cannot hold (then disabled by default)."""
    internal: bool
    since: str
    added_in: int | None
    ha: HaMetadata


class Service(TypedDict):
    """All registers of one D-Bus service type."""

    format: int
    service: str
    source_list: str
    reserved: list[list[int]]
    registers: list[Register]


SERVICE_PREFIX = "com.victronenergy."


def service_type(service: Service) -> str:
    """Short type name of a service: ``com.victronenergy.vebus`` -> ``vebus``."""
    return service["service"].removeprefix(SERVICE_PREFIX)


@cache
def _parsed() -> dict[str, Service]:
    services: list[Service] = json.loads(ledger_json())["services"]
    return {service_type(service): service for service in services}


def ledger() -> dict[str, Service]:
    """Return the compiled ledger: service type -> service with its registers.

    The data is parsed once and shared; treat it as read-only.
    """
    return _parsed()


@cache
def _by_key() -> dict[tuple[str, str], Register]:
    return {
        (name, register["key"]): register
        for name, service in _parsed().items()
        for register in service["registers"]
    }


def ledger_register(service: str, key: str) -> Register | None:
    """The register `key` of service type `service` (None when the ledger has no such register)."""
    return _by_key().get((service, key))
