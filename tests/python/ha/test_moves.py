"""A device that moved to another unit (a new instance) keeps its entities, names, settings and history."""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.helpers import entity_registry as er

from custom_components.victron_gx_modbus import sweep
from custom_components.victron_gx_modbus.const import (
    CONF_EXCLUDED_DEVICES,
    CONF_SCAN,
    DOMAIN,
    device_identifier,
)
from custom_components.victron_gx_modbus.moves import find_moves

from .compat import device_of, form_fields
from .conftest import entry_entities, mock_entry, scan_of, state_of
from .test_reconfigure import rescan

if TYPE_CHECKING:
    import pytest
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from victron_gx_modbus import FoundDevice, ScanResult, Simulator

GARAGE = (3, "solarcharger")
"""The three-phase scenario's fourth solar charger ("mppt_garage"): no serial, its name tells it."""
GRID = (30, "grid")
"""Its grid meter, which has a serial (the sweep tells a move by serials only)."""
ELSEWHERE = 7
"""Where the stored scan says the device was before its instance changed (nothing answers there)."""
RENAMED = "Moved device's power"


def moved_scan(scan: ScanResult, device: tuple[int, str]) -> ScanResult:
    """`scan` as it was before `device` moved: at unit 7."""
    devices = [
        {**found, "unit": ELSEWHERE} if (found["unit"], found["service"]) == device else found
        for found in scan["devices"]
    ]
    return {**scan, "devices": devices}  # type: ignore[typeddict-item]


def entities_at(
    hass: HomeAssistant, entry: MockConfigEntry, unit: int, service: str
) -> dict[str, er.RegistryEntry]:
    """A device's registry entries at `unit`, by register key."""
    prefix = f"{entry.unique_id}_{unit}_{service}_"
    entities = entry_entities(hass, entry)
    return {e.unique_id.removeprefix(prefix): e for e in entities if e.unique_id.startswith(prefix)}


def touched(before: dict[str, er.RegistryEntry]) -> tuple[str, str]:
    """The two registers whose entities the user renamed and disabled."""
    first, second = sorted(key for key, e in before.items() if e.disabled_by is None)[:2]
    return first, second


async def set_up_before_the_move(
    hass: HomeAssistant, simulator: Simulator, device: tuple[int, str]
) -> tuple[MockConfigEntry, dict[str, er.RegistryEntry]]:
    """An entry whose stored scan has `device` at unit 7, loaded, with one entity renamed and one disabled."""
    entry = mock_entry(simulator, moved_scan(await scan_of(simulator), device))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    before = entities_at(hass, entry, ELSEWHERE, device[1])
    renamed, disabled = touched(before)
    registry = er.async_get(hass)
    registry.async_update_entity(before[renamed].entity_id, name=RENAMED)
    registry.async_update_entity(before[disabled].entity_id, disabled_by=er.RegistryEntryDisabler.USER)
    return entry, before


def assert_moved(
    hass: HomeAssistant, entry: MockConfigEntry, device: tuple[int, str], before: dict[str, er.RegistryEntry]
) -> None:
    """Every entity of unit 7 is the same entity (ID, name, enabled state) at the new unit; the device too."""
    unit, service = device
    after = entities_at(hass, entry, unit, service)
    assert not entities_at(hass, entry, ELSEWHERE, service)
    assert {key: e.entity_id for key, e in after.items()} == {key: e.entity_id for key, e in before.items()}
    renamed, disabled = touched(before)
    assert after[renamed].name == RENAMED
    assert after[disabled].disabled_by is er.RegistryEntryDisabler.USER
    serial = str(entry.unique_id)
    assert device_of(hass, (DOMAIN, device_identifier(serial, ELSEWHERE, service))) is None
    moved = device_of(hass, (DOMAIN, device_identifier(serial, unit, service)))
    assert moved is not None
    assert after[renamed].device_id == moved.id
    state = hass.states.get(after[renamed].entity_id)
    assert state is not None
    assert state.state != "unavailable"
    assert state.name == RENAMED


async def test_a_rescan_moves_a_device_to_its_new_unit_with_its_entities(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry, before = await set_up_before_the_move(hass, simulator, GARAGE)
    result = await rescan(hass, entry, "quick")
    placeholders = result["description_placeholders"] or {}
    assert placeholders["moved"] == f"- SmartSolar MPPT (Solar charger 3), unit 3 (was unit {ELSEWHERE})"
    assert placeholders["added"] == placeholders["removed"] == "—"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert state_of(entry) is ConfigEntryState.LOADED
    assert_moved(hass, entry, GARAGE, before)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_excluded_device_stays_excluded_where_it_moved(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = mock_entry(simulator, moved_scan(await scan_of(simulator), GARAGE))
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={CONF_EXCLUDED_DEVICES: [f"{ELSEWHERE}/solarcharger"]}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await rescan(hass, entry, "quick")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert entry.options[CONF_EXCLUDED_DEVICES] == ["3/solarcharger"]
    assert not entities_at(hass, entry, *GARAGE)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_the_sweep_finding_a_stored_device_elsewhere_moves_it(
    hass: HomeAssistant, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custom_components.victron_gx_modbus.async_start_sweep", sweep.async_start_sweep)
    monkeypatch.setattr("custom_components.victron_gx_modbus.const.SWEEP_RATE", math.inf)
    entry, before = await set_up_before_the_move(hass, simulator, GRID)
    async with asyncio.timeout(60):
        while not entities_at(hass, entry, *GRID) or entry.state is not ConfigEntryState.LOADED:  # noqa: ASYNC110 - the sweep's outcome has no event to await
            await asyncio.sleep(0.1)
    await hass.async_block_till_done()
    meters = [found["unit"] for found in entry.data[CONF_SCAN]["devices"] if found["service"] == "grid"]
    assert meters == [30]
    assert_moved(hass, entry, GRID, before)
    assert await hass.config_entries.async_unload(entry.entry_id)


def device(
    unit: int, *, serial: str | None = None, product: int | None = 0xA053, name: str | None = None
) -> FoundDevice:
    """A found solar charger."""
    return {
        "unit": unit,
        "service": "solarcharger",
        "product_id": product,
        "name": name,
        "serial": serial,
        "firmware": None,
        "registers": 10,
        "unsupported": [],
    }


def test_identity_is_the_serial_else_product_and_name_and_never_guessed() -> None:
    moves = find_moves([device(3, serial="HQ1")], [device(5, serial="HQ1")])
    assert [(m.old["unit"], m.new["unit"]) for m in moves.moved] == [(3, 5)]
    moves = find_moves([device(3, name="Roof")], [device(5, name="Roof"), device(6, name="Shed")])
    assert [(m.old["unit"], m.new["unit"]) for m in moves.moved] == [(3, 5)]
    assert not find_moves([device(3, name="Roof")], [device(5, name="Roof")], serial_only=True).moved
    # Two identical unnamed chargers that swapped: not guessed.
    swapped = find_moves([device(3), device(4)], [device(5), device(6)])
    assert not swapped.moved
    assert [([g["unit"] for g in a.gone], [n["unit"] for n in a.arrived]) for a in swapped.ambiguous] == [
        ([3, 4], [5, 6])
    ]
    # Still there, or of another identity: no move.
    assert not find_moves([device(3, serial="HQ1")], [device(3, serial="HQ1"), device(5, serial="HQ2")]).moved
    assert not find_moves([device(3, product=None)], [device(5, product=None)]).moved


async def test_identical_devices_that_moved_at_once_are_matched_by_the_user(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    scan = await scan_of(simulator)
    units = {2: 7, 3: 8}  # two of the four identically named chargers had other instances
    devices = [
        {**found, "unit": units[found["unit"]]}
        if found["service"] == "solarcharger" and found["unit"] in units
        else found
        for found in scan["devices"]
    ]
    entry = mock_entry(simulator, {**scan, "devices": devices})  # type: ignore[typeddict-item]
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    was_7, was_8 = entities_at(hass, entry, 7, "solarcharger"), entities_at(hass, entry, 8, "solarcharger")

    result = await rescan(hass, entry, "quick")
    assert result["step_id"] == "match_moves"
    fields = {field["name"]: field for field in form_fields(result["data_schema"])}
    assert set(fields) == {"7/solarcharger", "8/solarcharger"}
    choices = [option["value"] for option in fields["7/solarcharger"]["selector"]["select"]["options"]]
    assert choices == ["gone", "2/solarcharger", "3/solarcharger"]
    twice = {"7/solarcharger": "3/solarcharger", "8/solarcharger": "3/solarcharger"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], twice)
    assert result["errors"] == {"base": "same_device_twice"}
    crossed = {"7/solarcharger": "3/solarcharger", "8/solarcharger": "2/solarcharger"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], crossed)
    assert result["step_id"] == "rescan_summary"
    placeholders = result["description_placeholders"] or {}
    assert placeholders["moved"].count("(was unit") == 2
    assert placeholders["added"] == placeholders["removed"] == "—"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    now_3, now_2 = entities_at(hass, entry, 3, "solarcharger"), entities_at(hass, entry, 2, "solarcharger")
    assert {k: e.entity_id for k, e in now_3.items()} == {k: e.entity_id for k, e in was_7.items()}
    assert {k: e.entity_id for k, e in now_2.items()} == {k: e.entity_id for k, e in was_8.items()}
    assert await hass.config_entries.async_unload(entry.entry_id)
