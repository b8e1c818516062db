"""Generate strings.json and translations/{en,nl,de}.json from the ledger and hand-written texts.

Every register becomes an entity translation under its platform, keyed
``<service type>_<register key>``; enum registers also get their states.
English comes from the ledger (``ha.name`` and the enum texts). The other
sections (title, config flow, options, issues, exceptions) are hand-written in
``register_ledgers/i18n/strings.base.json``; ``register_ledgers/i18n/<lang>.json``
holds their translation ("base") and the translated entity names and states,
by English text (see ``phrasebook``). A text without a translation is left out
of that language's file (Home Assistant then shows English) and reported.
A writable register is also shown read-only while writes are off, so it gets
the same entry under its read-only platform (``READ_ONLY_PLATFORMS``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .ledger import load_ledger
from .phrasebook import Phrasebook

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "victron_gx_modbus"
STATE_PLATFORMS = {"sensor", "select"}
LANGUAGES = ("nl", "de")
# The platform that shows a writable register while writes are off (buttons have no state to show).
# The integration keeps the same table (const.READ_ONLY_PLATFORMS); a test checks they agree.
READ_ONLY_PLATFORMS = {"number": "sensor", "select": "sensor", "text": "sensor", "switch": "binary_sensor"}


def translation_key(service_type: str, register_key: str) -> str:
    """The entity translation key of a register."""
    return f"{service_type}_{register_key}"


def entity_section(ledger: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The English ``entity`` section: platform -> translation key -> name (and states)."""
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


def translate_entities(
    english: dict[str, dict[str, Any]], names: Phrasebook, states: Phrasebook, missing: list[str]
) -> dict[str, dict[str, Any]]:
    """The entity section in another language; untranslated texts are left out and listed."""
    section: dict[str, dict[str, Any]] = {}
    for platform, items in english.items():
        for key, entry in items.items():
            translated: dict[str, Any] = {}
            name = names.translate(entry["name"])
            if name is None:
                missing.append(f"name {entry['name']!r}")
            else:
                translated["name"] = name
            state_texts = {}
            for state, text in entry.get("state", {}).items():
                found = states.translate(text)
                if found is None:
                    missing.append(f"state {text!r}")
                else:
                    state_texts[state] = found
            if state_texts:
                translated["state"] = state_texts
            if translated:
                section.setdefault(platform, {})[key] = translated
    return section


def _read_json(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def generate(ledger_dir: Path, integration_dir: Path) -> tuple[dict[Path, str], list[str]]:
    """File texts by path, and what the phrasebooks lack or no longer need."""
    i18n = ledger_dir / "i18n"
    entity = entity_section(load_ledger(ledger_dir))
    english = _dump({**_read_json(i18n / "strings.base.json"), "entity": entity})
    files = {integration_dir / "strings.json": english, integration_dir / "translations" / "en.json": english}
    findings: list[str] = []
    for language in LANGUAGES:
        book = _read_json(i18n / f"{language}.json")
        names, states = Phrasebook(book["names"]), Phrasebook(book["states"])
        missing: list[str] = []
        translated = translate_entities(entity, names, states, missing)
        findings += [f"{language}: no translation of {text}" for text in dict.fromkeys(missing)]
        findings += [f"{language}: unused name {text!r}" for text in names.unused()]
        findings += [f"{language}: unused state {text!r}" for text in states.unused()]
        files[integration_dir / "translations" / f"{language}.json"] = _dump(
            {**book["base"], "entity": translated}
        )
    return files, findings


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or with --check, verify) strings.json and the translations."""
    parser = argparse.ArgumentParser(prog="generate-translations", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when out of date")
    parser.add_argument("--ledger-dir", type=Path, default=ROOT / "register_ledgers")
    parser.add_argument("--integration-dir", type=Path, default=INTEGRATION)
    args = parser.parse_args(argv)
    files, findings = generate(args.ledger_dir, args.integration_dir)
    for line in findings:
        print(line, file=sys.stderr)
    stale = [
        path for path, text in files.items() if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    if args.check:
        for path in stale:
            print(f"out of date: {path} (run scripts/generate-translations)", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path], encoding="utf-8")
    print(f"wrote {len(stale)} file(s)", file=sys.stderr)
    return 0
