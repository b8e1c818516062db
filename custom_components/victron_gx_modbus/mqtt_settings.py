"""MQTT discovery settings of an entry: whether to read the GX's exact device list over its MQTT, and how.

Stored in the entry's data (Home Assistant's place for secrets) under
`mqtt`, changed by the reconfigure flow's form below; the password never
appears in a repr, a log line or diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Self

import voluptuous as vol
from homeassistant.helpers.selector import BooleanSelector, TextSelector, TextSelectorConfig, TextSelectorType

from victron_gx_modbus import MqttOptions
from victron_gx_modbus.mqtt import MQTT_PORT, MQTT_TLS_PORT

from .const import CONF_MQTT, MQTT_TIMEOUT
from .fields import port_field

if TYPE_CHECKING:
    from collections.abc import Mapping

    from victron_gx_modbus import MqttCheck

CONF_ENABLED = "enabled"
CONF_MQTT_PORT = "port"
CONF_MQTT_PASSWORD = "password"  # noqa: S105 - the key, not a password
CONF_PORTAL_ID = "portal_id"
CONF_TLS_PORT = "tls_port"
CONF_FINGERPRINT = "fingerprint"
CONF_FORGET_PASSWORD = "forget_password"  # noqa: S105 - a field's key, not a password
PASSWORD_FIELD = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
)
"""The GX's password, typed (never shown back)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttSettings:
    """How to read the GX's Modbus TCP service list over its MQTT.

    TLS on `tls_port` first, with the certificate whose SHA-256 `fingerprint`
    was trusted when the entry was set up (then never plaintext); without a
    fingerprint, plaintext on `port` where the GX offers no TLS.
    """

    enabled: bool = True
    port: int = MQTT_PORT
    password: str | None = field(default=None, repr=False)
    portal_id: str | None = None
    tls_port: int = MQTT_TLS_PORT
    fingerprint: str | None = None

    @classmethod
    def stored(cls, data: Mapping[str, Any]) -> Self | None:
        """The settings an entry's data holds; None for an entry made without them."""
        stored = data.get(CONF_MQTT)
        if not isinstance(stored, dict):
            return None
        return cls(
            enabled=bool(stored.get(CONF_ENABLED)),
            port=int(stored.get(CONF_MQTT_PORT, MQTT_PORT)),
            password=stored.get(CONF_MQTT_PASSWORD) or None,
            portal_id=stored.get(CONF_PORTAL_ID) or None,
            tls_port=int(stored.get(CONF_TLS_PORT, MQTT_TLS_PORT)),
            fingerprint=stored.get(CONF_FINGERPRINT) or None,
        )

    def as_data(self) -> dict[str, Any]:
        """The settings as entry data."""
        return {
            CONF_ENABLED: self.enabled,
            CONF_MQTT_PORT: self.port,
            CONF_MQTT_PASSWORD: self.password,
            CONF_PORTAL_ID: self.portal_id,
            CONF_TLS_PORT: self.tls_port,
            CONF_FINGERPRINT: self.fingerprint,
        }

    def options(self) -> MqttOptions:
        """The core's options (the GX's host is the client's)."""
        return MqttOptions(
            port=self.port,
            password=self.password,
            portal_id=self.portal_id,
            timeout=MQTT_TIMEOUT,
            tls_port=self.tls_port,
            fingerprint=self.fingerprint,
        )

    def trusting(self, check: MqttCheck) -> Self:
        """These settings trusting the certificate an `untrusted` check reported (else unchanged)."""
        if check.get("error") != "untrusted" or not check.get("fingerprint"):
            return self
        return replace(self, fingerprint=check.get("fingerprint"))

    def with_portal_id(self, portal_id: str | None) -> Self:
        """The same settings with the portal ID the GX told (kept when it told none)."""
        return replace(self, portal_id=portal_id or self.portal_id)

    def form(self, values: Mapping[str, Any] | None) -> vol.Schema:
        """The form that changes these settings, filled in with `values` (else the settings).

        The password is never shown back: left empty it keeps the stored one;
        with one stored, the form also offers to forget it (a GX whose
        security profile no longer asks).
        """
        values = values or {CONF_ENABLED: self.enabled, CONF_MQTT_PORT: self.port}
        fields: dict[vol.Marker, Any] = {
            vol.Required(CONF_ENABLED, default=values[CONF_ENABLED]): BooleanSelector(),
            vol.Required(CONF_MQTT_PORT, default=values[CONF_MQTT_PORT]): port_field(),
            vol.Optional(CONF_MQTT_PASSWORD): PASSWORD_FIELD,
        }
        if self.password is not None:
            fields[vol.Optional(CONF_FORGET_PASSWORD, default=False)] = BooleanSelector()
        return vol.Schema(fields)

    def changed_by(self, user_input: Mapping[str, Any]) -> Self:
        """The settings `form` asks for: the typed password, else none when forgotten, else the stored one."""
        typed = user_input.get(CONF_MQTT_PASSWORD)
        password = str(typed) if typed else None if user_input.get(CONF_FORGET_PASSWORD) else self.password
        return replace(
            self,
            enabled=bool(user_input[CONF_ENABLED]),
            port=int(user_input[CONF_MQTT_PORT]),
            password=password,
        )


def mqtt_in_use(data: Mapping[str, Any]) -> bool:
    """Whether an entry finds its devices over MQTT (its list is exact: no background sweep)."""
    settings = MqttSettings.stored(data)
    return settings is not None and settings.enabled
