"""Generate the entity part of strings.json (and translations/en.json) from the ledger.

Every register becomes an entity translation under its platform, keyed
``<service type>_<register key>``; enum registers also get their states.
A writable register is also shown read-only while writes are off, so it gets
the same entry under its read-only platform (``READ_ONLY_PLATFORMS``).
The rest of strings.json (config flow, device and exception texts) is
hand-written and kept as it is.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .ledger import load_ledger

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "victron_gx_modbus"
STATE_PLATFORMS = {"sensor", "select"}
# The platform that shows a writable register while writes are off (buttons have no state to show).
# The integration keeps the same table (const.READ_ONLY_PLATFORMS); a test checks they agree.
READ_ONLY_PLATFORMS = {"number": "sensor", "select": "sensor", "text": "sensor", "switch": "binary_sensor"}


def translation_key(service_type: str, register_key: str) -> str:
    """The entity translation key of a register."""
    return f"{service_type}_{register_key}"


def entity_section(ledger: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The ``entity`` section: platform -> translation key -> name (and states)."""
    section: dict[str, dict[str, Any]] = {}
    for service_type, service in sorted(ledger.items()):
        for register in service["registers"]:
            ha = register["ha"]
            entry: dict[str, Any] = {"name": ha["name"]}
            if ha["states"] and ha["platform"] in STATE_PLATFORMS:
                labels = register["enum"]
                entry["state"] = {state: labels[code] for code, state in ha["states"].items()}
            key = translation_key(service_type, register["key"])
            section.setdefault(ha["platform"], {})[key] = entry
            if read_only := READ_ONLY_PLATFORMS.get(ha["platform"]):
                section.setdefault(read_only, {})[key] = entry
    return {platform: dict(sorted(items.items())) for platform, items in sorted(section.items())}


def render(strings: dict[str, Any], ledger: dict[str, dict[str, Any]]) -> str:
    """strings.json text with the entity section regenerated."""
    updated = {**strings, "entity": entity_section(ledger)}
    return json.dumps(updated, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or with --check, verify) strings.json and translations/en.json."""
    parser = argparse.ArgumentParser(prog="generate-translations", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when out of date")
    parser.add_argument("--ledger-dir", type=Path, default=ROOT / "register_ledgers")
    parser.add_argument("--integration-dir", type=Path, default=INTEGRATION)
    args = parser.parse_args(argv)
    strings_path = args.integration_dir / "strings.json"
    strings = json.loads(strings_path.read_text(encoding="utf-8"))
    text = render(strings, load_ledger(args.ledger_dir))
    targets = [strings_path, args.integration_dir / "translations" / "en.json"]
    stale = [path for path in targets if not path.is_file() or path.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"out of date: {path} (run scripts/generate-translations)", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(stale)} file(s)", file=sys.stderr)
    return 0
