"""Exact discovery over the GX's MQTT: the options and what a scan reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NotRequired, TypedDict

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


class DiscoveryPhase(TypedDict):
    """What one discovery phase found and cost."""

    name: str
    """`mqtt`, `quick`, `deep` or `units`."""
    devices: int
    requests: int
    failed_requests: int
    duration_ms: float
    listed: NotRequired[int]
    """Services the GX's MQTT listed (the MQTT phase)."""
    error: NotRequired[str]
    """Why the phase did not finish (MQTT, when the scan fell back)."""


class Discovery(TypedDict):
    """How a scan found its devices."""

    used: str
    """The phase whose devices the result holds (`mqtt` when the list was used)."""
    fallback: str | None
    """Why MQTT was not used when it was asked for; None otherwise."""
    phases: list[DiscoveryPhase]
    fingerprint: NotRequired[str]
    """SHA-256 fingerprint of the GX's MQTT certificate: of the TLS connection
    used, or of the certificate not trusted yet that made the scan fall back."""


type MqttErrorKind = Literal[
    "unreachable",
    "credentials",
    "refused",
    "timeout",
    "no_list",
    "protocol",
    "untrusted",
    "certificate_changed",
    "tls",
]
"""Why the GX's MQTT list could not be read: nothing listens (MQTT off), the
password was refused (or is missing), another refusal, no answer in time, no
Modbus TCP service list, a broken exchange, TLS offered with a certificate
not trusted yet (its `fingerprint` is in the check), another certificate than
the trusted one (raised as `MqttCertificateChanged` by the client), or a
failed TLS handshake (something else than TLS on the TLS port)."""


class PublishedDevice(TypedDict):
    """What a listed service published about its device over the GX's MQTT (None: nothing published)."""

    service: str
    """Service type (`solarcharger`)."""
    instance: int
    """Device instance (of its topics; a unit ID reaches it through the GX's unit ID table)."""
    unit: int
    """The unit ID the GX lists the service at."""
    product_name: str | None
    """`ProductName`, e.g. "SmartSolar MPPT VE.Can 250/100"."""
    product_id: int | None
    """`ProductId`, e.g. 0xA10B."""
    firmware: str | None
    """`FirmwareVersion` as the GX shows it, e.g. "v3.16"."""
    serial: str | None
    custom_name: str | None
    """`CustomName`, when the user set one."""


class MqttCheck(TypedDict):
    """Whether MQTT discovery works at a GX (`Client.mqtt_check`): the list's size, or why not."""

    portal_id: NotRequired[str]
    listed: NotRequired[int]
    """Services the GX lists."""
    active: NotRequired[int]
    """Listed services that are connected (what a scan over MQTT probes)."""
    services: NotRequired[list[tuple[int, str]]]
    """The connected services as (unit ID, service type) pairs, as the GX lists them."""
    devices: NotRequired[list[tuple[int, str]]]
    """The devices a scan of that list reports, as (unit ID, service type) pairs: the
    GX's own services at unit 100, a device listed at unit 100 at unit 0, only the
    service types this library knows."""
    firmware: NotRequired[str | None]
    """The GX firmware (Venus OS version) its MQTT published; None when it published none."""
    published: NotRequired[list[PublishedDevice]]
    """What the listed services published about their devices (product, firmware, serial, custom name)."""
    fingerprint: NotRequired[str | None]
    """SHA-256 fingerprint of the GX's TLS certificate: of the connection (None
    over plaintext), or with error `untrusted`, of the certificate to show the user."""
    expected: NotRequired[str]
    """With error `certificate_changed`: the fingerprint that was trusted."""
    error: NotRequired[MqttErrorKind]
    message: NotRequired[str]
