"""Generate icons.json: an mdi icon per entity translation key where the device class gives none.

Rules match the register key (first match wins); enum states that carry a
meaning of their own (alarm levels, on/off, AC sources) get state icons. A
register with a device class other than enum keeps the device class's icon.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from .ledger import load_ledger
from .translations import INTEGRATION, READ_ONLY_PLATFORMS, ROOT, translation_key

RULES: tuple[tuple[str, str], ...] = (
    (r"(^|_)serial$", "mdi:barcode"),
    (r"firmware|_version$|beta_release", "mdi:chip"),
    (r"product_id|^model$|cell_id$", "mdi:identifier"),
    (r"custom_name|system_name|connection_information", "mdi:tag-text-outline"),
    (r"relay", "mdi:electric-switch"),
    (r"^history_.*(alarms|cycles|discharges|syncs)$|count$|shut_downs|nr_of_(batt|cell|mod)", "mdi:counter"),
    (r"error|fault", "mdi:alert-circle-outline"),
    (r"alarm|imbalance|overload|ripple", "mdi:alert-outline"),
    (r"latitude|longitude|(^|_)fix$", "mdi:crosshairs-gps"),
    (r"course", "mdi:compass-outline"),
    (r"satellites", "mdi:satellite-variant"),
    (r"speed|rpm", "mdi:speedometer"),
    (r"engine_load|field_drive", "mdi:engine"),
    (r"(^|_)start($|_)|start_stop|running|quiet_hours|generator_selected|redetect", "mdi:engine"),
    (r"mpp_operation|pv_(\d_enabled|disable|inverter_disable|power_lim)|renewable|solar", "mdi:solar-power"),
    (r"active_in|ac_input\d|ac_in_\d_type|ignore_ac_in", "mdi:transmission-tower-import"),
    (r"feed_in|feedback|peak_shave|restrictions|export_limit", "mdi:transmission-tower-export"),
    (r"input_limit|current_boost", "mdi:transmission-tower"),
    (r"allow_to_charge|disable_charge|charge_rate|max_charge", "mdi:battery-charging"),
    (r"allow_to_discharge|discharge", "mdi:battery-arrow-down-outline"),
    (r"soc_limit|target_soc|sustain|battery_life", "mdi:battery-lock"),
    (r"(^|_)soh$", "mdi:battery-heart-variant"),
    (r"amphours|_ah$|_ah_|capacity", "mdi:battery-outline"),
    (r"balanc", "mdi:scale-balance"),
    (r"batteries_(parallel|series)", "mdi:battery-plus-outline"),
    (r"power_factor|number_of_phases|micro_grid|mid_voltage", "mdi:sine-wave"),
    (r"session_(saved_)?cost", "mdi:cash"),
    (r"^level$", "mdi:storage-tank"),
    (r"fluid_type", "mdi:water"),
    (r"temperature_type", "mdi:thermometer"),
    (r"^(offset|scale)$", "mdi:tune-vertical"),
    (r"humidity", "mdi:water-percent"),
    (r"^(nox|voc)$", "mdi:air-filter"),
    (r"restore", "mdi:backup-restore"),
    (r"(^|_)position$", "mdi:map-marker-outline"),
    (r"grid_meter", "mdi:meter-electric-outline"),
    (r"enabled|_disable|activate|allowed|ups_function|assist|expected|_switch$", "mdi:toggle-switch-outline"),
    (r"(^|_)mode($|_)|strategy|dynamic_ess_(active|available)|operation", "mdi:cog-outline"),
    (r"state$|status|pending|(^|_)type$|notify", "mdi:state-machine"),
    (r"pump\d_(start|stop)_value", "mdi:pump"),
)
"""(register key pattern, icon); first match wins."""

STATE_ICONS = {
    "alarm": "mdi:alert-circle",
    "warning": "mdi:alert-outline",
    "almost_discharged": "mdi:battery-alert-variant-outline",
    "no_alarm": "mdi:check-circle-outline",
    "ok": "mdi:check-circle-outline",
    "on": "mdi:toggle-switch",
    "off": "mdi:toggle-switch-off-outline",
    "grid": "mdi:transmission-tower",
    "genset": "mdi:engine",
    "shore": "mdi:power-plug",
    "unused": "mdi:power-plug-off-outline",
}
"""Icons of enum states whose meaning is the same wherever they occur."""

_COMPILED = tuple((re.compile(pattern), icon) for pattern, icon in RULES)


def icon_for(register_key: str) -> str | None:
    """The default icon of a register without a device class icon; None when no rule matches."""
    return next((icon for pattern, icon in _COMPILED if pattern.search(register_key)), None)


def icon_entry(register: dict[str, Any]) -> dict[str, Any] | None:
    """The icons.json entry of a register, or None to keep Home Assistant's default."""
    ha = register["ha"]
    if ha["device_class"] not in {None, "enum"}:
        return None
    default = icon_for(register["key"])
    if default is None:
        return None
    entry: dict[str, Any] = {"default": default}
    states = {state: STATE_ICONS[state] for state in (ha["states"] or {}).values() if state in STATE_ICONS}
    if states:
        entry["state"] = dict(sorted(states.items()))
    return entry


def icons_document(ledger: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """icons.json: platform -> translation key -> icons, under the same platforms as strings.json."""
    section: dict[str, dict[str, Any]] = {}
    for service_type, service in sorted(ledger.items()):
        for register in service["registers"]:
            entry = icon_entry(register)
            if entry is None:
                continue
            key = translation_key(service_type, register["key"])
            platform = register["ha"]["platform"]
            for shown in filter(None, (platform, READ_ONLY_PLATFORMS.get(platform))):
                section.setdefault(shown, {})[key] = entry
    return {"entity": {platform: dict(sorted(items.items())) for platform, items in sorted(section.items())}}


def render(ledger_dir: Path) -> str:
    """The text of icons.json for the ledger in `ledger_dir`."""
    return json.dumps(icons_document(load_ledger(ledger_dir)), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or with --check, verify) custom_components/victron_gx_modbus/icons.json."""
    parser = argparse.ArgumentParser(prog="generate-icons", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when out of date")
    parser.add_argument("--ledger-dir", type=Path, default=ROOT / "register_ledgers")
    parser.add_argument("--output", type=Path, default=INTEGRATION / "icons.json")
    args = parser.parse_args(argv)
    text = render(args.ledger_dir)
    current = args.output.read_text(encoding="utf-8") if args.output.is_file() else None
    if current == text:
        return 0
    if args.check:
        print(f"out of date: {args.output} (run scripts/generate-icons)", file=sys.stderr)
        return 1
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
