"""The steps of every scan in a flow: progress, the GX's MQTT password, failure, and the summary.

Setting up a GX scans it to create the entry; the reconfigure flow's rescan
scans it to replace the stored scan. Both go through the same steps; only
the summary differs: every device for a new entry, what changed for a
rescan (applied with `async_update_reload_and_abort`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.helpers.selector import SelectOptionDict, SelectSelector, SelectSelectorConfig

from .connection import async_discover, scan_outcome
from .const import CONF_MODEL, CONF_MQTT, CONF_SCAN, CONF_SWEEP, CONF_UNIT_IDS, device_key
from .labels import (
    async_certificate_line,
    async_device_names,
    async_discovery_line,
    device_label,
    device_lines,
)
from .moves import Moves, async_move_registry_entries, find_moves, moved_options
from .mqtt_settings import CONF_MQTT_PASSWORD, PASSWORD_FIELD

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Mapping

    from victron_gx_modbus import FoundDevice, ScanResult
    from victron_gx_modbus.client import ScanMode

    from .connection import Discovered
    from .mqtt_settings import MqttSettings

NOTHING = "—"
"""A placeholder's text for an empty list."""
GONE = "gone"
"""The choice of a device that left and is none of those that arrived."""


def devices_by_key(scan: ScanResult) -> dict[str, FoundDevice]:
    """A scan's devices by their key in the options ("<unit>/<service>")."""
    return {device_key(found["unit"], found["service"]): found for found in scan["devices"]}


def scan_title(scan: ScanResult) -> str:
    """An entry's title: the GX's system name when set, else its serial."""
    for found in scan["devices"]:
        if found["service"] == "settings" and found["name"]:
            return found["name"]
    return f"Victron GX {scan['gx']['serial']}"


class ScanFlow(ConfigFlow):
    """A config flow that finds a GX's devices with progress and shows what it found.

    The entry points set the address, the scan `mode` or `unit_ids`, and
    `mqtt` (None: no MQTT) before `async_step_scan`.
    """

    _host = ""
    _port = 0
    _model: str | None = None
    """The GX's model as SSDP announced it (stored with a new entry)."""
    _mode: ScanMode = "quick"
    _unit_ids: list[int] | None = None
    _mqtt: MqttSettings | None = None
    _mqtt_reason: str | None = None
    """Why MQTT is not tried (`off`: SSDP says so; `skipped`: the user skipped the password)."""
    _scan_task: asyncio.Task[Discovered] | None = None
    _found: Discovered | None = None
    _scan_error = ""
    _matches: dict[str, str] | None = None
    """Which arrived device each gone one is, as the user told (rescans with identical devices moving)."""

    async def async_step_scan(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:  # noqa: ARG002
        """Find the devices in the core (MQTT's list when asked and it answers, else a scan) with progress."""
        rescan = self.source == SOURCE_RECONFIGURE
        if self._scan_task is None:
            discovery = async_discover(
                self._host,
                self._port,
                mode=self._mode,
                progress=self.async_update_progress,
                unit_ids=self._unit_ids,
                mqtt=self._mqtt,
                ask_password=not rescan,  # a rescan uses the stored password
                trust_first_use=not rescan,  # a rescan uses the stored certificate
            )
            self._scan_task = self.hass.async_create_task(discovery)
        if not self._scan_task.done():
            return self.async_show_progress(
                step_id="scan",
                progress_action="scan",
                progress_task=self._scan_task,
                description_placeholders={"host": self._host},
            )
        self._found, self._scan_error = scan_outcome(self._scan_task, f"{self._host}:{self._port}")
        self._scan_task = None
        if self._found is None:
            return self.async_show_progress_done(next_step_id="scan_failed")
        if self._found.needs_password:
            return self.async_show_progress_done(next_step_id="mqtt_password")
        return self.async_show_progress_done(next_step_id="rescan_summary" if rescan else "summary")

    async def async_step_mqtt_password(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The GX's MQTT asks for the GX's password: take it (scan over MQTT) or skip to the Modbus scan."""
        if self._mqtt is None:  # pragma: no cover - asked only when MQTT was tried
            return self.async_abort(reason="scan_failed", description_placeholders={"error": "no MQTT"})
        if user_input is not None:
            if password := str(user_input.get(CONF_MQTT_PASSWORD) or ""):
                self._mqtt = replace(self._mqtt, password=password)
            else:
                self._mqtt, self._mqtt_reason = replace(self._mqtt, enabled=False, password=None), "skipped"
            return await self.async_step_scan()
        return self.async_show_form(
            step_id="mqtt_password",
            data_schema=vol.Schema({vol.Optional(CONF_MQTT_PASSWORD): PASSWORD_FIELD}),
            description_placeholders={
                "host": self._host,
                "certificate": await async_certificate_line(
                    self.hass, self._found.fingerprint if self._found is not None else None
                ),
            },
            errors={"base": "invalid_mqtt_password"} if self._mqtt.password is not None else {},
        )

    async def async_step_scan_failed(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:  # noqa: ARG002
        """The scan failed: nothing is created or changed."""
        return self.async_abort(reason="scan_failed", description_placeholders={"error": self._scan_error})

    async def async_step_summary(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A new GX: every device found, and how; submitting creates the entry."""
        scan = self._scan()
        if user_input is not None:
            base = {CONF_HOST: self._host, CONF_PORT: self._port, CONF_MODEL: self._model}
            if not self._model:
                del base[CONF_MODEL]
            return self.async_create_entry(title=scan_title(scan), data=self.entry_data(base, scan))
        names = await async_device_names(self.hass)
        return self.async_show_form(
            step_id="summary",
            description_placeholders={
                "serial": str(scan["gx"]["serial"]),
                "firmware": scan["gx"]["firmware"] or "?",
                "device_list": device_lines(scan["devices"], names),
                **await self._totals(scan),
            },
        )

    async def async_step_rescan_summary(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A rescan: the devices it adds, removes and moves, and how; applying stores it and reloads."""
        scan = self._scan()
        entry = self._get_reconfigure_entry()
        if scan["gx"]["serial"] != entry.unique_id:
            return self.async_abort(reason="wrong_device")
        moves = find_moves(entry.data[CONF_SCAN]["devices"], scan["devices"])
        if moves.ambiguous and self._matches is None:
            return await self.async_step_match_moves()
        moved = moves.matched(self._matches or {})
        if user_input is not None:  # the moved devices' entities follow them before the reload
            async_move_registry_entries(self.hass, entry, str(entry.unique_id), moved)
            return self.async_update_reload_and_abort(
                entry, data=self.entry_data(entry.data, scan), options=moved_options(entry.options, moved)
            )
        old, new = devices_by_key(entry.data[CONF_SCAN]), devices_by_key(scan)
        moving = Moves.keys(moved)
        names = await async_device_names(self.hass)
        added = [found for key, found in new.items() if key not in old and key not in moving]
        removed = [found for key, found in old.items() if key not in new and key not in moving]
        moves_text = [f"- {device_label(m.new, names)} (was unit {m.old['unit']})" for m in moved]
        return self.async_show_form(
            step_id="rescan_summary",
            description_placeholders={
                "added": device_lines(added, names) or NOTHING,
                "removed": device_lines(removed, names) or NOTHING,
                "moved": "\n".join(moves_text) or NOTHING,
                **await self._totals(scan),
            },
        )

    async def async_step_match_moves(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Identical devices left their units and arrived at others: the user tells which is which."""
        entry = self._get_reconfigure_entry()
        ambiguous = find_moves(entry.data[CONF_SCAN]["devices"], self._scan()["devices"]).ambiguous
        errors: dict[str, str] = {}
        if user_input is not None:
            chosen = [new for new in user_input.values() if new != GONE]
            if len(chosen) == len(set(chosen)):
                self._matches = {old: new for old, new in user_input.items() if new != GONE}
                return await self.async_step_rescan_summary()
            errors["base"] = "same_device_twice"
        names = await async_device_names(self.hass)
        fields: dict[vol.Marker, Any] = {}
        for group in ambiguous:
            options = [SelectOptionDict(value=GONE, label=GONE)] + [
                SelectOptionDict(
                    value=device_key(new["unit"], new["service"]), label=device_label(new, names)
                )
                for new in group.arrived
            ]
            config = SelectSelectorConfig(options=options, translation_key="move_choice")
            for old in group.gone:
                key = device_key(old["unit"], old["service"])
                fields[vol.Required(key, default=(user_input or {}).get(key, GONE))] = SelectSelector(config)
        return self.async_show_form(step_id="match_moves", data_schema=vol.Schema(fields), errors=errors)

    def _scan(self) -> ScanResult:
        """The scan the summary shows (the progress step always comes first)."""
        scan = self._found.scan if self._found is not None else None
        assert scan is not None  # noqa: S101 - the step order
        return scan

    async def _totals(self, scan: ScanResult) -> dict[str, str]:
        """The placeholders every summary shows: counts, and how the devices were found."""
        found = self._found
        assert found is not None  # noqa: S101 - the step order
        reason = found.reason or self._mqtt_reason
        trusted = found.mqtt.fingerprint if found.mqtt is not None else None
        line = await async_discovery_line(self.hass, found.method, reason)
        return {
            "devices": str(len(scan["devices"])),
            "registers": str(sum(device["registers"] for device in scan["devices"])),
            "discovery": line + await async_certificate_line(self.hass, trusted),
        }

    def entry_data(self, base: Mapping[str, Any], scan: ScanResult) -> dict[str, Any]:
        """`base` with this scan and how it was made: the MQTT settings, the unit list, the sweep's part."""
        data = {key: value for key, value in base.items() if key not in (CONF_SWEEP, CONF_UNIT_IDS)}
        data[CONF_SCAN] = scan
        if self._unit_ids:  # exactly these units: no background sweep
            data[CONF_UNIT_IDS] = self._unit_ids
        elif self._mode == "deep":  # nothing is left for a background sweep
            data[CONF_SWEEP] = {"found": [], "requests": 0, "failed_requests": 0}
        if self._mqtt is not None and self._found is not None:
            data[CONF_MQTT] = self._found.mqtt_settings(self._mqtt).as_data()
        return data
