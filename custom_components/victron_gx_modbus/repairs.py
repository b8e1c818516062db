"""Fix flows of repair issues: trust the certificate the GX's MQTT shows now.

The issue (issues.async_update_certificate_issue) carries the entry and the
new fingerprint; confirming stores that fingerprint as the one the entry's
MQTT trusts and reloads the entry, which reads the GX's list with it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from homeassistant.components.repairs import RepairsFlow
from homeassistant.helpers import issue_registry as ir

from .const import CONF_MQTT, DOMAIN
from .mqtt_settings import MqttSettings

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.data_entry_flow import FlowResult


class TrustCertificateFlow(RepairsFlow):
    """Show the GX's new MQTT certificate; confirming trusts it and reloads the entry."""

    def __init__(self, entry_id: str, fingerprint: str) -> None:
        """Keep which entry and which certificate the issue is about."""
        self._entry_id = entry_id
        self._fingerprint = fingerprint

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FlowResult:  # noqa: ARG002
        """The first step shows the confirmation (what it is given is the issue's data, not an answer)."""
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Show the fingerprints (the issue's placeholders); on submit, trust the new one and reload."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        settings = MqttSettings.stored(entry.data) if entry is not None else None
        if entry is None or settings is None:
            return self.async_abort(reason="entry_gone")
        if user_input is not None:
            trusted = replace(settings, fingerprint=self._fingerprint)
            self.hass.config_entries.async_update_entry(
                entry, data={**entry.data, CONF_MQTT: trusted.as_data()}
            )
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
            return self.async_create_entry(data={})
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self.issue_id)
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({}),
            description_placeholders=issue.translation_placeholders if issue is not None else None,
        )


async def async_create_fix_flow(
    hass: HomeAssistant,  # noqa: ARG001 - the repairs platform's signature
    issue_id: str,  # noqa: ARG001
    data: dict[str, str | int | float | None] | None,
) -> RepairsFlow:
    """The fix flow of an issue: every fixable issue of this integration is a new MQTT certificate."""
    data = data or {}
    return TrustCertificateFlow(str(data.get("entry_id", "")), str(data.get("fingerprint", "")))
