"""Entities: one per served register, with the ledger's classes and units; values, enums, state writes."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.helpers import entity_registry as er
from victron_gx_modbus import Simulator, register_id

from custom_components.victron_gx_modbus.const import DOMAIN, entity_unique_id
from custom_components.victron_gx_modbus.entity import VictronGxEntity

from .conftest import (
    SCENARIOS,
    coordinator_of,
    entry_entities,
    expected_entity_count,
    register_of,
    setup_entry,
)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant, State

    from custom_components.victron_gx_modbus.hub import VictronGxConfigEntry

THREE_PHASE_SERIAL = "c0619ab2a7d1"


def state_of_register(hass: HomeAssistant, platform: str, unit: int, service: str, key: str) -> State:
    entity_id = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, entity_unique_id(THREE_PHASE_SERIAL, unit, service, key)
    )
    assert entity_id is not None, f"no entity for {unit}/{service}/{key}"
    state = hass.states.get(entity_id)
    assert state is not None, f"{entity_id} has no state (disabled?)"
    return state


@pytest.mark.parametrize("simulator", SCENARIOS, indirect=True)
async def test_every_served_register_is_an_entity(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_entry(hass, simulator)
    scan = entry.runtime_data.scan
    entities = entry_entities(hass, entry)
    assert len(entities) == expected_entity_count(scan)
    planned = {register_id(r["unit"], r["service"], r["key"]) for r in entry.runtime_data.client.registers}
    enabled = [e for e in entities if e.disabled_by is None]
    assert enabled
    assert planned == {register_of(e.unique_id) for e in enabled}, "polled: exactly the enabled entities"
    for entity in entities:
        state = hass.states.get(entity.entity_id)
        if entity.disabled_by is None:
            assert state is not None
            assert state.state != STATE_UNAVAILABLE, entity.entity_id
        else:
            assert state is None
    assert coordinator_of(entry).data.unavailable == frozenset()
    problems = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING
        and r.name
        not in {"homeassistant.loader", "asyncio"}  # the "custom integration" notice; test_event_loop
    ]
    assert not problems, problems[:5]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_three_phase_values_and_units(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await setup_entry(hass, simulator)
    values = coordinator_of(entry).data.values

    voltage = state_of_register(hass, "sensor", 225, "battery", "dc_0_voltage")
    assert voltage.attributes[ATTR_UNIT_OF_MEASUREMENT] == "V"
    assert voltage.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.VOLTAGE
    assert float(voltage.state) == values["225/battery/dc_0_voltage"]
    assert 40 < float(voltage.state) < 60

    soc = state_of_register(hass, "sensor", 225, "battery", "soc")
    assert soc.attributes[ATTR_UNIT_OF_MEASUREMENT] == "%"
    assert soc.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.BATTERY
    assert 0 <= float(soc.state) <= 100
    assert float(soc.state) == values["225/battery/soc"]

    for phase in (1, 2, 3):
        power = state_of_register(hass, "sensor", 30, "grid", f"ac_l{phase}_power")
        assert power.attributes[ATTR_UNIT_OF_MEASUREMENT] == "W"
        assert power.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.POWER
        assert power.attributes["state_class"] == "measurement"
        assert float(power.state) == values[f"30/grid/ac_l{phase}_power"]
        assert 100 < float(power.state) < 5000

    time_to_go = state_of_register(hass, "sensor", 225, "battery", "time_to_go")
    assert time_to_go.attributes[ATTR_UNIT_OF_MEASUREMENT] == "h", "seconds at the GX, shown in hours"
    seconds = values["225/battery/time_to_go"]
    assert isinstance(seconds, float)
    assert float(time_to_go.state) == pytest.approx(seconds / 3600)

    state = state_of_register(hass, "sensor", 225, "battery", "state")
    assert state.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENUM
    assert state.state == "running"
    assert "running" in state.attributes["options"]

    serial = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, entity_unique_id(THREE_PHASE_SERIAL, 100, "system", "serial")
    )
    assert serial is not None
    registered = er.async_get(hass).async_get(serial)
    assert registered is not None
    assert registered.entity_category == "diagnostic"
    assert registered.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    await enable(hass, entry, [serial])
    assert hass.states.get(serial).state == THREE_PHASE_SERIAL  # type: ignore[union-attr]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def enable(hass: HomeAssistant, entry: VictronGxConfigEntry, entity_ids: list[str]) -> None:
    """Enable entities as a user would, then reload the entry (Home Assistant does so after 30 s)."""
    registry = er.async_get(hass)
    for entity_id in entity_ids:
        registry.async_update_entity(entity_id, disabled_by=None)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()


def set_value(entry: VictronGxConfigEntry, rid: str, value: float | str | None) -> None:
    """Hand the entities a poll in which one register changed to `value`."""
    coordinator = entry.runtime_data.coordinator
    data = coordinator.data
    coordinator.async_set_updated_data(
        replace(data, values={**data.values, rid: value}, changed=frozenset({rid}))
    )


async def test_negative_zero_shows_as_zero(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await setup_entry(hass, simulator)
    set_value(entry, "225/battery/dc_0_current", -0.0)
    await hass.async_block_till_done()
    assert state_of_register(hass, "sensor", 225, "battery", "dc_0_current").state == "0.0"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_unknown_enum_code_is_unknown_and_logged_once(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_entry(hass, simulator)
    set_value(entry, "225/battery/state", 0)  # not in the table: how the GX shows a missing value
    await hass.async_block_till_done()
    assert state_of_register(hass, "sensor", 225, "battery", "state").state == "initializing_wait_start"
    for code in (999, 998):
        set_value(entry, "225/battery/state", code)
        await hass.async_block_till_done()
        assert state_of_register(hass, "sensor", 225, "battery", "state").state == STATE_UNKNOWN
    logged = [r for r in caplog.records if "ledger does not know" in r.getMessage()]
    assert len(logged) == 1
    assert "999" in logged[0].getMessage()
    mode = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, entity_unique_id(THREE_PHASE_SERIAL, 225, "battery", "mode")
    )
    assert mode is not None
    await enable(hass, entry, [mode])
    set_value(entry, "225/battery/mode", 0)  # a table without 0: the GX's "not available", not logged
    await hass.async_block_till_done()
    assert state_of_register(hass, "sensor", 225, "battery", "mode").state == STATE_UNKNOWN
    assert len([r for r in caplog.records if "ledger does not know" in r.getMessage()]) == 1
    set_value(entry, "225/battery/state", 9)
    await hass.async_block_till_done()
    assert state_of_register(hass, "sensor", 225, "battery", "state").state == "running"
    set_value(entry, "225/battery/state", None)
    await hass.async_block_till_done()
    assert state_of_register(hass, "sensor", 225, "battery", "state").state == STATE_UNKNOWN
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_state_is_written_only_when_its_register_changed(
    hass: HomeAssistant, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = await setup_entry(hass, simulator)
    written: list[str] = []
    original = VictronGxEntity.async_write_ha_state

    def spy(self: VictronGxEntity) -> None:
        written.append(self._register_id)
        original(self)

    monkeypatch.setattr(VictronGxEntity, "async_write_ha_state", spy)
    coordinator = coordinator_of(entry)
    shown = shown_registers(hass, entry)
    for _ in range(3):
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        expected = coordinator.data.changed & shown
        assert sorted(written) == sorted(expected)
        written.clear()
    assert await hass.config_entries.async_unload(entry.entry_id)


def shown_registers(hass: HomeAssistant, entry: VictronGxConfigEntry) -> set[str]:
    """Register ids of the entry's enabled entities."""
    return {
        entity.unique_id.removeprefix(f"{THREE_PHASE_SERIAL}_").replace("_", "/", 2)
        for entity in entry_entities(hass, entry)
        if entity.disabled_by is None
    }


async def test_only_entities_of_changed_registers_hear_of_a_poll_but_all_of_an_outage(
    hass: HomeAssistant, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[str] = []
    original = VictronGxEntity._handle_coordinator_update

    def spy(self: VictronGxEntity) -> None:
        told.append(self._register_id)
        original(self)

    monkeypatch.setattr(VictronGxEntity, "_handle_coordinator_update", spy)  # before the entities subscribe
    entry = await setup_entry(hass, simulator)
    coordinator = coordinator_of(entry)
    shown = shown_registers(hass, entry)
    polls_with_changes = 0
    for _ in range(4):
        await asyncio.sleep(0.3)  # the site model moves with time
        told.clear()
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        changed = coordinator.data.changed & shown
        assert shown - changed, "some registers keep their value"
        assert sorted(told) == sorted(changed)
        polls_with_changes += bool(changed)
    assert polls_with_changes

    simulator.reboot(1.5)
    told.clear()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    lost = not coordinator.last_update_success  # (not narrowed: the refreshes below change it)
    assert lost
    assert sorted(told) == sorted(shown)
    states = {hass.states.get(e.entity_id) for e in entry_entities(hass, entry) if e.disabled_by is None}
    assert {state.state for state in states if state is not None} == {STATE_UNAVAILABLE}

    async with asyncio.timeout(15):
        while not coordinator.last_update_success:
            told.clear()
            await asyncio.sleep(0.2)
            await coordinator.async_refresh()
            await hass.async_block_till_done()
    assert sorted(told) == sorted(shown), "every entity hears that the GX is back"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_listener_hears_of_its_register_until_removed(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = await setup_entry(hass, simulator)
    coordinator = coordinator_of(entry)
    heard: list[str] = []
    remove_current = coordinator.async_add_listener(
        lambda: heard.append("current"), "225/battery/dc_0_current"
    )
    remove_any = coordinator.async_add_listener(lambda: heard.append("any"))

    set_value(entry, "225/battery/soc", 51.5)
    assert heard == ["any"]
    set_value(entry, "225/battery/dc_0_current", 1.5)
    assert sorted(heard) == ["any", "any", "current"]
    remove_current()
    heard.clear()
    set_value(entry, "225/battery/dc_0_current", 2.5)
    assert heard == ["any"]
    remove_any()
    heard.clear()
    set_value(entry, "225/battery/dc_0_current", 3.5)
    assert heard == []
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_no_two_registers_of_a_service_share_a_name() -> None:
    """Two entities of one device with one name would get entity IDs that differ by a _2 suffix."""
    from victron_gx_modbus import ledger  # noqa: PLC0415

    for service, data in ledger().items():
        names = [register["ha"]["name"] for register in data["registers"]]
        assert len(names) == len(set(names)), service
