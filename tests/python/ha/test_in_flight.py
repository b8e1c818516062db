"""Unloading and reloading while the core is busy: a poll or a config flow's scan in flight."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.data_entry_flow import FlowResultType

from custom_components.victron_gx_modbus.const import DOMAIN

from .conftest import coordinator_of, setup_entry

if TYPE_CHECKING:
    import pytest
    from homeassistant.core import HomeAssistant
    from victron_gx_modbus import Simulator


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_unload_while_a_poll_is_in_flight(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_entry(hass, simulator)
    client = entry.runtime_data.client
    simulator.stall(1000)  # the GX stops answering: the next poll hangs
    refresh = hass.async_create_task(coordinator_of(entry).async_refresh())
    await asyncio.sleep(0.1)
    assert not refresh.done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    async with asyncio.timeout(2):
        await refresh
    assert client.closed
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not errors(caplog), errors(caplog)
    simulator.clear_faults()


async def test_reload_while_a_poll_is_in_flight(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_entry(hass, simulator)
    simulator.stall(3)  # a few requests of the next poll get no answer
    refresh = hass.async_create_task(coordinator_of(entry).async_refresh())
    await asyncio.sleep(0.1)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    async with asyncio.timeout(2):
        await refresh
    assert entry.state is ConfigEntryState.LOADED
    assert coordinator_of(entry).last_update_success
    assert not errors(caplog), errors(caplog)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_flow_abandoned_during_its_scan_leaves_nothing_running(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    simulator.reset_stats()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: simulator.host, CONF_PORT: simulator.port}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    simulator.stall(1000)  # the scan hangs
    hass.config_entries.flow.async_abort(result["flow_id"])
    await hass.async_block_till_done()
    simulator.clear_faults()
    # Requests written before the abort may still sit in the simulator's socket
    # buffer; once it has closed the connection, nothing more can arrive from it.
    async with asyncio.timeout(2):
        while simulator.stats()["connections_open"]:  # noqa: ASYNC110 - polls the simulator's counters
            await asyncio.sleep(0.02)
    before = simulator.stats()["requests"]
    await asyncio.sleep(0.3)
    assert simulator.stats()["requests"] == before, "the abandoned scan still sends requests"
    assert simulator.stats()["connections_open"] == 0
