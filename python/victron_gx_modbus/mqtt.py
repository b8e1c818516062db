"""Exact discovery over the GX's MQTT: the options and what a scan reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._results import (
    Discovery,
    DiscoveryPhase,
    MqttCheck,
    MqttErrorKind,
    PublishedDevice,
)

__all__ = [
    "MQTT_PORT",
    "MQTT_TLS_PORT",
    "Discovery",
    "DiscoveryPhase",
    "MqttCheck",
    "MqttErrorKind",
    "MqttOptions",
    "PublishedDevice",
]

MQTT_PORT = 1883
MQTT_TLS_PORT = 8883


@dataclass(frozen=True, kw_only=True)
class MqttOptions:
    """Where to read the GX's Modbus TCP service list (MQTT on LAN).

    `host` defaults to the client's host; `password` is the GX's password
    when its security profile asks for one (never shown by `repr`); `portal_id` is learnt from the
    GX when not given; `timeout` bounds the whole exchange (seconds).

    TLS first: with `tls_port` (8883) and no `fingerprint`, a GX that offers
    TLS there is not used but reported (`MqttCheck` error `untrusted`, with
    the certificate's `fingerprint`): show it, and pass it back as
    `fingerprint` to connect; only when nothing listens on `tls_port` is
    plaintext `port` (1883) used. With `fingerprint` (the SHA-256 of the GX's
    self-signed certificate, `AB:CD:...`), TLS is used with exactly that
    certificate and never plaintext; another certificate raises
    `MqttCertificateChanged`. `tls_port=None`: plaintext only.
    """

    host: str | None = None
    port: int = MQTT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    portal_id: str | None = None
    timeout: float = 5.0
    tls_port: int | None = MQTT_TLS_PORT
    fingerprint: str | None = None

    @classmethod
    def parse(
        cls,
        target: str,
        *,
        password: str | None = None,
        tls_port: int | None = MQTT_TLS_PORT,
        fingerprint: str | None = None,
    ) -> MqttOptions:
        """Options from `HOST`, `HOST:PORT`, `:PORT`, an IPv6 address or `[IPV6]:PORT` (else ValueError).

        The port is the plaintext one; `tls_port` and `fingerprint` are as the class says.
        """
        host, port = _address(target)
        return cls(host=host, port=port, password=password, tls_port=tls_port, fingerprint=fingerprint)

    def as_args(
        self, default_host: str
    ) -> tuple[str, int, str | None, str | None, str | None, float, int | None, str | None]:
        """The tuple the core takes."""
        host = self.host or default_host
        return (
            host,
            self.port,
            self.username,
            self.password,
            self.portal_id,
            self.timeout,
            self.tls_port,
            self.fingerprint,
        )


def _address(target: str) -> tuple[str | None, int]:
    """(host or None, plaintext port) of `HOST`, `HOST:PORT`, `:PORT`, an IPv6 address or `[IPV6]:PORT`."""
    if target.count(":") > 1 and not target.startswith("["):  # a bare IPv6 address
        return target, MQTT_PORT
    host, sep, port = target.rpartition(":") if ":" in target else (target, "", "")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif target.startswith("["):
        msg = f"bad MQTT address in {target!r}"
        raise ValueError(msg)
    if not sep:
        return target or None, MQTT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:  # noqa: PLR2004
        msg = f"bad MQTT port in {target!r}"
        raise ValueError(msg)
    return host or None, int(port)
