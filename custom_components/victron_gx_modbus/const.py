"""Constants of the Victron GX Modbus integration."""

from typing import Final

DOMAIN: Final = "victron_gx_modbus"


def translation_key(service_type: str, register_key: str) -> str:
    """Entity translation key of a register (matches strings.json)."""
    return f"{service_type}_{register_key}"
