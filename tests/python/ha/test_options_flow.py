"""The options flow: polling, device inclusion and writes take effect on reload; the menu shows the sweep."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.data_entry_flow import FlowResultType, InvalidData

from custom_components.victron_gx_modbus.const import (
    CONF_EXCLUDED_DEVICES,
    CONF_SLOW_EVERY,
    DOMAIN,
    device_identifier,
)

from .compat import device_of, form_fields
from .conftest import coordinator_of, entry_entities, mock_entry, register_of, scan_of, setup_entry, state_of

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigFlowResult
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from victron_gx_modbus import Simulator

CONNECTION = "custom_components.victron_gx_modbus.connection"
SERIAL = "c0619ab2a7d1"  # the GX of the three-phase scenario
ALL_DEVICES = [
    "100/system",
    "100/settings",
    "0/solarcharger",
    "1/solarcharger",
    "2/solarcharger",
    "3/solarcharger",
    "20/pvinverter",
    "30/grid",
    "40/evcharger",
    "41/genset",
    "225/battery",
    "227/vebus",
]


async def open_options(hass: HomeAssistant, entry: MockConfigEntry, choice: str) -> ConfigFlowResult:
    """Open the options menu and pick `choice`."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "init"
    assert result["menu_options"] == ["settings", "writes"]
    return await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": choice})


def settings(interval: float = 5, devices: list[str] | None = None, slow_every: float = 6) -> dict[str, Any]:
    """The settings form as the frontend sends it (numbers as floats)."""
    chosen = ALL_DEVICES if devices is None else devices
    return {
        CONF_SCAN_INTERVAL: float(interval),
        "devices": chosen,
        "advanced": {CONF_SLOW_EVERY: float(slow_every)},
    }


async def save_settings(hass: HomeAssistant, entry: MockConfigEntry, user_input: dict[str, Any]) -> None:
    """Submit the settings form and wait for the reload it causes."""
    result = await open_options(hass, entry, "settings")
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert state_of(entry) is ConfigEntryState.LOADED


def options_strings() -> dict[str, Any]:
    from .test_strings import strings  # noqa: PLC0415 - shared reader of strings.json

    options: dict[str, Any] = strings()["options"]
    return options


async def requests_per_cycle(entry: MockConfigEntry, simulator: Simulator, cycles: int) -> list[int]:
    """Requests the simulated GX sees in each of `cycles` coordinator refreshes."""
    counts = []
    for _ in range(cycles):
        simulator.reset_stats()
        await coordinator_of(entry).async_refresh()
        counts.append(simulator.stats()["requests"])
    return counts


async def test_settings_form_shows_the_stored_options_and_readable_devices(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = mock_entry(simulator, await scan_of(simulator))
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={CONF_SCAN_INTERVAL: 30, CONF_SLOW_EVERY: 4, CONF_EXCLUDED_DEVICES: ["40/evcharger"]}
    )
    result = await open_options(hass, entry, "settings")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "settings"
    fields = form_fields(result["data_schema"])
    by_name = {field["name"]: field for field in fields}
    assert list(by_name) == [CONF_SCAN_INTERVAL, "devices", "advanced"]
    assert by_name[CONF_SCAN_INTERVAL]["default"] == 30
    assert by_name[CONF_SCAN_INTERVAL]["selector"]["number"]["min"] == 1
    assert by_name[CONF_SCAN_INTERVAL]["selector"]["number"]["max"] == 3600
    assert by_name["devices"]["default"] == [key for key in ALL_DEVICES if key != "40/evcharger"]
    labels = {
        option["value"]: option["label"] for option in by_name["devices"]["selector"]["select"]["options"]
    }
    assert list(labels) == ALL_DEVICES
    assert labels["225/battery"] == "Lynx BMS (Battery 225), unit 225"
    assert labels["100/system"] == "System overview, unit 100"
    advanced = by_name["advanced"]
    assert advanced["type"] == "expandable"
    assert advanced["expanded"] is False
    assert advanced["schema"][0]["name"] == CONF_SLOW_EVERY
    assert advanced["schema"][0]["default"] == 4
    assert advanced["schema"][0]["selector"]["number"]["max"] == 100


async def test_interval_and_slow_factor_take_effect_and_survive_a_reload(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    client = entry.runtime_data.client
    await save_settings(hass, entry, settings(interval=3600, slow_every=1))
    assert entry.options == {CONF_SCAN_INTERVAL: 3600, CONF_SLOW_EVERY: 1, CONF_EXCLUDED_DEVICES: []}
    assert entry.runtime_data.client is not client, "changing the options did not reload the entry"
    interval = coordinator_of(entry).update_interval
    assert interval is not None
    assert interval.total_seconds() == 3600
    every_poll = await requests_per_cycle(entry, simulator, 6)
    assert len(set(every_poll)) == 1, f"with factor 1 every cycle reads the slow tier: {every_poll}"

    await save_settings(hass, entry, settings(interval=3600, slow_every=3))
    counts = await requests_per_cycle(entry, simulator, 6)
    slow_cycles = [cycle for cycle, count in enumerate(counts) if count == max(counts)]
    assert min(counts) < max(counts) == every_poll[0]
    assert len(slow_cycles) == 2, counts
    assert slow_cycles[1] - slow_cycles[0] == 3, counts

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    interval = coordinator_of(entry).update_interval
    assert interval is not None
    assert interval.total_seconds() == 3600
    assert entry.options[CONF_SLOW_EVERY] == 3
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_apply_from_the_start_after_a_restart(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """An entry loaded from storage with options (as after a restart) starts with them."""
    entry = mock_entry(simulator, await scan_of(simulator))
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={CONF_SCAN_INTERVAL: 17, CONF_SLOW_EVERY: 2, CONF_EXCLUDED_DEVICES: ["227/vebus"]}
    )
    stored = json.loads(json.dumps(entry.as_dict()))
    assert stored["options"] == {
        CONF_SCAN_INTERVAL: 17,
        CONF_SLOW_EVERY: 2,
        CONF_EXCLUDED_DEVICES: ["227/vebus"],
    }
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    interval = coordinator_of(entry).update_interval
    assert interval is not None
    assert interval.total_seconds() == 17
    assert not any(register_of(e.unique_id).startswith("227/") for e in entry_entities(hass, entry))
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_excluded_device_loses_its_entities_and_device_and_is_never_polled(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    vebus = (DOMAIN, device_identifier(SERIAL, 227, "vebus"))
    assert device_of(hass, vebus) is not None
    assert any(register_of(e.unique_id).startswith("227/vebus/") for e in entry_entities(hass, entry))

    await save_settings(hass, entry, settings(devices=[key for key in ALL_DEVICES if key != "227/vebus"]))
    assert entry.options[CONF_EXCLUDED_DEVICES] == ["227/vebus"]
    assert device_of(hass, vebus) is None
    assert not any(register_of(e.unique_id).startswith("227/") for e in entry_entities(hass, entry))
    assert all(found["unit"] != 227 for found in entry.runtime_data.scan["devices"])
    await requests_per_cycle(entry, simulator, 1)  # the one after setup reads every tier
    counts = await requests_per_cycle(entry, simulator, 1)
    stats = simulator.stats()
    assert counts[0] > 0
    assert "227" not in stats["by_unit"], "a request reached the excluded inverter/charger"
    assert "225" in stats["by_unit"]

    await save_settings(hass, entry, settings())
    assert entry.options[CONF_EXCLUDED_DEVICES] == []
    assert device_of(hass, vebus) is not None
    assert any(register_of(e.unique_id).startswith("227/vebus/") for e in entry_entities(hass, entry))
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        (settings(interval=0), {CONF_SCAN_INTERVAL: "interval_range"}),
        (settings(interval=3601), {CONF_SCAN_INTERVAL: "interval_range"}),
        (settings(slow_every=0), {"advanced": "slow_every_range"}),
        (settings(slow_every=101), {"advanced": "slow_every_range"}),
    ],
    ids=["interval-0", "interval-3601", "slow-0", "slow-101"],
)
async def test_values_out_of_range_get_a_translated_error(
    hass: HomeAssistant, simulator: Simulator, user_input: dict[str, Any], errors: dict[str, str]
) -> None:
    entry = mock_entry(simulator, await scan_of(simulator))
    entry.add_to_hass(hass)
    result = await open_options(hass, entry, "settings")
    with pytest.raises(InvalidData) as raised:
        await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert raised.value.schema_errors == errors
    for key in errors.values():
        assert options_strings()["error"][key]
    assert entry.options == {}


async def test_at_least_one_device_must_be_included(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = mock_entry(simulator, await scan_of(simulator))
    entry.add_to_hass(hass)
    result = await open_options(hass, entry, "settings")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings(interval=9, devices=[])
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"devices": "no_devices"}
    assert options_strings()["error"]["no_devices"]
    fields = form_fields(result["data_schema"])
    assert fields[0]["default"] == 9.0, "the form forgot what the user entered"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], settings(devices=["30/grid"])
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_EXCLUDED_DEVICES] == [key for key in ALL_DEVICES if key != "30/grid"]


def key_paths(tree: dict[str, Any], prefix: str = "") -> set[str]:
    """Every leaf of a translation tree as a dotted path."""
    paths: set[str] = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        paths |= key_paths(value, f"{path}.") if isinstance(value, dict) else {path}
    return paths


def test_flow_texts_exist_in_dutch_and_german() -> None:
    from .test_strings import INTEGRATION  # noqa: PLC0415

    def sections(language: str) -> set[str]:
        document = json.loads((INTEGRATION / "translations" / f"{language}.json").read_text(encoding="utf-8"))
        return key_paths({key: document[key] for key in ("config", "options", "selector")})

    english = sections("en")
    assert {
        "options.step.settings.sections.advanced.data.slow_every",
        "selector.scan_mode.options.deep",
    } <= english
    assert {
        "config.step.address.data.host",
        "config.step.rescan.data.mode",
        "config.abort.wrong_device",
    } <= english
    assert sections("nl") == english
    assert sections("de") == english
