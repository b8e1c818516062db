"""Fixtures of the Home Assistant tests: the integration runs in HA and talks TCP to the simulator."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import pytest
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from victron_gx_modbus import Client, ScanResult, Simulator, ledger

from custom_components.victron_gx_modbus.const import CONF_SCAN, DOMAIN, READ_ONLY_PLATFORMS

if TYPE_CHECKING:
    import logging
    from collections.abc import AsyncIterator, Callable, Coroutine, Iterator

    from homeassistant.config_entries import ConfigEntry, ConfigEntryState
    from homeassistant.core import HomeAssistant

    from custom_components.victron_gx_modbus.coordinator import VictronGxCoordinator

SCENARIOS = (
    "minimal",
    "single-phase-ess",
    "three-phase",
    "large",
    "old-firmware",
    "pre-3.66",
    "boat",
    "ess-large",
    "pv-inverters",
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/victron_gx_modbus."""


@pytest.fixture(autouse=True)
def no_deprecated_usage(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test in which Home Assistant reports a deprecated or invalid use by the integration."""
    yield
    reports = deprecation_reports(caplog.get_records("call"))
    assert not reports, reports


def deprecation_reports(records: list[logging.LogRecord]) -> list[str]:
    """Home Assistant's reports of a deprecated or invalid use by the integration among `records`."""
    return [
        record.getMessage()
        for record in records
        if DOMAIN in record.getMessage()
        and any(word in record.getMessage() for word in ("Detected that", "deprecated", "please report"))
    ]


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a test against a silent or missing GX short."""
    for module in ("custom_components.victron_gx_modbus", "custom_components.victron_gx_modbus.connection"):
        monkeypatch.setattr(f"{module}.REQUEST_TIMEOUT", 0.5)
        monkeypatch.setattr(f"{module}.CONNECT_TIMEOUT", 0.5)


async def closed_port() -> int:
    """A local port nothing listens on any more (a GX whose MQTT is off)."""
    async with Simulator("minimal") as sim:
        return sim.port


@pytest.fixture(autouse=True)
async def no_tls(monkeypatch: pytest.MonkeyPatch) -> int:
    """The flows' default MQTT ports are ones nothing listens on; returns the TLS one.

    Not this machine's 1883 and 8883, where a running demo's GX (or a broker)
    may answer; a test that wants MQTT points the flow at its simulator.
    """
    plain, tls = await closed_port(), await closed_port()
    monkeypatch.setattr("custom_components.victron_gx_modbus.config_flow.MQTT_PORT", plain)
    monkeypatch.setattr("custom_components.victron_gx_modbus.config_flow.MQTT_TLS_PORT", tls)
    return tls


@pytest.fixture(autouse=True)
def no_background_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """No background sweep unless a test asks for one (it would add requests the tests count)."""
    monkeypatch.setattr("custom_components.victron_gx_modbus.async_start_sweep", lambda *_: None)


async def scan_of(sim: Simulator) -> ScanResult:
    """A quick scan of a running simulator (what the config flow stores)."""
    async with Client(sim.host, sim.port) as client:
        return await client.scan()


def mock_entry(sim: Simulator, scan: ScanResult, title: str = "Victron GX") -> MockConfigEntry:
    """A config entry as the config flow creates it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=scan["gx"]["serial"],
        data={CONF_HOST: sim.host, CONF_PORT: sim.port, CONF_SCAN: scan},
        version=1,
    )


async def setup_entry(hass: HomeAssistant, sim: Simulator, title: str = "Victron GX") -> MockConfigEntry:
    """Scan the simulator, add its entry and set it up."""
    entry = mock_entry(sim, await scan_of(sim), title)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def state_of(entry: ConfigEntry[Any]) -> ConfigEntryState:
    """The entry's state, read afresh (keeps type checkers from narrowing it across awaits)."""
    return entry.state


def coordinator_of(entry: MockConfigEntry) -> VictronGxCoordinator:
    """The entry's coordinator."""
    coordinator: VictronGxCoordinator = entry.runtime_data.coordinator
    return coordinator


def expected_entity_count(scan: ScanResult) -> int:
    """Entities the scan should give: every served register that has a read-only platform."""
    count = 0
    for found in scan["devices"]:
        unsupported = set(found["unsupported"])
        count += sum(
            1
            for register in ledger()[found["service"]]["registers"]
            if register["key"] not in unsupported and register["ha"]["platform"] in READ_ONLY_PLATFORMS
        )
    return count


def register_of(unique_id: str) -> str:
    """The core's register id of an entity's unique ID (`<serial>_<unit>_<service>_<key>`)."""
    _serial, unit, service, key = unique_id.split("_", 3)
    return f"{unit}/{service}/{key}"


def entry_entities(hass: HomeAssistant, entry: MockConfigEntry) -> list[er.RegistryEntry]:
    """The entry's entity registry entries."""
    return er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)


async def refresh_until(
    coordinator: VictronGxCoordinator, done: Callable[[], bool], within: float = 10.0
) -> None:
    """Refresh the coordinator until `done()` holds (tokio timers run in real time)."""
    async with asyncio.timeout(within):
        while True:
            await coordinator.async_refresh()
            if done():
                return
            await asyncio.sleep(0.1)


@pytest.fixture
async def simulator(request: pytest.FixtureRequest) -> AsyncIterator[Simulator]:
    """A simulator of the scenario given by indirect parametrisation (three-phase by default)."""
    scenario = getattr(request, "param", "three-phase")
    async with Simulator(scenario, latency_ms=0) as sim:
        yield sim


async def silent_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept a connection and never answer (a hung device)."""
    with contextlib.suppress(ConnectionError):
        while await reader.read(256):
            pass
    writer.close()


async def not_a_gx_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A Modbus TCP device that is not a GX: every request gets exception 0x02 (illegal address)."""
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        while True:
            header = await reader.readexactly(7)
            pdu = await reader.readexactly(int.from_bytes(header[4:6]) - 1)
            body = bytes([pdu[0] | 0x80, 0x02])
            writer.write(header[:4] + (len(body) + 1).to_bytes(2) + header[6:7] + body)
            await writer.drain()
    writer.close()


async def http_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Not Modbus at all: a web server answers whatever it is sent."""
    with contextlib.suppress(ConnectionError):
        await reader.read(256)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def tcp_server(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]],
) -> AsyncIterator[int]:
    """Serve `handler` on 127.0.0.1; yields the port."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        server.close_clients()
        await server.wait_closed()
