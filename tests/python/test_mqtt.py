"""Exact discovery over the GX's MQTT, through the Python API, against the simulator's MQTT face."""

from __future__ import annotations

import socket
import time

import pytest
from victron_gx_modbus import Client, MqttOptions, Simulator

# Home Assistant's test plugin blocks sockets; these tests talk to 127.0.0.1 only.
pytestmark = pytest.mark.usefixtures("socket_enabled")

PASSWORD = "s3cret"  # noqa: S105 - the simulated GX's password
WRONG = "wrong"
# What an older GX's server serves is learnt with reads its MQTT cannot spare
# (no server version is published; see tests/mqtt_discovery.rs).
ALLOWED_FAILURES = {"old-firmware": 1, "pre-3.66": 2}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize("scenario", Simulator.scenarios())
async def test_mqtt_scan_finds_every_device_without_a_failed_request(scenario: str) -> None:
    async with Simulator(scenario, service_time_ms=0, mqtt_port=0) as sim:
        expected = len([d for d in await sim.devices() if d["present"]])
        assert sim.mqtt_port
        async with Client(sim.host, sim.port, max_rate=0) as gx:
            result = await gx.scan(mqtt=MqttOptions(port=sim.mqtt_port, tls_port=None))
        failed_at_gx = sim.stats()["exceptions"]
    allowed = ALLOWED_FAILURES.get(scenario, 0)
    assert result["mode"] == "mqtt"
    assert len(result["devices"]) == expected
    assert result["stats"]["failed_requests"] == failed_at_gx == allowed
    discovery = result["discovery"]
    assert discovery["used"] == "mqtt"
    assert discovery["fallback"] is None
    [phase] = discovery["phases"]
    assert phase["name"] == "mqtt"
    assert phase["devices"] == expected
    assert phase.get("listed", 0) >= expected
    assert phase["requests"] == result["stats"]["requests"]


async def test_the_password_decides_and_a_refusal_falls_back() -> None:
    async with Simulator("three-phase", service_time_ms=0, mqtt_port=0, mqtt_password=PASSWORD) as sim:
        port = sim.mqtt_port
        assert port is not None
        async with Client(sim.host, sim.port, max_rate=0) as gx:
            refused = await gx.scan(mqtt=MqttOptions(port=port, password=WRONG, tls_port=None))
            accepted = await gx.scan(mqtt=MqttOptions(port=port, password=PASSWORD, tls_port=None))
    assert refused["mode"] == "quick"
    fallback = refused["discovery"]["fallback"]
    assert fallback is not None
    assert "credentials" in fallback
    assert [p["name"] for p in refused["discovery"]["phases"]] == ["mqtt", "quick"]
    assert accepted["mode"] == "mqtt"
    assert {(d["unit"], d["service"]) for d in accepted["devices"]} == {
        (d["unit"], d["service"]) for d in refused["devices"]
    }


async def test_no_broker_falls_back_at_once() -> None:
    async with Simulator("minimal", service_time_ms=0) as sim:
        assert sim.mqtt_port is None
        async with Client(sim.host, sim.port, max_rate=0) as gx:
            started = time.perf_counter()
            result = await gx.scan(mqtt=MqttOptions(port=_free_port(), tls_port=_free_port()))
            elapsed = time.perf_counter() - started
    assert result["mode"] == "quick"
    mqtt, quick = result["discovery"]["phases"]
    assert "cannot connect" in mqtt.get("error", "")
    assert mqtt["duration_ms"] < 100
    assert quick["name"] == "quick"
    assert elapsed * 1000 < quick["duration_ms"] + 500


async def test_a_scan_without_mqtt_reports_its_one_phase() -> None:
    async with Simulator("minimal", service_time_ms=0) as sim, Client(sim.host, sim.port, max_rate=0) as gx:
        result = await gx.scan()
    assert result["discovery"]["used"] == "quick"
    assert [p["name"] for p in result["discovery"]["phases"]] == ["quick"]


@pytest.mark.parametrize(
    ("target", "host", "port"),
    [
        ("", None, 1883),
        ("venus.local", "venus.local", 1883),
        ("10.0.0.2:1884", "10.0.0.2", 1884),
        (":1", None, 1),
        ("fe80::1", "fe80::1", 1883),
        ("[::1]:1884", "::1", 1884),
    ],
)
def test_targets_parse(target: str, host: str | None, port: int) -> None:
    options = MqttOptions.parse(target, password=PASSWORD)
    assert (options.host, options.port, options.password) == (host, port, PASSWORD)
    assert options.as_args("gx")[:2] == (host or "gx", port)


@pytest.mark.parametrize("target", ["gx:", "gx:x", "gx:70000", ":0", "[::1]:x", "[::1"])
def test_bad_targets_are_refused(target: str) -> None:
    with pytest.raises(ValueError, match="bad MQTT"):
        MqttOptions.parse(target)


async def test_bad_options_are_a_value_error() -> None:
    async with Client("127.0.0.1", 1) as gx:
        with pytest.raises(ValueError, match="timeout"):
            await gx.scan(mqtt=MqttOptions(timeout=0))
        with pytest.raises(ValueError, match="port"):
            await gx.scan(mqtt=MqttOptions(port=0))


async def test_the_check_reads_only_the_list_and_says_why_not() -> None:
    async with Simulator("three-phase", mqtt_port=0, mqtt_password=PASSWORD) as sim:
        port = sim.mqtt_port
        assert port is not None
        async with Client(sim.host, sim.port) as client:
            assert (await client.mqtt_check(MqttOptions(port=port, tls_port=None)))["error"] == "credentials"
            check = await client.mqtt_check(MqttOptions(port=port, password=PASSWORD, tls_port=None))
        assert check.get("error") is None
        assert check["portal_id"] == "c0619ab2a7d1"
        assert check["active"] == check["listed"] == len(check["services"]) == 12
        assert (227, "vebus") in check["services"]
        assert sim.stats()["requests"] == 0  # no Modbus request at all
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed = sock.getsockname()[1]
        async with Client(sim.host, sim.port) as client:
            refused = await client.mqtt_check(MqttOptions(port=closed, tls_port=None))
        assert refused["error"] == "unreachable"
        assert "cannot connect" in refused["message"]


@pytest.mark.parametrize("scenario", ["three-phase", "pre-3.66"])
async def test_a_checked_list_is_scanned_without_a_second_mqtt_session(scenario: str) -> None:
    async with Simulator(scenario, service_time_ms=0, mqtt_port=0, mqtt_password=PASSWORD) as sim:
        options = MqttOptions(port=sim.mqtt_port or 0, password=PASSWORD, tls_port=None)
        async with Client(sim.host, sim.port, max_rate=0) as gx:
            reference = await gx.scan(mqtt=options)
        sim.reset_stats()
        async with Client(sim.host, sim.port, max_rate=0) as gx:
            check = await gx.mqtt_check(options)
            result = await gx.scan_listed(check)
            stats = sim.stats()
            snapshot = await gx.poll()  # a fresh client polls what it scanned
    assert stats["mqtt_connections"] == 1  # the check's; the scan asked MQTT nothing
    assert result["stats"]["failed_requests"] == stats["exceptions"] == ALLOWED_FAILURES.get(scenario, 0)
    assert result["mode"] == "mqtt"
    assert {(d["unit"], d["service"]) for d in result["devices"]} == {
        (d["unit"], d["service"]) for d in reference["devices"]
    }
    assert result["gx"]["firmware"] == reference["gx"]["firmware"] == check.get("firmware")
    [phase] = result["discovery"]["phases"]
    assert (phase["name"], phase.get("listed")) == ("mqtt", check["listed"])
    assert result["discovery"]["fallback"] is None
    assert snapshot["values"], "the result is adopted for polling"


async def test_a_failed_check_is_no_list_to_scan() -> None:
    async with Simulator("minimal", mqtt_port=0, mqtt_password=PASSWORD) as sim:
        async with Client(sim.host, sim.port) as gx:
            refused = await gx.mqtt_check(MqttOptions(port=sim.mqtt_port or 0, tls_port=None))
            with pytest.raises(ValueError, match="credentials"):
                await gx.scan_listed(refused)
        assert sim.stats()["requests"] == 0


def test_the_password_is_not_in_the_options_repr() -> None:
    assert PASSWORD not in repr(MqttOptions(password=PASSWORD))
