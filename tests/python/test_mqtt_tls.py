"""MQTT over TLS through the Python API: trust on first use, a changed certificate, the simulator's face."""

from __future__ import annotations

import re
import socket

import pytest
from victron_gx_modbus import Client, MqttCertificateChanged, MqttOptions, Simulator, SimulatorError

pytestmark = pytest.mark.usefixtures("socket_enabled")

PASSWORD = "s3cret"  # noqa: S105 - the simulated GX's password
FINGERPRINT = re.compile(r"[0-9A-F]{2}(:[0-9A-F]{2}){31}")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _options(sim: Simulator, fingerprint: str | None = None, password: str | None = None) -> MqttOptions:
    return MqttOptions(
        port=sim.mqtt_port or _closed_port(),
        tls_port=sim.mqtt_tls_port,
        fingerprint=fingerprint,
        password=password,
    )


async def test_first_contact_shows_the_fingerprint_then_it_is_trusted() -> None:
    async with Simulator("three-phase", service_time_ms=0, mqtt_port=0, mqtt_tls_port=0) as sim:
        shown = sim.mqtt_fingerprint
        assert shown is not None
        assert FINGERPRINT.fullmatch(shown)
        async with Client(sim.host, sim.port, max_rate=0) as gx:
            first = await gx.mqtt_check(_options(sim))
            trusted = await gx.mqtt_check(_options(sim, fingerprint=first.get("fingerprint")))
            # Lower case, without colons: the same fingerprint.
            relaxed = await gx.mqtt_check(_options(sim, fingerprint=shown.replace(":", "").lower()))
    assert first.get("error") == "untrusted"
    assert first.get("fingerprint") == shown
    assert shown in first.get("message", "")
    assert "services" not in first
    assert trusted.get("fingerprint") == shown
    assert trusted.get("active", 0) > 0
    assert "error" not in trusted
    assert relaxed.get("active") == trusted.get("active")


async def test_plaintext_reports_no_fingerprint() -> None:
    async with Simulator("minimal", service_time_ms=0, mqtt_port=0) as sim:
        assert sim.mqtt_tls_port is None
        assert sim.mqtt_fingerprint is None
        with pytest.raises(SimulatorError, match="no MQTT over TLS"):
            sim.rotate_mqtt_certificate()
        async with Client(sim.host, sim.port, max_rate=0) as gx:
            check = await gx.mqtt_check(MqttOptions(port=sim.mqtt_port or 0, tls_port=_closed_port()))
    assert check.get("active", 0) > 0
    assert check.get("fingerprint") is None


async def test_a_changed_certificate_raises_with_both_fingerprints() -> None:
    async with Simulator("three-phase", service_time_ms=0, mqtt_tls_port=0, mqtt_password=PASSWORD) as sim:
        assert sim.mqtt_port is None  # TLS only, as a GX whose interface offers nothing else
        trusted = sim.mqtt_fingerprint
        assert trusted is not None
        async with Client(sim.host, sim.port, max_rate=0) as gx:
            ok = await gx.mqtt_check(_options(sim, fingerprint=trusted, password=PASSWORD))
            rotated = sim.rotate_mqtt_certificate()
            assert sim.mqtt_fingerprint == rotated != trusted
            with pytest.raises(MqttCertificateChanged) as raised:
                await gx.mqtt_check(_options(sim, fingerprint=trusted, password=PASSWORD))
            sim.reset_stats()
            with pytest.raises(MqttCertificateChanged) as in_scan:
                await gx.scan(mqtt=_options(sim, fingerprint=trusted, password=PASSWORD))
            requests = sim.stats()["requests"]
            again = await gx.scan(mqtt=_options(sim, fingerprint=rotated, password=PASSWORD))
    assert ok.get("fingerprint") == trusted
    for err in (raised.value, in_scan.value):
        assert err.fingerprint == rotated
        assert err.expected == trusted
        assert rotated in str(err)
    assert requests == 0, "a scan went on over Modbus after the certificate changed"
    assert again["mode"] == "mqtt"
    assert again["discovery"].get("fingerprint") == rotated


async def test_a_scan_falls_back_with_the_fingerprint_to_show() -> None:
    async with Simulator("three-phase", service_time_ms=0, mqtt_port=0, mqtt_tls_port=0) as sim:
        shown = sim.mqtt_fingerprint
        async with Client(sim.host, sim.port, max_rate=0) as gx:
            result = await gx.scan(mqtt=_options(sim))
    discovery = result["discovery"]
    assert result["mode"] == "quick"
    assert discovery.get("fingerprint") == shown is not None
    assert "not trusted" in (discovery["fallback"] or "")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (MqttOptions(fingerprint="AB:CD"), "SHA-256 fingerprint"),
        (MqttOptions(fingerprint="G" * 64), "not hex"),
        (MqttOptions(fingerprint="AB" * 32, tls_port=None), "needs TLS"),
        (MqttOptions(tls_port=0), "port"),
    ],
)
async def test_bad_tls_options_are_value_errors(options: MqttOptions, message: str) -> None:
    async with Simulator("minimal", service_time_ms=0) as sim, Client(sim.host, sim.port) as gx:
        with pytest.raises(ValueError, match=message):
            await gx.mqtt_check(options)


def test_parse_keeps_the_tls_settings() -> None:
    options = MqttOptions.parse("gx.local:1884", password=PASSWORD, tls_port=8884, fingerprint="AB" * 32)
    assert (options.host, options.port, options.tls_port, options.fingerprint) == (
        "gx.local",
        1884,
        8884,
        "AB" * 32,
    )
    assert MqttOptions.parse("gx.local").tls_port == 8883
    assert MqttOptions.parse("[::1]:1883", tls_port=None).tls_port is None
    assert PASSWORD not in repr(options)
