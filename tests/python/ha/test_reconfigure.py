"""The reconfigure flow: a new address of the same GX, or a rescan that shows and applies what changed.

Its MQTT settings step is tested with MQTT discovery (test_mqtt_discovery.py).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESS_UPDATE, FlowResultType
from victron_gx_modbus import GXConnectionError, Simulator

from custom_components.victron_gx_modbus.const import CONF_SCAN, DOMAIN, device_identifier

from .compat import device_of, form_fields
from .conftest import (
    coordinator_of,
    entry_entities,
    mock_entry,
    not_a_gx_server,
    register_of,
    scan_of,
    setup_entry,
    silent_server,
    state_of,
    tcp_server,
)
from .test_options_flow import ALL_DEVICES, SERIAL
from .test_strings import strings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from contextlib import AbstractAsyncContextManager

    from homeassistant.config_entries import ConfigEntry, ConfigFlowResult
    from homeassistant.core import Event, HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

CONNECTION = "custom_components.victron_gx_modbus.connection"


async def open_reconfigure(hass: HomeAssistant, entry: ConfigEntry[Any], choice: str) -> ConfigFlowResult:
    """Open the reconfigure menu (as the entry's "Reconfigure" does) and pick `choice`."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "reconfigure"
    assert result["menu_options"] == ["address", "mqtt_settings", "rescan"]
    assert result["description_placeholders"] == {"title": entry.title}
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": choice})


async def reconfigure(hass: HomeAssistant, entry: MockConfigEntry, host: str, port: int) -> ConfigFlowResult:
    """Open the address form (filled in with the entry's address) and submit `host`:`port`."""
    result = await open_reconfigure(hass, entry, "address")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "address"
    fields = form_fields(result["data_schema"])
    assert {field["name"]: field["default"] for field in fields} == {
        CONF_HOST: entry.data[CONF_HOST],
        CONF_PORT: entry.data[CONF_PORT],
    }
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: f" {host} ", CONF_PORT: float(port)}
    )


async def test_the_same_gx_at_a_new_port_moves_the_entry_there(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    async with Simulator("three-phase") as moved:  # the same scenario simulates the same GX
        result = await reconfigure(hass, entry, moved.host, moved.port)
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert entry.data[CONF_HOST] == moved.host
        assert entry.data[CONF_PORT] == moved.port
        assert state_of(entry) is ConfigEntryState.LOADED
        moved.reset_stats()
        simulator.reset_stats()
        await coordinator_of(entry).async_refresh()
        assert moved.stats()["requests"] > 0, "the reloaded entry does not poll the new address"
        assert simulator.stats()["requests"] == 0
        assert await hass.config_entries.async_unload(entry.entry_id)
    assert strings()["config"]["abort"]["reconfigure_successful"]


async def test_a_different_gx_aborts_and_changes_nothing(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await setup_entry(hass, simulator)
    data = dict(entry.data)
    async with Simulator("minimal") as other:  # another GX serial
        result = await reconfigure(hass, entry, other.host, other.port)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_device"
    assert "different GX" in strings()["config"]["abort"]["wrong_device"]
    assert dict(entry.data) == data
    assert state_of(entry) is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)


@contextlib.asynccontextmanager
async def closed_port() -> AsyncIterator[int]:
    async with Simulator("minimal") as sim:
        port = sim.port
    yield port


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize(
    ("server", "error"),
    [
        (closed_port, "cannot_connect"),
        (lambda: tcp_server(silent_server), "timeout"),
        (lambda: tcp_server(not_a_gx_server), "not_a_gx"),
    ],
    ids=["closed", "silent", "not-a-gx"],
)
async def test_connection_errors_show_on_the_form_then_a_good_address_works(
    hass: HomeAssistant,
    simulator: Simulator,
    server: Callable[[], AbstractAsyncContextManager[int]],
    error: str,
) -> None:
    entry = await setup_entry(hass, simulator)
    async with server() as port:
        result = await reconfigure(hass, entry, "127.0.0.1", port)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "address"
    assert result["errors"] == {"base": error}
    assert entry.data[CONF_PORT] == simulator.port

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: simulator.host, CONF_PORT: simulator.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_unexpected_error_is_unknown(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await setup_entry(hass, simulator)
    with patch(f"{CONNECTION}.Client.identify", side_effect=RuntimeError("boom")):
        result = await reconfigure(hass, entry, simulator.host, simulator.port)
    assert result["errors"] == {"base": "unknown"}
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_reconfigure_texts_exist() -> None:
    config = strings()["config"]
    assert {"title", "description", "menu_options"} <= set(config["step"]["reconfigure"])
    assert {"title", "description", "data"} <= set(config["step"]["address"])
    assert {"wrong_device", "reconfigure_successful"} <= set(config["abort"])


async def rescan(hass: HomeAssistant, entry: MockConfigEntry, mode: str) -> ConfigFlowResult:
    """Run a rescan up to its outcome (the summary form or an abort)."""
    result = await open_reconfigure(hass, entry, "rescan")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "rescan"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"mode": mode})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "scan"
    assert result["progress_action"] == "scan"
    await hass.async_block_till_done()
    return await hass.config_entries.flow.async_configure(result["flow_id"])


async def test_quick_rescan_shows_a_removed_then_an_added_device_and_applies_them(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    garage = (DOMAIN, device_identifier(SERIAL, 3, "solarcharger"))
    await simulator.set_present("mppt_garage", present=False)

    result = await rescan(hass, entry, "quick")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "rescan_summary"
    assert result["description_placeholders"] == {
        "devices": "11",
        "registers": "643",
        "added": "—",
        "removed": "- SmartSolar MPPT (Solar charger 3), unit 3: 55 registers",
        "moved": "—",
        "discovery": "Found by the quick Modbus scan.",
    }
    client = entry.runtime_data.client
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert state_of(entry) is ConfigEntryState.LOADED
    assert entry.runtime_data.client is not client, "applying the rescan did not reload the entry"
    assert [found["unit"] for found in entry.data[CONF_SCAN]["devices"]].count(3) == 0
    assert device_of(hass, garage) is None
    assert not any(register_of(e.unique_id).startswith("3/") for e in entry_entities(hass, entry))

    await simulator.set_present("mppt_garage", present=True)
    result = await rescan(hass, entry, "quick")
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["added"] == "- SmartSolar MPPT (Solar charger 3), unit 3: 55 registers"
    assert placeholders["removed"] == "—"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert device_of(hass, garage) is not None
    assert any(register_of(e.unique_id).startswith("3/solarcharger/") for e in entry_entities(hass, entry))
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_deep_rescan_finds_a_device_the_stored_scan_lacks(
    hass: HomeAssistant, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(f"{CONNECTION}.SCAN_MAX_RATE", 0.0)  # unlimited: 7,400 probes in seconds
    scan = await scan_of(simulator)
    entry = mock_entry(simulator, {**scan, "devices": [f for f in scan["devices"] if f["unit"] != 41]})
    entry.add_to_hass(hass)
    progress: list[float] = []

    @callback  # on the loop, in the order fired (a plain function would run in the executor, unordered)
    def on_progress(event: Event[dict[str, Any]]) -> None:
        progress.append(event.data["progress"])

    hass.bus.async_listen(EVENT_DATA_ENTRY_FLOW_PROGRESS_UPDATE, on_progress)
    result = await rescan(hass, entry, "deep")
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["added"] == "- Generator (Generator 41), unit 41: 40 registers"
    assert placeholders["removed"] == "—"
    assert progress
    assert progress[-1] == pytest.approx(1.0)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_SCAN]["mode"] == "deep"
    assert len(entry.data[CONF_SCAN]["devices"]) == len(ALL_DEVICES)
    assert state_of(entry) is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("error", [GXConnectionError("the GX went away"), RuntimeError("scan broke")])
async def test_a_failed_rescan_aborts_and_keeps_the_stored_scan(
    hass: HomeAssistant, simulator: Simulator, error: Exception
) -> None:
    entry = mock_entry(simulator, await scan_of(simulator))
    entry.add_to_hass(hass)
    stored = entry.data[CONF_SCAN]
    with patch(f"{CONNECTION}.Client.scan", side_effect=error):
        result = await rescan(hass, entry, "quick")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "scan_failed"
    assert result["description_placeholders"] == {"error": str(error)}
    assert strings()["config"]["abort"]["scan_failed"]
    assert entry.data[CONF_SCAN] is stored


async def test_a_rescan_that_finds_a_different_gx_aborts(hass: HomeAssistant, simulator: Simulator) -> None:
    async with Simulator("minimal") as other:
        entry = mock_entry(other, await scan_of(simulator))
        entry.add_to_hass(hass)
        stored = entry.data[CONF_SCAN]
        result = await rescan(hass, entry, "quick")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_device"
    assert "different" in strings()["config"]["abort"]["wrong_device"]
    assert entry.data[CONF_SCAN] is stored
