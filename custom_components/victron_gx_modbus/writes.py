"""Writes: the entry's limits for the core, and the errors a write raises in Home Assistant terms.

Every bound comes from the core (`Client.write_info`); nothing here computes one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from victron_gx_modbus import DeviceException, Limits, VictronError, WriteNotConfirmed, WriteRefused

from .const import CONF_LIMITS, CONF_WRITES, DOMAIN

if TYPE_CHECKING:
    from collections.abc import Mapping


def writes_on(options: Mapping[str, Any]) -> bool:
    """Whether the entry's options turn writes on (off by default)."""
    return bool(options.get(CONF_WRITES, False)) and CONF_LIMITS in options


def entry_limits(options: Mapping[str, Any]) -> Limits | None:
    """The core's limits of an entry with writes on (validated again by the core); else None."""
    return Limits(**options[CONF_LIMITS]) if writes_on(options) else None


def _number(value: float | None) -> str:
    """A bound or value as the user typed it (no trailing .0)."""
    if value is None:
        return "?"
    return f"{value:g}"


def raise_write_error(err: VictronError, entity_id: str, value: float | str) -> NoReturn:
    """Re-raise a failed write as a translated Home Assistant error."""
    if isinstance(err, WriteRefused):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="write_refused",
            translation_placeholders={
                "entity": entity_id,
                "register": err.register,
                "value": value if isinstance(value, str) else _number(value),
                "min": _number(err.min),
                "max": _number(err.max),
                "reason": err.reason,
            },
        ) from err
    if isinstance(err, WriteNotConfirmed):
        key, placeholders = "write_not_confirmed", {"written": err.written, "read_back": err.read_back}
    elif isinstance(err, DeviceException):
        key, placeholders = "write_exception", {"code": f"0x{err.code:02X}"}
    else:
        key, placeholders = "write_failed", {"error": str(err)}
    raise HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"entity": entity_id, **placeholders},
    ) from err
