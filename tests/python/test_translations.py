"""strings.json and translations/{en,nl,de}.json stay in sync with the ledger and are complete."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

import pytest
from conftest import ROOT
from register_import.phrasebook import Phrasebook
from register_import.translations import LANGUAGES, generate
from register_import.translations import main as translations_main
from victron_gx_modbus import ledger

from custom_components.victron_gx_modbus.const import translation_key

if TYPE_CHECKING:
    from pathlib import Path

INTEGRATION = ROOT / "custom_components" / "victron_gx_modbus"
MOST_SAME_AS_ENGLISH = 0.15


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((INTEGRATION / "translations" / name).read_text(encoding="utf-8"))
    return document


def _leaves(document: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Every text of a translation file by its dotted key."""
    leaves: dict[str, str] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            leaves |= _leaves(value, f"{prefix}{key}.")
        else:
            leaves[f"{prefix}{key}"] = value
    return leaves


def test_strings_are_generated_from_the_ledger() -> None:
    assert translations_main(["--check"]) == 0


def test_phrasebooks_lack_nothing_and_hold_nothing_stale() -> None:
    _, findings = generate(ROOT / "register_ledgers", INTEGRATION)
    assert findings == []


def test_every_register_has_a_translation() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    assert strings == _load("en.json")
    for service_type, service in ledger().items():
        for register in service["registers"]:
            ha = register["ha"]
            entry = strings["entity"][ha["platform"]][translation_key(service_type, register["key"])]
            assert entry["name"] == ha["name"]
            if ha["states"] and ha["platform"] in {"sensor", "select"}:
                assert set(entry["state"]) == set(ha["states"].values())


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_language_covers_exactly_the_english_keys(language: str) -> None:
    assert _leaves(_load(f"{language}.json")).keys() == _leaves(_load("en.json")).keys()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", [".name", ".state."])
def test_few_texts_are_left_as_in_english(language: str, kind: str) -> None:
    english = {key: text for key, text in _leaves(_load("en.json")).items() if kind in key}
    translated = _leaves(_load(f"{language}.json"))
    same = sorted({text for key, text in english.items() if translated[key] == text})
    share = sum(translated[key] == text for key, text in english.items()) / len(english)
    assert share <= MOST_SAME_AS_ENGLISH, same


def test_hand_written_sections_are_merged_into_every_file(tmp_path: Path) -> None:
    ledger_dir = tmp_path / "ledgers"
    shutil.copytree(ROOT / "register_ledgers", ledger_dir)
    config = {"step": {"user": {"title": "Connect to the GX"}}}
    (ledger_dir / "i18n" / "strings.base.json").write_text(
        json.dumps({"title": "Victron GX Modbus", "config": config}), encoding="utf-8"
    )
    files, _ = generate(ledger_dir, tmp_path)
    strings = json.loads(files[tmp_path / "strings.json"])
    assert strings["config"] == config
    assert list(strings) == ["title", "config", "entity"]
    dutch = json.loads(files[tmp_path / "translations" / "nl.json"])
    assert dutch["title"] == "Victron GX Modbus"
    assert "entity" in dutch


def test_phrasebook_reads_phases_and_numbers() -> None:
    book = Phrasebook({"Grid - Power": "Netvermogen", "PV power for tracker {0}": "PV-vermogen tracker {0}"})
    assert book.translate("Grid - Power L2") == "Netvermogen L2"
    assert book.translate("PV power for tracker 3") == "PV-vermogen tracker 3"
    assert book.translate("Battery voltage") is None
    assert book.unused() == []
