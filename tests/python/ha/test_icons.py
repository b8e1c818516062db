"""icons.json: generated from the ledger, every key an entity translation key, every icon a real mdi icon."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import ROOT
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.helpers.icon import async_get_icons
from register_import.icons import main as icons_main

from custom_components.victron_gx_modbus.const import DOMAIN
from custom_components.victron_gx_modbus.descriptions import binary_sensor_descriptions, sensor_descriptions

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

INTEGRATION = ROOT / "custom_components" / "victron_gx_modbus"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((INTEGRATION / name).read_text(encoding="utf-8"))
    return document


def icon_entries() -> dict[str, dict[str, Any]]:
    entity: dict[str, dict[str, Any]] = load("icons.json")["entity"]
    return entity


def test_icons_json_is_generated_from_the_ledger() -> None:
    assert icons_main(["--check"]) == 0


def test_every_icon_key_is_an_entity_translation_key() -> None:
    strings = load("strings.json")["entity"]
    for platform, entries in icon_entries().items():
        assert entries, platform
        for key, icons in entries.items():
            assert key in strings[platform], (platform, key)
            assert set(icons) <= {"default", "state"}
            assert set(icons.get("state", {})) <= set(strings[platform][key].get("state", {})), key


def test_enum_and_plain_binary_sensors_have_icons() -> None:
    icons = icon_entries()
    enums = [d for d in sensor_descriptions().values() if d.device_class is SensorDeviceClass.ENUM]
    plain = [d for d in binary_sensor_descriptions().values() if d.device_class is None]
    assert enums
    assert plain
    assert all(d.translation_key in icons["sensor"] for d in enums)
    assert all(d.translation_key in icons["binary_sensor"] for d in plain)
    assert icons["sensor"]["vebus_alarms_high_temperature"]["state"]["alarm"] == "mdi:alert-circle"


def test_every_icon_exists_in_the_frontend() -> None:
    used = {
        icon
        for entries in icon_entries().values()
        for icons in entries.values()
        for icon in [icons["default"], *icons.get("state", {}).values()]
    }
    assert all(icon.startswith("mdi:") for icon in used)
    spec = importlib.util.find_spec("hass_frontend")
    if spec is None or spec.origin is None:
        pytest.skip("home-assistant-frontend is not installed: icon names unchecked")
    icon_list = Path(spec.origin).parent / "static" / "mdi" / "iconList.json"
    known = {icon["name"] for icon in json.loads(icon_list.read_text(encoding="utf-8"))}
    assert {icon.removeprefix("mdi:") for icon in used} <= known


async def test_home_assistant_loads_the_icons(hass: HomeAssistant) -> None:
    icons = await async_get_icons(hass, "entity", integrations=[DOMAIN])
    sensor = icons[DOMAIN]["sensor"]
    assert sensor["vebus_state"]["default"] == "mdi:state-machine"
    assert sensor["system_ac_active_in_source"]["state"]["grid"] == "mdi:transmission-tower"
