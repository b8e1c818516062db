"""Manual unit IDs: the flows scan exactly the listed units, reject bad lists, and then sweep nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.data_entry_flow import FlowResultType

from custom_components.victron_gx_modbus import sweep
from custom_components.victron_gx_modbus.const import CONF_SCAN, CONF_SWEEP, CONF_UNIT_IDS, DOMAIN
from custom_components.victron_gx_modbus.fields import parse_unit_ids

from .conftest import setup_entry
from .test_reconfigure import open_reconfigure

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigFlowResult
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from victron_gx_modbus import Simulator


def behind_the_gx(entry: MockConfigEntry) -> set[tuple[int, str]]:
    """(unit, service) of the stored scan's devices other than the GX's own (unit 100)."""
    devices = entry.data[CONF_SCAN]["devices"]
    assert (100, "system") in {(d["unit"], d["service"]) for d in devices}
    return {(d["unit"], d["service"]) for d in devices if d["unit"] != 100}


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("100, 226, 238", [100, 226, 238]),
        (" 238;100  5,5 ", [5, 100, 238]),
        ("0", [0]),
        ("247", [247]),
        ("", None),
    ],
)
def test_unit_lists_are_read_as_the_gx_shows_them(text: str, units: list[int] | None) -> None:
    assert parse_unit_ids(text) == units


@pytest.mark.parametrize("text", ["248", "100, abc", "-1", "1.5", "²", "100,,300"])
def test_bad_unit_lists_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_unit_ids(text)


async def user_flow(hass: HomeAssistant, sim: Simulator, unit_ids: str) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: sim.host, CONF_PORT: sim.port, CONF_UNIT_IDS: unit_ids}
    )


async def test_a_bad_list_is_a_translated_field_error_then_a_good_one_scans_just_those_units(
    hass: HomeAssistant, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custom_components.victron_gx_modbus.async_start_sweep", sweep.async_start_sweep)
    result = await user_flow(hass, simulator, "100, 300")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {CONF_UNIT_IDS: "invalid_unit_ids"}
    simulator.reset_stats()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: simulator.host, CONF_PORT: simulator.port, CONF_UNIT_IDS: "225, 3"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["step_id"] == "summary"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    scan = entry.data[CONF_SCAN]
    assert scan["mode"] == "units"
    assert behind_the_gx(entry) == {(3, "solarcharger"), (225, "battery")}
    assert entry.data[CONF_UNIT_IDS] == [3, 225]
    probed = {int(unit) for unit in simulator.stats()["by_unit"]}
    assert probed <= {3, 100, 225}
    # With a unit list there is no background sweep.
    await hass.async_block_till_done()
    assert entry.runtime_data.sweep.state == "off"
    assert not entry._background_tasks
    options = await hass.config_entries.options.async_init(entry.entry_id)
    assert (options["description_placeholders"] or {})["sweep_percent"] == "—"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def rescan(hass: HomeAssistant, entry: MockConfigEntry, unit_ids: str) -> ConfigFlowResult:
    result = await open_reconfigure(hass, entry, "rescan")
    assert result["step_id"] == "rescan"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"mode": "quick", CONF_UNIT_IDS: unit_ids}
    )


async def test_a_rescan_with_a_list_stores_it_and_one_without_clears_it(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    result = await rescan(hass, entry, "abc")
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_UNIT_IDS: "invalid_unit_ids"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"mode": "quick", CONF_UNIT_IDS: "225"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["step_id"] == "rescan_summary"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert entry.data[CONF_UNIT_IDS] == [225]
    assert behind_the_gx(entry) == {(225, "battery")}

    result = await open_reconfigure(hass, entry, "rescan")
    schema = result["data_schema"]
    assert schema is not None
    suggested = next(key for key in schema.schema if key == CONF_UNIT_IDS).description
    assert suggested == {"suggested_value": "225"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"mode": "quick"})
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert CONF_UNIT_IDS not in entry.data
    assert CONF_SWEEP not in entry.data, "a quick rescan leaves the background sweep to do"
    assert len(entry.data[CONF_SCAN]["devices"]) == 12
    assert await hass.config_entries.async_unload(entry.entry_id)
