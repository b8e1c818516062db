"""strings.json and translations/en.json stay in sync with the ledger."""

from __future__ import annotations

import json

from conftest import ROOT
from register_import.translations import main as translations_main
from victron_gx_modbus import ledger

from custom_components.victron_gx_modbus.const import translation_key

INTEGRATION = ROOT / "custom_components" / "victron_gx_modbus"


def test_strings_are_generated_from_the_ledger() -> None:
    assert translations_main(["--check"]) == 0


def test_every_register_has_a_translation() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    english = json.loads((INTEGRATION / "translations" / "en.json").read_text(encoding="utf-8"))
    assert strings == english
    for service_type, service in ledger().items():
        for register in service["registers"]:
            ha = register["ha"]
            entry = strings["entity"][ha["platform"]][translation_key(service_type, register["key"])]
            assert entry["name"] == ha["name"]
            if ha["states"] and ha["platform"] in {"sensor", "select"}:
                assert set(entry["state"]) == set(ha["states"].values())
