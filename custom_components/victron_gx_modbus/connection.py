"""The flows' side of the GX: identify it, turn failures into form errors, find its devices with progress.

Devices are found over the GX's MQTT when the flow's settings allow it and
it answers (its exact list, no failed request), else by a Modbus scan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from victron_gx_modbus import (
    Client,
    GXConnectionError,
    GXProtocolError,
    GXTimeoutError,
    ScanDataError,
    ScanProgress,
    VictronError,
)

from .const import CONNECT_TIMEOUT, LOGGER, REQUEST_TIMEOUT, SCAN_MAX_RATE

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from victron_gx_modbus import MqttCheck, ScanResult
    from victron_gx_modbus.client import ScanMode

    from .mqtt_settings import MqttSettings


def flow_client(host: str, port: int) -> Client:
    """A short-lived client for a connection test or a scan."""
    return Client(
        host, port, timeout=REQUEST_TIMEOUT, connect_timeout=CONNECT_TIMEOUT, max_rate=SCAN_MAX_RATE
    )


async def async_test_connection(host: str, port: int) -> tuple[str, dict[str, str]]:
    """The GX serial at host:port and no errors; or no serial and the form's errors (translated keys).

    Two reads at unit 100 (`Client.identify`), nothing probed: no error in the GX's log.
    """
    try:
        async with flow_client(host, port) as client:
            serial = (await client.identify())["serial"]
    except (GXProtocolError, ScanDataError):
        serial = ""  # it answers Modbus TCP but is not a GX
    except GXTimeoutError:
        return "", {"base": "timeout"}
    except GXConnectionError:
        return "", {"base": "cannot_connect"}
    except Exception:  # noqa: BLE001 - every error becomes a form error
        LOGGER.exception("Unexpected error while connecting to the GX")
        return "", {"base": "unknown"}
    return (serial, {}) if serial else ("", {"base": "not_a_gx"})


@dataclass(frozen=True, slots=True)
class Discovered:
    """How a flow found the GX's devices.

    `scan` is None when the GX's MQTT refused the password and the flow asks
    for it first; `mqtt` holds the settings that read the exact list (with
    the portal ID learnt), None when MQTT was not used; `reason` says why
    MQTT was not used when it was tried (an `MqttErrorKind`, or `fallback`
    when the list vanished during the scan).
    """

    scan: ScanResult | None
    mqtt: MqttSettings | None = None
    reason: str | None = None
    fingerprint: str | None = None
    """SHA-256 fingerprint of the GX's MQTT certificate, when it offers TLS (trusted or not)."""

    def mqtt_settings(self, asked: MqttSettings) -> MqttSettings:
        """The MQTT settings to store after asking with `asked`.

        Those that read the exact list (with the portal ID the GX told), else
        `asked` turned off, so the background sweep completes the scan.
        """
        return self.mqtt or replace(asked, enabled=False)

    @property
    def needs_password(self) -> bool:
        """Whether the GX's MQTT asks for a (different) password."""
        return self.scan is None and self.reason == "credentials"

    @property
    def method(self) -> str:
        """`mqtt`, `quick`, `deep` or `units`: how the devices were found."""
        if self.mqtt is not None:
            return "mqtt"
        return self.scan["mode"] if self.scan is not None else "quick"


async def async_discover(
    host: str,
    port: int,
    *,
    mode: ScanMode,
    progress: Callable[[float], None],
    unit_ids: list[int] | None = None,
    mqtt: MqttSettings | None = None,
    ask_password: bool = False,
    trust_first_use: bool = False,
) -> Discovered:
    """Find the devices: over MQTT when `mqtt` is enabled and answers, else scan (`mode` or `unit_ids`).

    The MQTT check sends no Modbus request and is bounded (a refused
    connection answers at once). A GX that offers TLS with a certificate
    not trusted yet is read over TLS with it when `trust_first_use` (a new
    entry: the flow shows its fingerprint before a password is sent or the
    entry is made), else not over MQTT. With `ask_password`, a refused
    password ends here without a scan (the flow asks for it); otherwise the
    Modbus scan runs. The progress fraction goes to a flow's
    `async_update_progress`. A changed certificate raises
    `MqttCertificateChanged`.
    """

    def on_step(step: ScanProgress) -> None:
        if step["total"]:
            progress(min(1.0, step["done"] / step["total"]))

    reason: str | None = None
    async with flow_client(host, port) as client:
        fingerprint: str | None = None
        if mqtt is not None and mqtt.enabled and unit_ids is None:
            check = await client.mqtt_check(mqtt.options())
            if check.get("error") == "untrusted" and trust_first_use:
                mqtt = mqtt.trusting(check)
                check = await client.mqtt_check(mqtt.options())
            fingerprint = check.get("fingerprint") or mqtt.fingerprint
            reason = check.get("error")
            if reason is None:
                settings = mqtt.with_portal_id(check.get("portal_id"))
                scan = await client.scan(mqtt=settings.options(), progress=on_step)
                if scan.get("discovery", {}).get("fallback") is None:
                    return Discovered(scan, settings, fingerprint=fingerprint)
                return Discovered(scan, reason="fallback", fingerprint=fingerprint)
            LOGGER.debug("MQTT discovery at %s is not available: %s", host, check.get("message"))
            if reason == "credentials" and ask_password:
                return Discovered(None, reason=reason, fingerprint=fingerprint)
        scan = await client.scan(mode=mode, unit_ids=unit_ids, progress=on_step)
        return Discovered(scan, reason=reason, fingerprint=fingerprint)


async def async_mqtt_check(host: str, port: int, mqtt: MqttSettings) -> MqttCheck:
    """Whether the GX's MQTT gives its list with these settings (no Modbus request; bounded)."""
    async with flow_client(host, port) as client:
        return await client.mqtt_check(mqtt.options())


async def async_scan_listed(host: str, port: int, check: MqttCheck) -> ScanResult:
    """Scan exactly the devices a successful MQTT check listed, over Modbus only (no second MQTT session)."""
    async with flow_client(host, port) as client:
        return await client.scan_listed(check)


def scan_outcome(task: asyncio.Task[Discovered], address: str) -> tuple[Discovered | None, str]:
    """The outcome of a finished discovery task; or None and the error's text (logged)."""
    try:
        return task.result(), ""
    except Exception as err:  # noqa: BLE001 - a failed scan ends the flow, never crashes it
        if isinstance(err, VictronError):
            LOGGER.warning("Scanning the GX at %s failed: %s", address, err)
        else:
            LOGGER.exception("Unexpected error while scanning the GX", exc_info=err)
        return None, str(err)
