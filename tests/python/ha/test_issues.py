"""Repair issues: old GX firmware with missing registers, and a different GX at the configured address."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
from victron_gx_modbus import Simulator

from custom_components.victron_gx_modbus.const import CONF_SCAN, DOMAIN
from custom_components.victron_gx_modbus.issues import missing_registers, parse_firmware

from .conftest import coordinator_of, mock_entry, scan_of, setup_entry, state_of

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry


def issue(hass: HomeAssistant, kind: str, entry: MockConfigEntry) -> ir.IssueEntry | None:
    """The entry's issue of `kind`, if raised."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{kind}_{entry.entry_id}")


async def rendered(hass: HomeAssistant, found: ir.IssueEntry, language: str = "en") -> str:
    """The issue's translated title and description with its placeholders filled in."""
    texts = await async_get_translations(hass, language, "issues", [DOMAIN])
    prefix = f"component.{DOMAIN}.issues.{found.translation_key}"
    placeholders = found.translation_placeholders or {}
    return "\n".join(texts[f"{prefix}.{part}"].format(**placeholders) for part in ("title", "description"))


def test_firmware_versions_parse() -> None:
    assert parse_firmware("v3.60") == (3, 60)
    assert parse_firmware("v2.90~12") == (2, 90)
    assert parse_firmware("3.02") == (3, 2)
    assert parse_firmware(None) is None
    assert parse_firmware("unknown") is None


@pytest.mark.parametrize("simulator", ["old-firmware"], indirect=True)
async def test_old_firmware_sets_up_without_exceptions_and_raises_the_issue(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    scan = await scan_of(simulator)
    assert scan["gx"]["firmware"] == "v2.60"
    missing = missing_registers(scan)
    assert missing > 0
    simulator.reset_stats()
    entry = mock_entry(simulator, scan)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    for _ in range(3):
        await coordinator_of(entry).async_refresh()
        assert coordinator_of(entry).last_update_success
    stats = simulator.stats()
    assert stats["requests"] > 3
    assert stats["exceptions"] == 0, stats["exceptions_by_code"]

    found = issue(hass, "old_firmware", entry)
    assert found is not None
    assert found.severity is ir.IssueSeverity.WARNING
    assert not found.is_fixable
    assert found.learn_more_url
    assert found.translation_placeholders is not None
    assert found.translation_placeholders["firmware"] == "v2.60"
    assert found.translation_placeholders["missing"] == str(missing)
    text = await rendered(hass, found)
    assert "v2.60" in text
    assert f"{missing} registers" in text
    assert "v2.60" in await rendered(hass, found, "nl")
    assert issue(hass, "wrong_gx", entry) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("simulator", ["old-firmware"], indirect=True)
async def test_firmware_issue_clears_when_a_rescan_finds_every_register(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    assert issue(hass, "old_firmware", entry) is not None
    updated = copy.deepcopy(entry.data[CONF_SCAN])
    updated["gx"]["firmware"] = "v3.60"
    for found in updated["devices"]:
        found["unsupported"] = []
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_SCAN: updated})
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(entry) is ConfigEntryState.LOADED
    assert issue(hass, "old_firmware", entry) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_current_firmware_raises_no_issue(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await setup_entry(hass, simulator)
    assert missing_registers(entry.runtime_data.scan) == 0
    assert issue(hass, "old_firmware", entry) is None
    assert issue(hass, "wrong_gx", entry) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_old_gx_firmware_alone_raises_the_issue(hass: HomeAssistant, simulator: Simulator) -> None:
    scan = await scan_of(simulator)
    scan["gx"]["firmware"] = "v2.90"
    entry = mock_entry(simulator, scan)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    found = issue(hass, "old_firmware", entry)
    assert found is not None
    assert found.translation_placeholders is not None
    assert found.translation_placeholders["missing"] == "0"
    assert "v2.90" in await rendered(hass, found, "de")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_different_gx_fails_setup_with_one_request_and_the_issue_clears(hass: HomeAssistant) -> None:
    async with Simulator("three-phase") as ours, Simulator("old-firmware") as other:
        scan = await scan_of(ours)
        expected = scan["gx"]["serial"]
        reported = (await scan_of(other))["gx"]["serial"]
        assert expected
        assert reported
        assert expected != reported
        entry = mock_entry(ours, scan)
        entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_PORT: other.port})
        other.reset_stats()

        assert not await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.SETUP_ERROR
        assert entry.reason is not None
        assert reported in entry.reason
        assert expected in entry.reason
        assert other.stats()["requests"] == 1, "identifying the GX takes one read"
        found = issue(hass, "wrong_gx", entry)
        assert found is not None
        assert found.severity is ir.IssueSeverity.ERROR
        text = await rendered(hass, found)
        assert reported in text
        assert f"{other.host}:{other.port}" in text

        other.reboot(5)
        assert not await hass.config_entries.async_reload(entry.entry_id)
        assert state_of(entry) is ConfigEntryState.SETUP_RETRY
        assert issue(hass, "wrong_gx", entry) is not None, "a GX that cannot tell keeps the issue"

        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_HOST: ours.host, CONF_PORT: ours.port}
        )
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert state_of(entry) is ConfigEntryState.LOADED
        assert issue(hass, "wrong_gx", entry) is None
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_removing_the_entry_removes_its_issues(hass: HomeAssistant, simulator: Simulator) -> None:
    scan = await scan_of(simulator)
    scan["gx"]["firmware"] = "v2.10"
    entry = mock_entry(simulator, scan)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert issue(hass, "old_firmware", entry) is not None
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert issue(hass, "old_firmware", entry) is None
