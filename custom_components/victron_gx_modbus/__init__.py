"""The Victron GX Modbus integration (its config flow and platforms are the next issues)."""

from .const import DOMAIN

__all__ = ["DOMAIN"]
