"""Every text the integration asks Home Assistant to translate exists, and survives regeneration."""

from __future__ import annotations

import json
from typing import Any

from conftest import ROOT
from register_import.translations import READ_ONLY_PLATFORMS as GENERATOR_READ_ONLY
from register_import.translations import main as translations_main
from victron_gx_modbus import ledger

from custom_components.victron_gx_modbus.const import READ_ONLY_PLATFORMS
from custom_components.victron_gx_modbus.descriptions import binary_sensor_descriptions, sensor_descriptions

INTEGRATION = ROOT / "custom_components" / "victron_gx_modbus"


def strings() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    return loaded


def test_generator_and_integration_agree_on_read_only_platforms() -> None:
    writable = {platform: shown for platform, shown in READ_ONLY_PLATFORMS.items() if platform != shown}
    assert writable == GENERATOR_READ_ONLY


def test_hand_written_sections_survive_regeneration() -> None:
    assert translations_main(["--check"]) == 0
    assert {"config", "device", "exceptions"} <= set(strings())


def test_every_description_has_its_name_and_states() -> None:
    entity = strings()["entity"]
    for platform, descriptions in (
        ("sensor", sensor_descriptions()),
        ("binary_sensor", binary_sensor_descriptions()),
    ):
        for description in descriptions.values():
            assert description.translation_key is not None
            entry = entity[platform][description.translation_key]
            assert entry["name"]
            options = getattr(description, "options", None)
            if options:
                assert set(entry["state"]) == set(options)


def test_every_service_type_has_a_device_name() -> None:
    devices = strings()["device"]
    assert set(devices) == set(ledger())


def test_config_flow_texts() -> None:
    config = strings()["config"]
    assert set(config["error"]) == {
        "cannot_connect",
        "timeout",
        "not_a_gx",
        "unknown",
        "invalid_unit_ids",
        "invalid_mqtt_password",
        "mqtt_unavailable",
        "port_range",
        "same_device_twice",
    }
    assert "Modbus TCP server" in config["error"]["cannot_connect"]
    assert {"already_configured", "scan_failed", "no_host"} <= set(config["abort"])
    assert {"user", "ssdp_confirm", "mqtt_password", "summary", "rescan_summary"} <= set(config["step"])
    assert "{discovery}" in config["step"]["summary"]["description"]
    assert "{discovery}" in config["step"]["rescan_summary"]["description"]
    assert "Modbus TCP" in config["step"]["ssdp_confirm"]["description"]
    assert "scan" in config["progress"]
