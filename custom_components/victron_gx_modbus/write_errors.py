"""A failed write in Home Assistant's terms: a translated error that says what the core refused or why."""

from __future__ import annotations

from functools import wraps
from typing import TYPE_CHECKING

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from victron_gx_modbus import DeviceException, VictronError, WriteNotConfirmed, WriteRefused

from .const import DOMAIN

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine
    from typing import Any

    from homeassistant.helpers.entity import Entity


def translate_write_errors[E: Entity, V: float | str](
    write: Callable[[E, V], Awaitable[None]],
) -> Callable[[E, V], Coroutine[Any, Any, None]]:
    """Wrap an entity's write so that a failed one raises the translated error (`write_error`)."""

    @wraps(write)
    async def translated(entity: E, value: V) -> None:
        try:
            await write(entity, value)
        except VictronError as err:
            raise write_error(err, entity.entity_id, value) from err

    return translated


def write_error(err: VictronError, entity_id: str, value: float | str) -> HomeAssistantError:
    """The Home Assistant error of a failed write: refused (the user's to fix) or failed at the GX."""
    if isinstance(err, WriteRefused):
        return ServiceValidationError(
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
        )
    if isinstance(err, WriteNotConfirmed):
        key, placeholders = "write_not_confirmed", {"written": err.written, "read_back": err.read_back}
    elif isinstance(err, DeviceException):
        key, placeholders = "write_exception", {"code": f"0x{err.code:02X}"}
    else:
        key, placeholders = "write_failed", {"error": str(err)}
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"entity": entity_id, **placeholders},
    )


def _number(value: float | None) -> str:
    """A bound or value as the user typed it (no trailing .0)."""
    if value is None:
        return "?"
    return f"{value:g}"
