"""Diagnostics download: content, the live raw register dump, and redaction of every identifying value."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest
from homeassistant.components.diagnostics import REDACTED
from homeassistant.const import CONF_PORT, CONF_SCAN_INTERVAL
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from victron_gx_modbus import Simulator

from custom_components.victron_gx_modbus import raw_dump
from custom_components.victron_gx_modbus.const import DOMAIN, device_identifier

from .compat import device_of
from .conftest import mock_entry, scan_of, setup_entry

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
    from victron_gx_modbus import ScanResult

MAX_WORDS = 125
"""The most registers one Modbus read may ask for."""
FIRMWARE_ADDRESS = 834
"""System register holding the GX firmware version, read as hex (0x0362 = v3.62)."""


def identifying_values(sim: Simulator, scan: ScanResult) -> list[str]:
    """Everything that must not appear in a diagnostics download."""
    serials = [scan["gx"]["serial"], *(found["serial"] for found in scan["devices"])]
    values = [sim.host, *(serial for serial in serials if serial)]
    assert len(values) > 2, "the scenario should have device serials to hide"
    return values


def assert_nothing_identifying(data: Any, values: list[str]) -> None:
    text = json.dumps(data)
    for value in values:
        assert value not in text, value


def blocks_of(data: dict[str, Any], unit: int, service: str) -> list[dict[str, Any]]:
    for device in data["raw_registers"]:
        if (device["unit"], device["service"]) == (unit, service):
            blocks: list[dict[str, Any]] = device["blocks"]
            return blocks
    msg = f"no dump of {unit}/{service}"
    raise AssertionError(msg)


def word_at(blocks: list[dict[str, Any]], address: int) -> Any:
    for block in blocks:
        if block["start"] <= address < block["start"] + block["count"]:
            return block["words"][address - block["start"]]
    msg = f"address {address} not dumped"
    raise AssertionError(msg)


async def test_entry_diagnostics_content_and_raw_dump(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    hass.config_entries.async_update_entry(entry, options={CONF_SCAN_INTERVAL: 7})
    await hass.async_block_till_done()
    scan = entry.runtime_data.scan
    data = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert isinstance(data, dict)

    assert data["entry"]["options"] == {CONF_SCAN_INTERVAL: 7}
    assert data["entry"]["data"][CONF_PORT] == simulator.port
    assert data["firmware"]["gx"] == scan["gx"]["firmware"] == "v3.62"
    assert "3.66" in data["firmware"]["register_lists"]
    assert len(data["scan"]["devices"]) == len(scan["devices"])
    assert data["plan"]["registers"] == len(entry.runtime_data.client.registers) > 0
    assert data["metrics"]["requests"] > 0
    assert data["coordinator"]["last_update_success"] is True
    assert data["coordinator"]["values"]

    dumped = {(device["unit"], device["service"]) for device in data["raw_registers"]}
    assert dumped == {(found["unit"], found["service"]) for found in scan["devices"]}
    for device in data["raw_registers"]:
        assert device["blocks"], device
        for block in device["blocks"]:
            assert "error" not in block, (device["unit"], device["service"], block)
            assert len(block["words"]) == block["count"] <= MAX_WORDS
            assert all(word == REDACTED or 0 <= word <= 0xFFFF for word in block["words"])
    system = blocks_of(data, 100, "system")
    assert f"v{word_at(system, FIRMWARE_ADDRESS):x}" == "v362"
    assert word_at(system, 800) == REDACTED  # the GX serial's words

    assert_nothing_identifying(data, identifying_values(simulator, scan))
    assert data["scan"]["gx"]["serial"] == REDACTED
    assert data["entry"]["unique_id"] == REDACTED
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("simulator", ["old-firmware"], indirect=True)
async def test_the_dump_of_old_firmware_reads_only_what_the_gx_serves(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    assert any(found["unsupported"] for found in entry.runtime_data.scan["devices"])
    simulator.reset_stats()
    data = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert isinstance(data, dict)
    blocks = [block for device in data["raw_registers"] for block in device["blocks"]]
    assert all(len(block["words"]) == block["count"] for block in blocks)
    stats = simulator.stats()
    assert stats["requests"] == len(blocks)
    assert stats["exceptions"] == 0, stats["exceptions_by_code"]
    assert data["firmware"]["gx"] == "v2.60"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_device_diagnostics_cover_one_device(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    scan = entry.runtime_data.scan
    serial = scan["gx"]["serial"]
    assert serial
    grid = next(found for found in scan["devices"] if found["service"] == "grid")
    assert grid["serial"]
    device = device_of(hass, (DOMAIN, device_identifier(serial, grid["unit"], "grid")))
    assert device is not None
    data = await get_diagnostics_for_device(hass, hass_client, entry, device)
    assert isinstance(data, dict)
    assert [(d["unit"], d["service"]) for d in data["raw_registers"]] == [(grid["unit"], "grid")]
    assert len(data["scan"]["devices"]) == 1
    assert all(key.startswith(f"{grid['unit']}/grid/") for key in data["coordinator"]["values"])
    assert_nothing_identifying(data, identifying_values(simulator, scan))

    gx = device_of(hass, (DOMAIN, serial))
    assert gx is not None
    data = await get_diagnostics_for_device(hass, hass_client, entry, gx)
    assert isinstance(data, dict)
    assert {d["unit"] for d in data["raw_registers"]} == {100}
    assert {d["service"] for d in data["raw_registers"]} >= {"system", "settings"}
    assert_nothing_identifying(data, identifying_values(simulator, scan))
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_refused_block_does_not_spoil_the_dump(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    evcharger = next(d for d in await simulator.devices() if d["service"] == "evcharger")
    await simulator.set_present(evcharger["id"], present=False)
    data = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert isinstance(data, dict)
    refused = blocks_of(data, evcharger["unit"] or 0, "evcharger")
    assert refused
    assert all(block["error"] == "exception 0x0A" for block in refused)
    grid = next(found for found in entry.runtime_data.scan["devices"] if found["service"] == "grid")
    assert all("words" in block for block in blocks_of(data, grid["unit"], "grid"))
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_the_dump_is_bounded_in_time(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = await setup_entry(hass, simulator)
    monkeypatch.setattr(raw_dump, "DUMP_TIMEOUT", 0.3)
    simulator.stall(1000)
    started = time.monotonic()
    data = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert time.monotonic() - started < 3
    assert isinstance(data, dict)
    blocks = [block for device in data["raw_registers"] for block in device["blocks"]]
    assert blocks
    assert all("error" in block and "words" not in block for block in blocks)
    simulator.clear_faults()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_lost_gx_gives_errors_not_a_failed_download(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    simulator.reboot(5)
    data = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert isinstance(data, dict)
    errors = {block.get("error") for device in data["raw_registers"] for block in device["blocks"]}
    assert errors
    assert all(error and error.startswith("GX") for error in errors), errors
    assert_nothing_identifying(data, identifying_values(simulator, entry.runtime_data.scan))
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_entry_that_failed_setup_still_has_redacted_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    async with Simulator("three-phase") as ours, Simulator("minimal") as other:
        scan = await scan_of(ours)
        serial = scan["gx"]["serial"]
        assert serial
        entry: MockConfigEntry = mock_entry(
            ours, scan, title=serial
        )  # the flow's title without a system name
        entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_PORT: other.port})
        assert not await hass.config_entries.async_setup(entry.entry_id)
        data = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        assert isinstance(data, dict)
        assert data["entry"]["state"] == "setup_error"
        assert "raw_registers" not in data
        assert len(data["scan"]["devices"]) == len(scan["devices"])
        assert_nothing_identifying(data, identifying_values(ours, scan))
