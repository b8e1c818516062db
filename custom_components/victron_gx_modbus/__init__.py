"""The Victron GX Modbus integration (platforms arrive with the engine issues)."""

from .const import DOMAIN

__all__ = ["DOMAIN"]
