"""The config flow: user and SSDP steps, errors, the scan with progress, the summary, the entry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_SSDP, SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESS_UPDATE, FlowResultType
from homeassistant.helpers.service_info.ssdp import SsdpServiceInfo
from homeassistant.loader import async_get_integration, async_get_ssdp
from victron_gx_modbus import GXConnectionError, Simulator

from custom_components.victron_gx_modbus.connection import async_test_connection
from custom_components.victron_gx_modbus.const import CONF_MODEL, CONF_SCAN, DOMAIN

from .compat import form_fields
from .conftest import http_server, mock_entry, not_a_gx_server, scan_of, silent_server, tcp_server

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigFlowResult
    from homeassistant.core import Event, HomeAssistant

FLOW = "custom_components.victron_gx_modbus.config_flow"
CONNECTION = "custom_components.victron_gx_modbus.connection"


async def start_user_flow(hass: HomeAssistant, host: str, port: int) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    fields = form_fields(result["data_schema"])
    assert [field["name"] for field in fields] == [CONF_HOST, CONF_PORT, "unit_ids"]
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: host, CONF_PORT: port}
    )


async def finish_scan(hass: HomeAssistant, result: ConfigFlowResult) -> ConfigFlowResult:
    """Wait for the scan's progress task, then go on to the summary."""
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "scan"
    assert result["progress_action"] == "scan"
    await hass.async_block_till_done()
    return await hass.config_entries.flow.async_configure(result["flow_id"])


async def test_user_flow_scans_with_progress_and_creates_the_entry(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    progress: list[float] = []

    @callback  # on the loop, in the order fired (a plain function would run in the executor, unordered)
    def on_progress(event: Event[dict[str, Any]]) -> None:
        progress.append(event.data["progress"])

    hass.bus.async_listen(EVENT_DATA_ENTRY_FLOW_PROGRESS_UPDATE, on_progress)
    result = await start_user_flow(hass, simulator.host, simulator.port)
    result = await finish_scan(hass, result)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "summary"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["serial"] == "c0619ab2a7d1"
    assert placeholders["firmware"] == "v3.62"
    assert placeholders["devices"] == "12"
    assert placeholders["registers"] == "698"
    assert "- Lynx BMS (Battery 225), unit 225: 106 registers" in placeholders["device_list"]
    assert "- System overview, unit 100: 72 registers" in placeholders["device_list"]
    assert progress, "the scan passed no progress to the flow"
    assert all(0.0 <= fraction <= 1.0 for fraction in progress)
    assert progress[-1] == pytest.approx(1.0)

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Home ESS"
    entry = result["result"]
    assert entry.unique_id == "c0619ab2a7d1"
    assert entry.data[CONF_HOST] == simulator.host
    assert entry.data[CONF_PORT] == simulator.port
    scan = entry.data[CONF_SCAN]
    assert scan["gx"]["serial"] == "c0619ab2a7d1"
    assert len(scan["devices"]) == 12
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_closed_port_cannot_connect_then_recovers(hass: HomeAssistant) -> None:
    async with Simulator("minimal") as sim:
        host, port = sim.host, sim.port
    result = await start_user_flow(hass, host, port)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "cannot_connect"}

    async with Simulator("minimal") as sim:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_HOST: f" {sim.host} ", CONF_PORT: float(sim.port)},  # as the form sends it
        )
        result = await finish_scan(hass, result)
        assert result["step_id"] == "summary"
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == "Victron GX c0619ab1e2f4"
        assert result["data"][CONF_HOST] == sim.host
        assert result["data"][CONF_PORT] == sim.port
        assert isinstance(result["data"][CONF_PORT], int)
        await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.usefixtures("socket_enabled")
async def test_a_silent_device_times_out(hass: HomeAssistant) -> None:
    async with tcp_server(silent_server) as port:
        result = await start_user_flow(hass, "127.0.0.1", port)
    assert result["errors"] == {"base": "timeout"}


@pytest.mark.usefixtures("socket_enabled")
async def test_a_modbus_device_that_is_not_a_gx(hass: HomeAssistant) -> None:
    async with tcp_server(not_a_gx_server) as port:
        result = await start_user_flow(hass, "127.0.0.1", port)
    assert result["errors"] == {"base": "not_a_gx"}


@pytest.mark.usefixtures("socket_enabled")
async def test_a_server_that_is_not_modbus_is_not_a_gx(hass: HomeAssistant) -> None:
    async with tcp_server(http_server) as port:
        result = await start_user_flow(hass, "127.0.0.1", port)
    assert result["errors"] == {"base": "not_a_gx"}


async def test_the_connection_test_reads_the_gx_twice_without_an_error(simulator: Simulator) -> None:
    simulator.reset_stats()
    serial, errors = await async_test_connection(simulator.host, simulator.port)
    assert (serial, errors) == ("c0619ab2a7d1", {})
    stats = simulator.stats()
    assert stats["requests"] == 2, "identity: serial and firmware, nothing probed"
    assert stats["exceptions"] == 0, "every exception reply is an ERROR line in the GX's log"


async def test_an_unexpected_error_is_unknown(hass: HomeAssistant, simulator: Simulator) -> None:
    with patch(f"{CONNECTION}.Client.identify", side_effect=RuntimeError("boom")):
        result = await start_user_flow(hass, simulator.host, simulator.port)
    assert result["errors"] == {"base": "unknown"}


@pytest.mark.parametrize("error", [GXConnectionError("the GX went away"), RuntimeError("scan broke")])
async def test_a_failed_scan_aborts(hass: HomeAssistant, simulator: Simulator, error: Exception) -> None:
    with patch(f"{CONNECTION}.Client.scan", autospec=True) as scan:
        scan.side_effect = error
        result = await start_user_flow(hass, simulator.host, simulator.port)
        result = await finish_scan(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "scan_failed"
    assert result["description_placeholders"] == {"error": str(error)}
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_an_already_configured_gx_aborts(hass: HomeAssistant, simulator: Simulator) -> None:
    entry = mock_entry(simulator, await scan_of(simulator))
    entry.add_to_hass(hass)
    result = await start_user_flow(hass, simulator.host, simulator.port)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_a_known_gx_at_a_new_address_updates_the_entry(hass: HomeAssistant) -> None:
    # minimal and single-phase-ess simulate the same GX (serial c0619ab1e2f4).
    async with Simulator("minimal") as old:
        entry = mock_entry(old, await scan_of(old))
    entry.add_to_hass(hass)
    async with Simulator("single-phase-ess") as moved:
        result = await start_user_flow(hass, moved.host, moved.port)
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"
        assert entry.data[CONF_PORT] == moved.port
        assert entry.data[CONF_HOST] == moved.host


def ssdp_info(host: str, serial: str | None = "c0619ab2a7d1") -> SsdpServiceInfo:
    upnp: dict[str, str] = {
        "manufacturer": "Victron Energy",
        "modelName": "Ekrano GX",
        "friendlyName": "Ekrano GX - HQ2301ABCDE",
    }
    if serial:
        upnp["serialNumber"] = serial
        upnp["X_VrmPortalId"] = serial
    return SsdpServiceInfo(
        ssdp_usn="uuid:victron::upnp:rootdevice",
        ssdp_st="upnp:rootdevice",
        ssdp_location=f"http://{host}:80/description.xml",
        upnp=upnp,
    )


async def test_ssdp_confirm_then_scan(hass: HomeAssistant, simulator: Simulator) -> None:
    with patch(f"{FLOW}.DEFAULT_PORT", simulator.port):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_SSDP}, data=ssdp_info(simulator.host)
        )
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "ssdp_confirm"
        assert result["description_placeholders"] == {
            "name": "Ekrano GX - HQ2301ABCDE",
            "model": "Ekrano GX",
            "host": simulator.host,
        }
        flows = hass.config_entries.flow.async_progress()
        assert flows[0]["context"]["title_placeholders"] == {
            "name": "Ekrano GX - HQ2301ABCDE",
            "host": simulator.host,
        }
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
        result = await finish_scan(hass, result)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == "c0619ab2a7d1"
    assert entry.data[CONF_PORT] == simulator.port
    assert entry.data[CONF_MODEL] == "Ekrano GX"
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_ssdp_confirm_shows_connection_errors(hass: HomeAssistant) -> None:
    async with Simulator("minimal") as sim:
        host, port = sim.host, sim.port
    with patch(f"{FLOW}.DEFAULT_PORT", port):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_SSDP}, data=ssdp_info(host, serial=None)
        )
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ssdp_confirm"
    assert result["errors"] == {"base": "cannot_connect"}


async def test_ssdp_of_a_configured_gx_updates_its_host_and_aborts(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    entry = mock_entry(simulator, await scan_of(simulator))
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_SSDP}, data=ssdp_info("127.0.0.2")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == "127.0.0.2"
    assert entry.data[CONF_PORT] == simulator.port


async def test_ssdp_without_a_location_aborts(hass: HomeAssistant) -> None:
    info = ssdp_info("127.0.0.1")
    info.ssdp_location = None
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_SSDP}, data=info)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_host"


async def test_manifest_matches_gx_devices_over_ssdp(hass: HomeAssistant) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.config_flow
    assert integration.ssdp == [{"manufacturer": "Victron Energy"}]
    matchers = await async_get_ssdp(hass)
    assert matchers[DOMAIN] == [{"manufacturer": "Victron Energy"}]
