"""The reconfigure flow: a new address of the same GX reloads the entry there; another GX aborts."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.data_entry_flow import FlowResultType
from victron_gx_modbus import Simulator

from .compat import form_fields
from .conftest import coordinator_of, not_a_gx_server, setup_entry, silent_server, state_of, tcp_server
from .test_strings import strings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from contextlib import AbstractAsyncContextManager

    from homeassistant.config_entries import ConfigFlowResult
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

CONNECTION = "custom_components.victron_gx_modbus.connection"


async def reconfigure(hass: HomeAssistant, entry: MockConfigEntry, host: str, port: int) -> ConfigFlowResult:
    """Open the reconfigure form (filled in with the entry's address) and submit `host`:`port`."""
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
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
    assert result["step_id"] == "reconfigure"
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
    with patch(f"{CONNECTION}.identify", side_effect=RuntimeError("boom")):
        result = await reconfigure(hass, entry, simulator.host, simulator.port)
    assert result["errors"] == {"base": "unknown"}
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_reconfigure_texts_exist() -> None:
    config = strings()["config"]
    assert {"title", "description", "data"} <= set(config["step"]["reconfigure"])
    assert {"wrong_device", "reconfigure_successful"} <= set(config["abort"])
