"""The register ledger compiled into the core, as typed Python data."""

from __future__ import annotations

import json
from functools import cache

from ._core import ledger_json
from ._results import (
    EntityCategory,
    HaMetadata,
    Ledger,
    Platform,
    Register,
    Sentinel,
    Service,
    WriteBound,
    WriteSpec,
)

__all__ = [
    "SERVICE_PREFIX",
    "EntityCategory",
    "HaMetadata",
    "Ledger",
    "Platform",
    "Register",
    "Sentinel",
    "Service",
    "WriteBound",
    "WriteSpec",
    "ledger",
    "ledger_register",
    "service_type",
]

SERVICE_PREFIX = "com.victronenergy."


def service_type(service: Service) -> str:
    """Short type name of a service: ``com.victronenergy.vebus`` -> ``vebus``."""
    return service["service"].removeprefix(SERVICE_PREFIX)


@cache
def _parsed() -> dict[str, Service]:
    compiled: Ledger = json.loads(ledger_json())
    return {service_type(service): service for service in compiled["services"]}


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
