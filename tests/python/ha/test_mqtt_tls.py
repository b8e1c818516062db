"""MQTT over TLS in Home Assistant: the set-up trusts and shows the GX's certificate; a new one: a repair."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from victron_gx_modbus import Simulator

from custom_components.victron_gx_modbus.const import CONF_MQTT, CONF_SCAN, DOMAIN
from custom_components.victron_gx_modbus.issues import ISSUE_MQTT_CERTIFICATE, NO_CERTIFICATE, issue_id
from custom_components.victron_gx_modbus.mqtt_settings import MqttSettings

from .conftest import closed_port
from .test_mqtt_discovery import (
    FLOW,
    PASSWORD,
    after_progress,
    create,
    discovery_line,
    user_flow,
)

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant

CERTIFICATE_LINE = (
    "Over TLS: the GX's MQTT certificate, trusted for this entry from now on, has the SHA-256 fingerprint"
)


async def set_up(hass: HomeAssistant, sim: Simulator, *, password: str | None = None) -> ConfigEntry[Any]:
    """An entry made through the user flow against `sim` (its MQTT ports patched in)."""
    plain = sim.mqtt_port or await closed_port()
    with patch(f"{FLOW}.MQTT_PORT", plain), patch(f"{FLOW}.MQTT_TLS_PORT", sim.mqtt_tls_port):
        result = await after_progress(hass, await user_flow(hass, sim))
        if password is not None:
            assert result["step_id"] == "mqtt_password", result
            placeholders = result["description_placeholders"] or {}
            assert f"{CERTIFICATE_LINE} {sim.mqtt_fingerprint}" in placeholders["certificate"]
            result = await hass.config_entries.flow.async_configure(result["flow_id"], {"password": password})
            result = await after_progress(hass, result)
    assert f"{CERTIFICATE_LINE} {sim.mqtt_fingerprint}" in discovery_line(result)
    return await create(hass, result)


async def test_the_set_up_trusts_the_certificate_it_shows(hass: HomeAssistant) -> None:
    async with Simulator("three-phase", mqtt_tls_port=0, mqtt_password=PASSWORD) as sim:  # TLS only
        entry = await set_up(hass, sim, password=PASSWORD)
        settings = MqttSettings.stored(entry.data)
        assert settings is not None
        assert settings.fingerprint == sim.mqtt_fingerprint
        assert settings.tls_port == sim.mqtt_tls_port
        assert settings.password == PASSWORD
        assert entry.data[CONF_SCAN]["mode"] == "mqtt"
        assert entry.data[CONF_SCAN]["discovery"]["fingerprint"] == sim.mqtt_fingerprint
        assert not ir.async_get(hass).async_get_issue(DOMAIN, issue_id(ISSUE_MQTT_CERTIFICATE, entry))
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_changed_certificate_raises_a_repair_that_trusts_the_new_one(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "repairs", {})
    async with Simulator("single-phase-ess", mqtt_port=0, mqtt_tls_port=0) as sim:
        entry = await set_up(hass, sim)
        trusted = sim.mqtt_fingerprint
        rotated = sim.rotate_mqtt_certificate()
        await hass.config_entries.async_reload(entry.entry_id)  # the list is read again at each setup
        await hass.async_block_till_done(wait_background_tasks=True)
        issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id(ISSUE_MQTT_CERTIFICATE, entry))
        assert issue is not None
        assert issue.is_fixable
        assert issue.translation_placeholders is not None
        assert issue.translation_placeholders["fingerprint"] == rotated
        assert issue.translation_placeholders["expected"] == trusted
        stored = MqttSettings.stored(entry.data)
        assert stored is not None
        assert stored.fingerprint == trusted  # nothing changes until the user decides

        manager = repairs_flow_manager(hass)
        assert manager is not None
        result = await manager.async_init(DOMAIN, data={"issue_id": issue.issue_id})
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "confirm"
        assert (result["description_placeholders"] or {})["fingerprint"] == rotated
        result = await manager.async_configure(result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done(wait_background_tasks=True)

        stored = MqttSettings.stored(entry.data)
        assert stored is not None
        assert stored.fingerprint == rotated
        assert not ir.async_get(hass).async_get_issue(DOMAIN, issue.issue_id)
        # The reload read the list with the new certificate: no new issue.
        await hass.async_block_till_done(wait_background_tasks=True)
        assert not ir.async_get(hass).async_get_issue(DOMAIN, issue.issue_id)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_tls_where_the_entry_read_plaintext_asks_first(hass: HomeAssistant) -> None:
    async with Simulator("minimal", mqtt_port=0, mqtt_tls_port=0) as sim:
        with patch(f"{FLOW}.MQTT_TLS_PORT", await closed_port()):  # set up where the GX offered no TLS
            entry = await set_up_plaintext(hass, sim)
        plaintext = MqttSettings.stored(entry.data)
        assert plaintext is not None
        assert plaintext.fingerprint is None
        data = {**entry.data, CONF_MQTT: {**entry.data[CONF_MQTT], "tls_port": sim.mqtt_tls_port}}
        hass.config_entries.async_update_entry(entry, data=data)  # the GX now offers TLS
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id(ISSUE_MQTT_CERTIFICATE, entry))
        assert issue is not None
        assert issue.translation_placeholders is not None
        assert issue.translation_placeholders["fingerprint"] == sim.mqtt_fingerprint
        assert issue.translation_placeholders["expected"] == NO_CERTIFICATE
        assert await hass.config_entries.async_unload(entry.entry_id)


async def set_up_plaintext(hass: HomeAssistant, sim: Simulator) -> ConfigEntry[Any]:
    """An entry made through the user flow against `sim`'s plaintext MQTT only."""
    with patch(f"{FLOW}.MQTT_PORT", sim.mqtt_port):
        result = await after_progress(hass, await user_flow(hass, sim))
    assert CERTIFICATE_LINE not in discovery_line(result)
    return await create(hass, result)
