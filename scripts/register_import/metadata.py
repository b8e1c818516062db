"""First-draft Home Assistant metadata for registers new to the ledger.

The importer calls this only for a register that has no entry in the ledger
yet. Once written, the metadata is ours: later imports keep it as it is, so a
hand edit (a better name, another device class) is never overwritten.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from .policy import entity_category

if TYPE_CHECKING:
    from .facts import RegisterFacts

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_KEY_CHAR = re.compile(r"[^a-z0-9]+")
_PHASE_IN_PATH = re.compile(r"/L([123])(?:/|$)")
_PHASE_WORDS = re.compile(
    r"\s*(?:\(\s*L{n}\s*\)|\bon\s+L{n}\b|\bL{n}\b|\bphase\s*{n}\b|\b{n}(?:st|nd|rd)\s+phase\b)\s*",
    re.IGNORECASE,
)
_BINARY_LABELS = (
    {"off", "on"},
    {"no", "yes"},
    {"open", "closed"},
    {"disabled", "enabled"},
    {"ok", "alarm"},
    {"ok", "error"},
    {"inactive", "active"},
    {"false", "true"},
    {"not running", "running"},
    {"no alarm", "alarm"},
)

# (official unit text) -> (HA unit, device class, write bound)
_UNITS: dict[str, tuple[str | None, str | None, str]] = {
    "W": ("W", "power", "ac_power"),
    "W AC": ("W", "power", "ac_power"),
    "W DC": ("W", "power", "dc_power"),
    "kW": ("kW", "power", "ac_power"),
    "VA": ("VA", "apparent_power", "ac_power"),
    "kWh": ("kWh", "energy", "energy"),
    "V": ("V", "voltage", "dc_voltage"),
    "V DC": ("V", "voltage", "dc_voltage"),
    "DC V": ("V", "voltage", "dc_voltage"),
    "V AC": ("V", "voltage", "ac_voltage"),
    "A": ("A", "current", "ac_current"),
    "A AC": ("A", "current", "ac_current"),
    "A DC": ("A", "current", "dc_current"),
    "DC A": ("A", "current", "dc_current"),
    "Hz": ("Hz", "frequency", "frequency"),
    "%": ("%", None, "percentage"),
    "Degrees celsius": ("°C", "temperature", "temperature"),
    "seconds": ("s", "duration", "duration"),
    "Seconds": ("s", "duration", "duration"),
    "s": ("s", "duration", "duration"),
    "seconds until next generator service": ("s", "duration", "duration"),
    "hour": ("h", "duration", "duration"),
    "day": ("d", "duration", "duration"),
    "Ah": ("Ah", None, "charge"),
    "m3": ("m³", "volume_storage", "volume"),
    "RPM": ("rpm", None, "register_range"),
    "kPa": ("kPa", "pressure", "register_range"),
    "hPa": ("hPa", "pressure", "register_range"),
    "ppm": ("ppm", "carbon_dioxide", "register_range"),
    "lux": ("lx", "illuminance", "register_range"),
    "µg/m³": ("µg/m³", "pm25", "register_range"),
    "W/m^2": ("W/m²", "irradiance", "register_range"),
    "m/s": ("m/s", "speed", "register_range"),
    "m": ("m", "distance", "register_range"),
    "Degrees": ("°", None, "register_range"),
    "Decimal degrees": ("°", None, "register_range"),
    "timestamp": (None, None, "timestamp"),
}


def _camel_to_snake(segment: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", segment).lower()


def slug(text: str) -> str:
    """Lower-case identifier of letters, digits and single underscores."""
    return _NOT_KEY_CHAR.sub("_", text.lower()).strip("_") or "value"


def base_key(facts: RegisterFacts) -> str:
    """Stable register key derived from the D-Bus path (or the description)."""
    if facts.dbus_path:
        parts = [_camel_to_snake(part) for part in facts.dbus_path.split("/") if part]
        return slug("_".join(parts))
    return slug(facts.description)


def phase_of(facts: RegisterFacts) -> int | None:
    """The AC phase (1-3) a register belongs to, from its D-Bus path."""
    match = _PHASE_IN_PATH.search(facts.dbus_path or "")
    return int(match.group(1)) if match else None


def entity_name(facts: RegisterFacts) -> str:
    """Readable name; phase registers end in "L1"/"L2"/"L3" consistently."""
    name = " ".join(facts.description.split())
    phase = phase_of(facts)
    if phase is not None:
        pattern = re.compile(_PHASE_WORDS.pattern.replace("{n}", str(phase)), re.IGNORECASE)
        stripped = pattern.sub(" ", name).strip(" -\N{EN DASH},;")
        name = f"{' '.join(stripped.split())} L{phase}"
    return name[:1].upper() + name[1:]


def _label_set(enum: dict[str, str]) -> set[str]:
    return {label.lower().strip(" .") for label in enum.values()}


def _is_binary(enum: dict[str, str] | None) -> bool:
    if enum is None or set(enum) != {"0", "1"}:
        return False
    return _label_set(enum) in _BINARY_LABELS


def platform_of(facts: RegisterFacts) -> str:
    """Which HA platform serves the register."""
    if facts.writable:
        if facts.type.startswith("string"):
            return "text"
        if facts.enum is not None and len(facts.enum) == 1:
            return "button"
        if _is_binary(facts.enum):
            return "switch"
        return "select" if facts.enum else "number"
    return "binary_sensor" if _is_binary(facts.enum) else "sensor"


def _precision(facts: RegisterFacts) -> int:
    scale = abs(facts.scale)
    return 0 if scale <= 1 else min(6, math.ceil(math.log10(scale)))


def _device_class(facts: RegisterFacts, unit_info: tuple[str | None, str | None, str] | None) -> str | None:
    path = facts.dbus_path or ""
    if unit_info is None:
        return None
    if unit_info[0] == "%" and path.endswith("/Soc"):
        return "battery"
    return unit_info[1]


def _state_class(facts: RegisterFacts, device_class: str | None, platform: str) -> str | None:
    if platform != "sensor" or facts.enum or facts.type.startswith("string"):
        return None
    if device_class == "energy":
        return "total_increasing"
    return "measurement"


def state_keys(enum: dict[str, str]) -> dict[str, str]:
    """Our own state keys for enum codes, unique within the register."""
    keys: dict[str, str] = {}
    for code, label in enum.items():
        key = slug(label)[:40].strip("_")
        keys[code] = f"{key}_{code}" if key in keys.values() else key
    return keys


def merge_state_keys(kept: dict[str, str], enum: dict[str, str]) -> dict[str, str]:
    """State keys for a changed enum: kept keys stay, new codes get drafted ones."""
    keys = {code: key for code, key in kept.items() if code in enum}
    for code, key in state_keys(enum).items():
        if code not in keys:
            keys[code] = f"{key}_{code}" if key in keys.values() else key
    return {code: keys[code] for code in enum}


def _write_spec(
    facts: RegisterFacts, platform: str, unit_info: tuple[str | None, str | None, str] | None
) -> dict[str, str] | None:
    if not facts.writable:
        return None
    if platform in {"select", "switch", "button"}:
        bound = "enum"
    elif platform == "text":
        bound = "text_length"
    elif unit_info is None:
        bound = "register_range"
    else:
        bound = physical_bound(unit_info[2], facts.dbus_path or "", facts.unit or "")
    return {"kind": platform, "bound": bound}


def is_dc(path: str, unit: str) -> bool:
    """Whether a current, voltage or power is on the DC side: the unit says so or the path does."""
    return "DC" in unit or "/Dc" in path or any(word in path for word in ("Battery", "Charge"))


def physical_bound(bound: str, path: str, unit: str) -> str:
    """The write bound of a unit's quantity on its side (AC or DC) and as a setpoint or a limit."""
    if bound in {"ac_current", "dc_current"}:
        return "dc_current" if is_dc(path, unit) else "ac_current"
    if bound in {"ac_voltage", "dc_voltage"}:
        return "dc_voltage" if is_dc(path, unit) else "ac_voltage"
    if bound in {"ac_power", "dc_power"}:
        if is_dc(path, unit) and "AC" not in unit:
            return "dc_power"
        leaf = path.rsplit("/", 1)[-1]
        return "ac_power_limit" if "Max" in leaf or "Limit" in leaf else "ac_power"
    return bound


def draft_metadata(facts: RegisterFacts) -> dict[str, Any]:
    """A first draft of the ``ha`` block of a register new to the ledger (disabled until reviewed)."""
    unit_info = _UNITS.get(facts.unit or "")
    platform = platform_of(facts)
    device_class = _device_class(facts, unit_info)
    if facts.enum and platform == "sensor":
        device_class = "enum"
    elif platform == "binary_sensor" and facts.enum and _label_set(facts.enum) & {"alarm", "error"}:
        device_class = "problem"
    numeric = not facts.enum and not facts.type.startswith("string")
    meta_unit = unit_info[0] if unit_info and numeric else None
    meta: dict[str, Any] = {
        "name": entity_name(facts),
        "platform": platform,
        "device_class": device_class if platform in {"sensor", "number", "binary_sensor"} else None,
        "state_class": _state_class(facts, device_class, platform),
        "unit": meta_unit,
        "entity_category": entity_category(
            facts.dbus_path, writable=facts.writable, internal=facts.internal, unit=meta_unit
        ),
        "enabled_by_default": False,
        "suggested_precision": _precision(facts) if numeric else None,
        "suggested_unit": None,
        "states": state_keys(facts.enum) if facts.enum and platform in {"sensor", "select"} else None,
        "write": _write_spec(facts, platform, unit_info),
    }
    return meta
