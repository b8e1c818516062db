"""MQTT discovery in the flows: the GX's exact list, its password, the fallbacks, no sweep, no leak."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

import pytest
from homeassistant.components.diagnostics import REDACTED
from homeassistant.config_entries import SOURCE_SSDP, SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.ssdp import SsdpServiceInfo
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from victron_gx_modbus import Client, MqttOptions, Simulator

from custom_components.victron_gx_modbus.connection import async_discover, async_mqtt_check
from custom_components.victron_gx_modbus.const import CONF_MQTT, CONF_SCAN, DOMAIN, MQTT_REFRESH_INTERVAL
from custom_components.victron_gx_modbus.diagnostics import async_get_config_entry_diagnostics
from custom_components.victron_gx_modbus.hub import still_current
from custom_components.victron_gx_modbus.mqtt_settings import MqttSettings, mqtt_in_use
from custom_components.victron_gx_modbus.sweep_status import SweepStatus

from .conftest import SCENARIOS, closed_port, entry_entities
from .test_reconfigure import open_reconfigure

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry, ConfigFlowResult
    from homeassistant.core import HomeAssistant

FLOW = "custom_components.victron_gx_modbus.config_flow"
PASSWORD = "gx-Secret-4711"  # noqa: S105 - the simulated GX's password
OLD_FIRMWARE = {"old-firmware", "pre-3.66"}
"""Scenarios whose plan validation still refuses requests (fixed elsewhere): at most the quick scan's."""
MQTT_LINE = "Found over the GX's MQTT: the GX's own list of its devices, exact, with no failed request."


async def user_flow(hass: HomeAssistant, sim: Simulator) -> ConfigFlowResult:
    """Submit the simulator's address; the result is the first progress of the scan step."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: sim.host, CONF_PORT: sim.port}
    )


async def after_progress(hass: HomeAssistant, result: ConfigFlowResult) -> ConfigFlowResult:
    """Wait for the scan step's task and go on to its next step."""
    assert result["type"] is FlowResultType.SHOW_PROGRESS, result
    assert result["step_id"] == "scan"
    await hass.async_block_till_done()
    return await hass.config_entries.flow.async_configure(result["flow_id"])


def discovery_line(result: ConfigFlowResult) -> str:
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    return placeholders["discovery"]


async def create(hass: HomeAssistant, result: ConfigFlowResult) -> ConfigEntry[Any]:
    """Create the entry from the summary and let it load."""
    assert result["step_id"] == "summary", result
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry: ConfigEntry[Any] = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def quick_scan(sim: Simulator) -> tuple[set[tuple[int, str]], int]:
    """The devices and failed requests of a quick scan of `sim` (statistics reset first)."""
    sim.reset_stats()
    async with Client(sim.host, sim.port) as client:
        scan = await client.scan()
    return {(device["unit"], device["service"]) for device in scan["devices"]}, sim.stats()["exceptions"]


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_user_flow_over_mqtt_finds_every_device_without_a_failed_request(
    hass: HomeAssistant, scenario: str, no_tls: int
) -> None:
    async with Simulator(scenario, mqtt_port=0) as sim:
        with patch(f"{FLOW}.MQTT_PORT", sim.mqtt_port):
            result = await after_progress(hass, await user_flow(hass, sim))
        assert discovery_line(result) == MQTT_LINE
        failed = sim.stats()["exceptions"]
        entry = await create(hass, result)
        scan = entry.data[CONF_SCAN]
        assert scan["mode"] == "mqtt"
        found = {(device["unit"], device["service"]) for device in scan["devices"]}
        settings = MqttSettings.stored(entry.data)
        expected = MqttSettings(port=sim.mqtt_port or 0, tls_port=no_tls, portal_id=scan["gx"]["serial"])
        assert settings == expected
        assert entry.runtime_data.sweep.state == "off"  # the list is exact: no background sweep
        assert await hass.config_entries.async_unload(entry.entry_id)
        quick_found, quick_failed = await quick_scan(sim)  # finds every device of the bundled sites
        assert quick_found <= found, quick_found - found
        if scenario in OLD_FIRMWARE:
            assert failed <= quick_failed
        else:
            assert failed == 0


async def test_mqtt_off_goes_on_with_the_quick_scan_at_once(hass: HomeAssistant) -> None:
    async with Simulator("three-phase") as sim:
        port = await closed_port()
        started = time.perf_counter()
        check = await async_mqtt_check(sim.host, sim.port, MqttSettings(port=port, tls_port=port))
        check_seconds = time.perf_counter() - started
        assert check.get("error") == "unreachable"
        assert check_seconds < 0.1  # a refused connection costs well under a millisecond (plus the call)

        started = time.perf_counter()
        plain = await async_discover(sim.host, sim.port, mode="quick", progress=lambda _: None)
        quick_seconds = time.perf_counter() - started
        started = time.perf_counter()
        tried = await async_discover(
            sim.host,
            sim.port,
            mode="quick",
            progress=lambda _: None,
            mqtt=MqttSettings(port=port, tls_port=port),
        )
        tried_seconds = time.perf_counter() - started
        assert (tried.method, tried.reason) == ("quick", "unreachable")
        assert (plain.method, plain.reason) == ("quick", None)
        assert tried.scan is not None
        assert plain.scan is not None
        assert len(tried.scan["devices"]) == len(plain.scan["devices"])
        assert tried_seconds < quick_seconds + 0.1, (tried_seconds, quick_seconds)

        with patch(f"{FLOW}.MQTT_PORT", port):
            result = await after_progress(hass, await user_flow(hass, sim))
        line = discovery_line(result)
        assert line.startswith("Found by the quick Modbus scan. MQTT was not used: the GX's MQTT does not")
        entry = await create(hass, result)
        assert not mqtt_in_use(entry.data)
        assert entry.data[CONF_MQTT]["enabled"] is False
        assert entry.runtime_data.sweep.state == "not_started"  # the quick scan keeps its background sweep
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_the_password_step_wrong_then_right_then_rescan_and_no_leak(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with Simulator("single-phase-ess", mqtt_port=0, mqtt_password=PASSWORD) as sim:
        with patch(f"{FLOW}.MQTT_PORT", sim.mqtt_port):
            result = await after_progress(hass, await user_flow(hass, sim))
            assert result["type"] is FlowResultType.FORM
            assert result["step_id"] == "mqtt_password"
            assert result["errors"] == {}
            assert sim.stats()["requests"] == 2  # the connection test only: no scan before the password
            result = await hass.config_entries.flow.async_configure(result["flow_id"], {"password": "wrong"})
            result = await after_progress(hass, result)
            assert result["step_id"] == "mqtt_password"
            assert result["errors"] == {"base": "invalid_mqtt_password"}
            result = await hass.config_entries.flow.async_configure(result["flow_id"], {"password": PASSWORD})
            result = await after_progress(hass, result)
        assert discovery_line(result) == MQTT_LINE
        assert sim.stats()["exceptions"] == 0
        entry = await create(hass, result)
        assert entry.data[CONF_MQTT]["password"] == PASSWORD  # entry data: Home Assistant's place for secrets
        assert entry.runtime_data.sweep.state == "off"

        # the rescan offers MQTT first and reads the list with the stored password
        result = await open_reconfigure(hass, entry, "rescan")
        modes = result["data_schema"].schema["mode"].config["options"]  # type: ignore[union-attr]
        assert modes == ["mqtt", "quick", "deep"]
        sim.reset_stats()
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"mode": "mqtt"})
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
        assert result["step_id"] == "rescan_summary"
        assert discovery_line(result) == MQTT_LINE
        assert sim.stats()["exceptions"] == 0
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert entry.data[CONF_MQTT]["password"] == PASSWORD
        assert entry.runtime_data.sweep.state == "off"

        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
        text = json.dumps(diagnostics)
        assert PASSWORD not in text
        assert diagnostics["entry"]["data"][CONF_MQTT]["password"] == REDACTED
        assert diagnostics["entry"]["data"][CONF_MQTT]["portal_id"] == REDACTED
        settings = MqttSettings.stored(entry.data)
        assert settings is not None
        assert PASSWORD not in repr(settings)
        assert PASSWORD not in repr(settings.options())
        assert PASSWORD not in repr(MqttOptions(password=PASSWORD))
        assert await hass.config_entries.async_unload(entry.entry_id)
    leaks = [record for record in caplog.records if PASSWORD in record.getMessage()]
    assert not leaks
    assert any(record.levelno == logging.DEBUG for record in caplog.records)


async def test_skipping_the_password_uses_the_quick_scan(hass: HomeAssistant, no_tls: int) -> None:
    async with Simulator("minimal", mqtt_port=0, mqtt_password=PASSWORD) as sim:
        with patch(f"{FLOW}.MQTT_PORT", sim.mqtt_port):
            result = await after_progress(hass, await user_flow(hass, sim))
            assert result["step_id"] == "mqtt_password"
            result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
            result = await after_progress(hass, result)
        assert discovery_line(result) == (
            "Found by the quick Modbus scan. MQTT was not used: you skipped the password."
        )
        entry = await create(hass, result)
        assert entry.data[CONF_MQTT] == {
            "enabled": False,
            "port": sim.mqtt_port,
            "password": None,
            "portal_id": None,
            "tls_port": no_tls,
            "fingerprint": None,
        }
        assert await hass.config_entries.async_unload(entry.entry_id)


def ssdp(host: str, serial: str, mqtt_on_lan: str) -> SsdpServiceInfo:
    return SsdpServiceInfo(
        ssdp_usn="uuid:victron::upnp:rootdevice",
        ssdp_st="upnp:rootdevice",
        ssdp_location=f"http://{host}:80/description.xml",
        upnp={
            "manufacturer": "Victron Energy",
            "modelName": "Cerbo GX",
            "friendlyName": "Cerbo GX",
            "serialNumber": serial,
            "X_VrmPortalId": serial,
            "X_MqttOnLan": mqtt_on_lan,
        },
    )


@pytest.mark.parametrize(("mqtt_on_lan", "mqtt_used"), [("1", True), ("0", False)])
async def test_ssdp_says_whether_mqtt_is_open_and_gives_the_portal_id(
    hass: HomeAssistant, mqtt_on_lan: str, *, mqtt_used: bool
) -> None:
    async with Simulator("three-phase", mqtt_port=0) as sim:
        serial = "c0619ab2a7d1"
        with patch(f"{FLOW}.DEFAULT_PORT", sim.port), patch(f"{FLOW}.MQTT_PORT", sim.mqtt_port):
            result = await hass.config_entries.flow.async_init(
                DOMAIN, context={"source": SOURCE_SSDP}, data=ssdp(sim.host, serial, mqtt_on_lan)
            )
            assert result["step_id"] == "ssdp_confirm"
            result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
            result = await after_progress(hass, result)
        if mqtt_used:
            assert discovery_line(result) == MQTT_LINE
            assert sim.stats()["exceptions"] == 0
        else:
            assert discovery_line(result) == (
                "Found by the quick Modbus scan. MQTT was not used: the GX says MQTT on LAN is off."
            )
        entry = await create(hass, result)
        assert mqtt_in_use(entry.data) is mqtt_used
        assert entry.data[CONF_MQTT]["portal_id"] == serial
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unit_ids_are_scanned_without_mqtt(hass: HomeAssistant) -> None:
    async with Simulator("minimal", mqtt_port=0) as sim:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        with patch(f"{FLOW}.MQTT_PORT", sim.mqtt_port):
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {CONF_HOST: sim.host, CONF_PORT: sim.port, "unit_ids": "100"}
            )
            result = await after_progress(hass, result)
        assert discovery_line(result) == "Found at the unit IDs you listed."
        entry = await create(hass, result)
        assert not mqtt_in_use(entry.data)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_turns_mqtt_on_and_off_after_checking_it(hass: HomeAssistant, no_tls: int) -> None:
    async with Simulator("minimal", mqtt_port=0, mqtt_password=PASSWORD) as sim:
        with patch(f"{FLOW}.MQTT_PORT", await closed_port()):
            entry = await create(hass, await after_progress(hass, await user_flow(hass, sim)))
        assert not mqtt_in_use(entry.data)
        assert SweepStatus.stored(dict(entry.data)).state == "not_started"

        async def submit(values: dict[str, Any]) -> ConfigFlowResult:
            result = await open_reconfigure(hass, entry, "mqtt_settings")
            assert result["step_id"] == "mqtt_settings"
            return await hass.config_entries.flow.async_configure(result["flow_id"], values)

        result = await submit({"enabled": True, "port": await closed_port()})
        assert result["errors"] == {"base": "mqtt_unavailable"}
        result = await submit({"enabled": True, "port": sim.mqtt_port, "password": "wrong"})
        assert result["errors"] == {"base": "invalid_mqtt_password"}
        result = await submit({"enabled": True, "port": sim.mqtt_port, "password": PASSWORD})
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        settings = MqttSettings.stored(entry.data)
        expected = MqttSettings(port=sim.mqtt_port or 0, password=PASSWORD, portal_id="c0619ab1e2f4")
        assert settings == replace(expected, tls_port=no_tls)
        assert entry.runtime_data.sweep.state == "off"

        result = await submit({"enabled": False, "port": sim.mqtt_port})  # an empty password keeps it
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert not mqtt_in_use(entry.data)
        assert entry.data[CONF_MQTT]["password"] == PASSWORD
        assert entry.runtime_data.sweep.state == "not_started"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_forgets_the_stored_mqtt_password_only_when_asked(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # the same site's MQTT face asking for a password, and (its security profile changed) asking for none
    async with (
        Simulator("minimal", mqtt_port=0, mqtt_password=PASSWORD) as sim,
        Simulator("minimal", mqtt_port=0) as unguarded,
    ):
        with patch(f"{FLOW}.MQTT_PORT", await closed_port()):
            entry = await create(hass, await after_progress(hass, await user_flow(hass, sim)))

        async def submit(values: dict[str, Any], *, offers_forget: bool) -> ConfigFlowResult:
            result = await open_reconfigure(hass, entry, "mqtt_settings")
            fields = {str(key) for key in result["data_schema"].schema}  # type: ignore[union-attr]
            assert ("forget_password" in fields) is offers_forget, fields
            result = await hass.config_entries.flow.async_configure(result["flow_id"], values)
            await hass.async_block_till_done()
            return result

        def stored_password() -> str | None:
            return MqttSettings.stored(entry.data).password  # type: ignore[union-attr]

        guarded = {"enabled": True, "port": sim.mqtt_port}
        result = await submit({**guarded, "password": PASSWORD}, offers_forget=False)
        assert result["reason"] == "reconfigure_successful"
        assert stored_password() == PASSWORD

        # the GX still asks: forgetting is checked first and refused, the password stays
        result = await submit({**guarded, "forget_password": True}, offers_forget=True)
        assert result["errors"] == {"base": "invalid_mqtt_password"}
        result = await submit({**guarded, "password": "wrong", "forget_password": True}, offers_forget=True)
        assert result["errors"] == {"base": "invalid_mqtt_password"}
        result = await submit({**guarded, "forget_password": False}, offers_forget=True)  # empty: keep
        assert result["reason"] == "reconfigure_successful"
        assert stored_password() == PASSWORD
        assert mqtt_in_use(entry.data)

        # the GX asks for none any more: forgetting is checked without it and stored
        result = await submit(
            {"enabled": True, "port": unguarded.mqtt_port, "forget_password": True}, offers_forget=True
        )
        assert result["reason"] == "reconfigure_successful"
        assert stored_password() is None
        assert entry.data[CONF_MQTT]["password"] is None
        assert mqtt_in_use(entry.data)
        result = await submit({"enabled": True, "port": unguarded.mqtt_port}, offers_forget=False)
        assert result["reason"] == "reconfigure_successful"
        assert stored_password() is None

        diagnostics = json.dumps(await async_get_config_entry_diagnostics(hass, entry))
        assert PASSWORD not in diagnostics
        assert await hass.config_entries.async_unload(entry.entry_id)
    assert not [record for record in caplog.records if PASSWORD in record.getMessage()]


async def set_up_without_garage_mppt(hass: HomeAssistant, sim: Simulator) -> ConfigEntry[Any]:
    """Add `sim` (three-phase, MQTT on) through the flow while its garage MPPT is unplugged."""
    await sim.set_present("mppt_garage", present=False)
    with patch(f"{FLOW}.MQTT_PORT", sim.mqtt_port):
        return await create(hass, await after_progress(hass, await user_flow(hass, sim)))


def assert_garage_mppt_added(hass: HomeAssistant, entry: ConfigEntry[Any], sim: Simulator) -> None:
    """three-phase's garage MPPT (unit 3) is in the stored scan, with its entities, for one MQTT session.

    The refresh read the list once and scanned that list (no second session,
    no failed request); `sim`'s statistics were reset before the refresh.
    """
    keys = {f"{device['unit']}/{device['service']}" for device in entry.data[CONF_SCAN]["devices"]}
    assert "3/solarcharger" in keys
    unique_ids = {e.unique_id for e in entry_entities(hass, entry)}
    assert any(unique_id.startswith("c0619ab2a7d1_3_solarcharger_") for unique_id in unique_ids)
    stats = sim.stats()
    assert (stats["mqtt_connections"], stats["exceptions"]) == (1, 0)
    assert stats["requests"] > 0


async def test_setup_adds_a_device_the_mqtt_list_gained_since_the_scan(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    async with Simulator("three-phase", mqtt_port=0) as sim:
        entry = await set_up_without_garage_mppt(hass, sim)
        keys = {f"{device['unit']}/{device['service']}" for device in entry.data[CONF_SCAN]["devices"]}
        assert "3/solarcharger" not in keys
        sim.reset_stats()
        await hass.async_block_till_done(wait_background_tasks=True)  # the refresh after setup: nothing new
        assert len(entry.data[CONF_SCAN]["devices"]) == len(keys)
        assert sim.stats()["requests"] == 0  # the list names nothing new: no scan

        await sim.set_present("mppt_garage", present=True)
        sim.reset_stats()
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert_garage_mppt_added(hass, entry, sim)
        assert "The GX's MQTT lists a further device" in caplog.text
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_device_plugged_in_later_is_added_at_the_next_periodic_reading(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    async with Simulator("three-phase", mqtt_port=0) as sim:
        entry = await set_up_without_garage_mppt(hass, sim)
        await hass.async_block_till_done(wait_background_tasks=True)
        await sim.set_present("mppt_garage", present=True)
        sim.reset_stats()
        async_fire_time_changed(hass, dt_util.utcnow() + MQTT_REFRESH_INTERVAL)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert_garage_mppt_added(hass, entry, sim)
        assert entry.state is ConfigEntryState.LOADED, "added without a reload"
        assert caplog.text.count("The GX's MQTT lists a further device") == 1
        assert await hass.config_entries.async_unload(entry.entry_id)
        async_fire_time_changed(hass, dt_util.utcnow() + 3 * MQTT_REFRESH_INTERVAL)  # unloaded: nothing runs
        await hass.async_block_till_done(wait_background_tasks=True)


async def test_a_rescan_over_mqtt_that_fell_back_turns_mqtt_off_and_lets_the_sweep_run(
    hass: HomeAssistant,
) -> None:
    async with Simulator("minimal", mqtt_port=0) as sim:
        with patch(f"{FLOW}.MQTT_PORT", sim.mqtt_port):
            entry = await create(hass, await after_progress(hass, await user_flow(hass, sim)))
        assert entry.runtime_data.sweep.state == "off"
        # MQTT on LAN turned off at the GX since the set-up
        mqtt = {**entry.data[CONF_MQTT], "port": await closed_port()}
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_MQTT: mqtt})
        result = await open_reconfigure(hass, entry, "rescan")
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"mode": "mqtt"})
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
        assert result["step_id"] == "rescan_summary"
        assert discovery_line(result) != MQTT_LINE
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert entry.data[CONF_SCAN]["mode"] == "quick"
        assert not mqtt_in_use(entry.data)
        assert entry.runtime_data.sweep.state == "not_started"  # the quick scan gets its sweep
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_background_result_is_not_stored_over_a_newer_scan(hass: HomeAssistant) -> None:
    async with Simulator("minimal") as sim:
        with patch(f"{FLOW}.MQTT_PORT", await closed_port()):
            entry = await create(hass, await after_progress(hass, await user_flow(hass, sim)))
        base = entry.data[CONF_SCAN]
        assert still_current(entry, base)
        rescanned = {**base, "stats": {**base["stats"], "duration_ms": base["stats"]["duration_ms"] + 1}}
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_SCAN: rescanned})
        assert not still_current(entry, base), "a rescan stored another scan"
        assert still_current(entry, entry.data[CONF_SCAN])
        assert await hass.config_entries.async_unload(entry.entry_id)
        assert not still_current(entry, entry.data[CONF_SCAN]), "the entry is unloaded"
