"""Readable labels of found devices for the flows' forms and summaries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers import translation

from .const import DOMAIN, GX_SERVICES

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from victron_gx_modbus import FoundDevice


async def async_device_names(hass: HomeAssistant) -> dict[str, str]:
    """The translated device names of this integration, in the user's language."""
    return await translation.async_get_translations(hass, hass.config.language, "device", {DOMAIN})


def device_label(found: FoundDevice, names: dict[str, str]) -> str:
    """A found device as the user knows it: custom name (kind), unit."""
    service = found["service"]
    kind = names.get(f"component.{DOMAIN}.device.{service}.name", service).format(unit=found["unit"])
    name = found["name"] if found["name"] and service not in GX_SERVICES else None
    label = f"{name} ({kind})" if name else kind
    return f"{label}, unit {found['unit']}"


def device_lines(devices: list[FoundDevice], names: dict[str, str]) -> str:
    """Found devices as a Markdown list with their register counts."""
    return "\n".join(f"- {device_label(found, names)}: {found['registers']} registers" for found in devices)


async def async_certificate_line(hass: HomeAssistant, fingerprint: str | None) -> str:
    """A paragraph naming the GX's MQTT certificate that was trusted (translated); empty without TLS."""
    if not fingerprint:
        return ""
    texts = await translation.async_get_translations(hass, hass.config.language, "selector", {DOMAIN})
    label = texts.get(f"component.{DOMAIN}.selector.discovery.options.certificate", "certificate")
    return f"\n\n{label} {fingerprint}"


async def async_discovery_line(hass: HomeAssistant, method: str, reason: str | None) -> str:
    """How the devices were found and, when MQTT was tried in vain, why it was not used (translated)."""
    texts = await translation.async_get_translations(hass, hass.config.language, "selector", {DOMAIN})
    prefix = f"component.{DOMAIN}.selector.discovery.options."
    line = texts.get(f"{prefix}{method}", method)
    if reason is not None:
        why = texts.get(f"{prefix}why_{reason}") or texts.get(f"{prefix}why_other", reason)
        line = f"{line} {why}"
    return line
