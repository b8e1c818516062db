"""Devices: the GX, one child per unit/service under it, stale ones removed or removable."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import pytest
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from custom_components.victron_gx_modbus import async_remove_config_entry_device
from custom_components.victron_gx_modbus.const import CONF_SCAN, DOMAIN, device_identifier

from .compat import device_of
from .conftest import entry_entities, setup_entry

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from victron_gx_modbus import Simulator

SERIAL = "c0619ab2a7d1"


def device(hass: HomeAssistant, identifier: str) -> dr.DeviceEntry:
    entry = device_of(hass, (DOMAIN, identifier))
    assert entry is not None, identifier
    return entry


async def test_the_gx_and_its_devices(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await setup_entry(hass, simulator, title="Home ESS")
    gx = device(hass, SERIAL)
    assert gx.manufacturer == "Victron Energy"
    assert gx.name == "Home ESS"
    assert gx.model == "GX device"
    assert gx.serial_number == SERIAL
    assert gx.sw_version == "v3.62"
    assert gx.configuration_url == f"http://{simulator.host}"
    assert gx.via_device_id is None

    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    scan = entry.runtime_data.scan
    assert len(devices) == len(scan["devices"]) + 1
    for found in scan["devices"]:
        child = device(hass, device_identifier(SERIAL, found["unit"], found["service"]))
        assert child.via_device_id == gx.id
        assert child.manufacturer == "Victron Energy"
        for value in (child.name, child.model, child.model_id, child.serial_number, child.sw_version):
            assert value is None or isinstance(value, str)
    assert device(hass, f"{SERIAL}_225_battery").name == "Lynx BMS"  # the custom name
    assert device(hass, f"{SERIAL}_100_system").name == "System overview"
    assert device(hass, f"{SERIAL}_100_settings").name == "GX settings"  # not the system name
    evcharger = device(hass, f"{SERIAL}_40_evcharger")
    assert evcharger.serial_number == "HQ2302EV7KP"
    assert evcharger.sw_version == "v1.05-beta-03"  # as the GX shows a beta build
    assert evcharger.model_id == "0xC024"
    assert evcharger.model == "EV Charge Station 32A"  # its product ID register, named from the product table
    assert device(hass, f"{SERIAL}_225_battery").model == "Battery"  # no product ID over Modbus: the kind
    # Four chargers all called "SmartSolar MPPT" get their unit, so their entity IDs differ by more than _2.
    chargers = [device(hass, f"{SERIAL}_{unit}_solarcharger").name for unit in range(4)]
    assert chargers == [f"SmartSolar MPPT {unit}" for unit in range(4)]
    assert {e.device_id for e in entry_entities(hass, entry)} == {d.id for d in devices} - {gx.id}
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("simulator", ["large"], indirect=True)
async def test_unnamed_devices_are_named_by_type_and_unit(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await setup_entry(hass, simulator)
    serial = entry.runtime_data.scan["gx"]["serial"]
    assert serial is not None
    assert device(hass, device_identifier(serial, 20, "tank")).name == "Tank 20"
    assert device(hass, device_identifier(serial, 25, "tank")).name == "Tank 25"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_device_the_scan_no_longer_has_is_removed(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await setup_entry(hass, simulator)
    genset = device(hass, f"{SERIAL}_41_genset")
    genset_entities = [e.entity_id for e in entry_entities(hass, entry) if e.device_id == genset.id]
    assert genset_entities
    assert await hass.config_entries.async_unload(entry.entry_id)

    scan = copy.deepcopy(entry.data[CONF_SCAN])
    scan["devices"] = [d for d in scan["devices"] if d["service"] != "genset"]
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_SCAN: scan})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert dr.async_get(hass).async_get(genset.id) is None
    registry = er.async_get(hass)
    assert all(registry.async_get(entity_id) is None for entity_id in genset_entities)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_only_a_stale_device_can_be_deleted(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = await setup_entry(hass, simulator)
    registry = dr.async_get(hass)
    stale = registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, f"{SERIAL}_99_tank")}, name="Old tank"
    )
    assert await async_remove_config_entry_device(hass, entry, stale)
    assert not await async_remove_config_entry_device(hass, entry, device(hass, f"{SERIAL}_225_battery"))
    assert not await async_remove_config_entry_device(hass, entry, device(hass, SERIAL))
    assert await hass.config_entries.async_unload(entry.entry_id)
