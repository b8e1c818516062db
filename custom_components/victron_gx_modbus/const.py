"""Constants of the Victron GX Modbus integration."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

DOMAIN: Final = "victron_gx_modbus"
LOGGER: Final = logging.getLogger(__package__)

MANUFACTURER: Final = "Victron Energy"
DEFAULT_PORT: Final = 502
DEFAULT_MODEL: Final = "GX device"

CONF_SCAN: Final = "scan"
"""Entry data: the stored scan result (the core's versioned ScanResult)."""
CONF_MODEL: Final = "model"
"""Entry data: the GX model name, when SSDP told it."""
CONF_SCAN_INTERVAL: Final = "scan_interval"
"""Entry option: seconds between polls."""
DEFAULT_SCAN_INTERVAL: Final = 5.0
MIN_SCAN_INTERVAL: Final = 1
MAX_SCAN_INTERVAL: Final = 3600
CONF_SLOW_EVERY: Final = "slow_every"
"""Entry option: slow registers (counters, settings) are read every this many polls."""
DEFAULT_SLOW_EVERY: Final = 6
MIN_SLOW_EVERY: Final = 1
MAX_SLOW_EVERY: Final = 100
CONF_EXCLUDED_DEVICES: Final = "excluded_devices"
"""Entry option: found devices ("<unit>/<service>") that get no entities and are never polled.

Stored as the excluded ones, so a device a rescan adds is included.
"""

# Client timeouts (seconds) of the config flow's connection test and scan, and of polling.
REQUEST_TIMEOUT: Final = 3.0
CONNECT_TIMEOUT: Final = 5.0
SCAN_MAX_RATE: Final = 500.0
"""Requests per second a scan may send the GX (a deep scan probes every unit ID)."""

GX_UNIT: Final = 100
GX_SERVICES: Final = frozenset({"system", "settings", "hub4", "platform"})
"""Service types of the GX itself (served at unit 100)."""

READ_ONLY_PLATFORMS: Final = {
    "sensor": "sensor",
    "binary_sensor": "binary_sensor",
    "number": "sensor",
    "select": "sensor",
    "text": "sensor",
    "switch": "binary_sensor",
}
"""Ledger platform -> the platform that shows the register while writes are off.

Buttons have no state to show and are left out. The translation generator
keeps the same table for writable registers (a test checks they agree).
"""


def translation_key(service_type: str, register_key: str) -> str:
    """Entity translation key of a register (matches strings.json)."""
    return f"{service_type}_{register_key}"


def device_key(unit: int, service_type: str) -> str:
    """A device's key in the options, sweep outcomes and diagnostics: `<unit>/<service>`."""
    return f"{unit}/{service_type}"


def device_identifier(gx_serial: str, unit: int, service_type: str) -> str:
    """Device registry identifier of a device behind the GX."""
    return f"{gx_serial}_{unit}_{service_type}"


def entity_unique_id(gx_serial: str, unit: int, service_type: str, register_key: str) -> str:
    """Unique ID of a register's entity: frozen, never change it."""
    return f"{gx_serial}_{unit}_{service_type}_{register_key}"


CONF_WRITES: Final = "writes"
"""Entry option: whether writable registers are controls (number, select, …) within the limits."""
CONF_LIMITS: Final = "limits"
"""Entry option: the user's electrical limits, as keyword arguments of the core's `Limits`."""

CONF_SWEEP: Final = "sweep"
"""Entry data: the background sweep's outcome once it finished (absent: still to do)."""
SWEEP_RATE: Final = 5.0
"""Requests per second of the background sweep (it yields to polling)."""
SWEEP_PATIENCE: Final = 900.0
"""Seconds the background sweep waits for a GX that stopped answering (a reboot) before it gives up."""
CONF_UNIT_IDS: Final = "unit_ids"
"""Entry data: the unit IDs the user listed (only those are scanned; no background sweep)."""
CONF_MQTT: Final = "mqtt"
"""Entry data: MQTT discovery settings (enabled, port, the GX's password when it asks for one, portal ID)."""
MQTT_REFRESH_INTERVAL: Final = timedelta(minutes=10)
"""How often an MQTT entry reads the GX's list again for devices plugged in since (no Modbus request)."""
MQTT_TIMEOUT: Final = 5.0
"""Seconds the MQTT check and the list's reading may take at most (a refused connection answers at once)."""
