"""Which entity category a register belongs in (docs/ledger-metadata.md).

The importer drafts new registers with it and the tests hold the ledger to its
two hard rules: a writable register is configuration, and an identity or
error-code register is diagnostic.
"""

from __future__ import annotations

import re

_IDENTITY = re.compile(
    r"^/(?:Serial|ProductId|ProductName|FirmwareVersion|HardwareVersion|DeviceInstance|Model"
    r"|Connected|ConnectionInformation|Mgmt/.+)$"
)
_ERROR_DETAIL = re.compile(r"(?:/ErrorCode|/VebusError|/Error)$|/Errors?/|/Diagnostics/")
_RETIRED = re.compile(r"\b(?:deprecated|unsupported)\b", re.IGNORECASE)


def is_identity(dbus_path: str | None, *, internal: bool) -> bool:
    """Product, serial, firmware, instance and the GX's INTERNAL registers."""
    return internal or bool(_IDENTITY.match(dbus_path or ""))


def is_error_detail(dbus_path: str | None) -> bool:
    """Error codes, VE.Bus/BMS error flags and error histories."""
    return bool(_ERROR_DETAIL.search(dbus_path or ""))


def is_retired(description: str, remarks: str | None) -> bool:
    """Registers the list calls deprecated or unsupported."""
    return bool(_RETIRED.search(f"{description} {remarks or ''}"))


def entity_category(dbus_path: str | None, *, writable: bool, internal: bool, unit: str | None) -> str | None:
    """``config`` for settings; ``diagnostic`` for identity, errors, history and unit details."""
    path = dbus_path or ""
    if writable:
        return "config"
    if is_identity(dbus_path, internal=internal) or is_error_detail(dbus_path):
        return "diagnostic"
    if path.startswith("/Devices/") or (path.startswith("/History/") and unit != "kWh"):
        return "diagnostic"
    return None
