"""Device information as the GX tells it: product name and ID, firmware, serial and custom name.

With MQTT every device is named from what its service publishes (read in
the scan's MQTT session); without it, from the registers of the services
that serve a product ID, named from the product table; else the kind of
device. A refresh of the MQTT list updates what changed. Real HA core,
simulator over loopback TCP and MQTT.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from victron_gx_modbus import Client, MqttOptions, ScanResult, Simulator

from custom_components.victron_gx_modbus.const import CONF_MQTT, CONF_SCAN, DOMAIN, device_identifier
from custom_components.victron_gx_modbus.devices import with_published
from custom_components.victron_gx_modbus.mqtt_settings import MqttSettings

from .compat import device_of
from .conftest import closed_port, mock_entry, scan_of

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers import device_registry as dr
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from victron_gx_modbus import FoundDevice, PublishedDevice

SERIAL = "c0619ab2a7d1"  # three-phase's GX


def device(hass: HomeAssistant, unit: int, service: str) -> dr.DeviceEntry:
    entry = device_of(hass, (DOMAIN, device_identifier(SERIAL, unit, service)))
    assert entry is not None, (unit, service)
    return entry


def shown(hass: HomeAssistant, unit: int, service: str) -> tuple[str | None, ...]:
    """(name, model, model ID, firmware, serial) of a device as the registry holds it."""
    entry = device(hass, unit, service)
    return (entry.name, entry.model, entry.model_id, entry.sw_version, entry.serial_number)


async def mqtt_scan(sim: Simulator) -> ScanResult:
    """A scan that reads the simulator's MQTT list first."""
    async with Client(sim.host, sim.port) as client:
        # plaintext only: this machine's 8883 may be a running demo's GX
        return await client.scan(mqtt=MqttOptions(port=sim.mqtt_port or 0, tls_port=await closed_port()))


async def set_up(hass: HomeAssistant, sim: Simulator, scan: ScanResult, *, mqtt: bool) -> MockConfigEntry:
    """Add an entry with `scan` stored (and MQTT settings with `mqtt`) and set it up."""
    entry = mock_entry(sim, scan)
    entry.add_to_hass(hass)
    if mqtt:
        settings = MqttSettings(port=sim.mqtt_port or 0, tls_port=await closed_port(), portal_id=SERIAL)
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_MQTT: settings.as_data()})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


async def test_over_mqtt_devices_show_their_products_firmware_and_serials(hass: HomeAssistant) -> None:
    async with Simulator("three-phase", mqtt_port=0) as sim:
        sim.reset_stats()
        scan = await mqtt_scan(sim)
        assert scan["mode"] == "mqtt"
        assert sim.stats()["exceptions"] == 0
        entry = await set_up(hass, sim, scan, mqtt=True)
        assert shown(hass, 227, "vebus") == (
            "Multi L1-L3",
            "Quattro-II 48/5000/70-2x50",
            "0x2651",
            "v506",
            "HQ2243QT3TP",
        )
        assert shown(hass, 225, "battery") == (
            "Lynx BMS",
            "Lynx Smart BMS 1000",
            "0xA3E6",
            "v1.17",
            "HQ2238LS1TP",
        )
        mppt = shown(hass, 1, "solarcharger")
        assert mppt[1:] == ("SmartSolar MPPT VE.Can 250/100", "0xA10B", "v3.16", "HQ2241VC19Z")
        assert shown(hass, 40, "evcharger")[1:4] == ("EV Charge Station 32A", "0xC024", "v1.05-beta-03")
        # Services that publish no product: the kind of device, as before.
        assert device(hass, 100, "settings").model == "GX settings"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_without_mqtt_the_product_id_registers_name_their_devices(hass: HomeAssistant) -> None:
    async with Simulator("three-phase") as sim:
        sim.reset_stats()
        scan = await scan_of(sim)
        entry = await set_up(hass, sim, scan, mqtt=False)
        # The EV charger and the genset serve product ID, firmware and serial registers.
        assert shown(hass, 40, "evcharger") == (
            "Driveway",
            "EV Charge Station 32A",
            "0xC024",
            "v1.05-beta-03",
            "HQ2302EV7KP",
        )
        assert shown(hass, 41, "genset")[1:3] == ("Fischer Panda Genset", "0xB040")
        # A Lynx Smart BMS serves no product ID over Modbus: the kind of device.
        assert shown(hass, 225, "battery") == ("Lynx BMS", "Battery", None, None, None)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_the_mqtt_refresh_updates_what_changed(hass: HomeAssistant) -> None:
    async with Simulator("three-phase", mqtt_port=0) as sim:
        scan = await scan_of(sim)  # a Modbus scan: the Lynx BMS has no product yet
        entry = await set_up(hass, sim, scan, mqtt=True)  # its MQTT list is read again at set-up
        assert shown(hass, 225, "battery")[1:] == ("Lynx Smart BMS 1000", "0xA3E6", "v1.17", "HQ2238LS1TP")
        stored = {d["service"]: d for d in entry.data[CONF_SCAN]["devices"] if d["unit"] == 225}
        assert stored["battery"].get("product_name") == "Lynx Smart BMS 1000"
        assert entry.runtime_data.scan["devices"] == entry.data[CONF_SCAN]["devices"]
        assert await hass.config_entries.async_unload(entry.entry_id)


def test_published_facts_keep_what_the_gx_did_not_publish() -> None:
    found: FoundDevice = {
        "unit": 0,
        "service": "vebus",
        "product_id": None,
        "product_name": None,
        "name": "Multi",
        "serial": "HQ1",
        "firmware": None,
        "registers": 1,
        "unsupported": [],
    }
    scan: ScanResult = {
        "version": 1,
        "mode": "quick",
        "gx": {"serial": SERIAL, "firmware": "v3.62", "absent_exception": 10},
        "devices": [found],
        "stats": {"probes": 1, "requests": 1, "failed_requests": 0, "duration_ms": 1.0},
    }
    published: PublishedDevice = {
        "service": "vebus",
        "instance": 0,
        "unit": 100,  # the GX lists instance 0 at unit 100; the scan reads it at unit 0
        "product_name": "MultiPlus-II 48/5000/70-50",
        "product_id": 0x2623,
        "firmware": "v506",
        "serial": None,
        "custom_name": None,
    }
    updated = with_published(scan, [published])
    assert updated is not None
    assert updated["devices"][0] == {
        **found,
        "product_name": "MultiPlus-II 48/5000/70-50",
        "product_id": 0x2623,
        "firmware": "v506",
    }
    assert with_published(updated, [published]) is None  # nothing changes: nothing to store
    assert with_published(scan, []) is None
    assert with_published(scan, [{**published, "service": "battery"}]) is None
