"""Repair issues: old firmware, another GX at the address, setpoints fixed at zero, a new MQTT certificate."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import issue_registry as ir

from victron_gx_modbus import VictronError, ledger_register

from .const import DOMAIN
from .registers import phase_of

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from victron_gx_modbus import Client, ScanResult

    from .hub import VictronGxConfigEntry
    from .registers import ServedRegister

OLDEST_KNOWN_FIRMWARE = (3, 0)
"""GX firmware (Venus OS) older than this predates the oldest register list the ledger knows."""
FIRMWARE_URL = "https://www.victronenergy.com/live/venus-os:start"

ISSUE_OLD_FIRMWARE = "old_firmware"
ISSUE_WRONG_GX = "wrong_gx"
ISSUE_ZERO_SETPOINTS = "zero_setpoints"
ISSUE_MQTT_CERTIFICATE = "mqtt_certificate"
NO_CERTIFICATE = "—"
"""What the certificate issue shows as trusted for an entry that read plaintext MQTT."""

_VERSION = re.compile(r"v?(\d+)\.(\d+)")


def issue_id(kind: str, entry: VictronGxConfigEntry) -> str:
    """The issue ID of `kind` for one entry (each GX has its own)."""
    return f"{kind}_{entry.entry_id}"


def parse_firmware(firmware: str | None) -> tuple[int, int] | None:
    """(major, minor) of a firmware text such as "v3.60" or "v3.60~12"; None when unreadable."""
    match = _VERSION.match(firmware or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def missing_registers(scan: ScanResult) -> int:
    """How many registers the ledger knows that the scan's devices do not serve."""
    return sum(len(found["unsupported"]) for found in scan["devices"])


@callback
def async_update_firmware_issue(hass: HomeAssistant, entry: VictronGxConfigEntry, scan: ScanResult) -> None:
    """Raise the old-firmware issue when the GX is older than the ledger or lacks registers; else clear it."""
    firmware = scan["gx"]["firmware"]
    version = parse_firmware(firmware)
    missing = missing_registers(scan)
    if missing == 0 and (version is None or version >= OLDEST_KNOWN_FIRMWARE):
        ir.async_delete_issue(hass, DOMAIN, issue_id(ISSUE_OLD_FIRMWARE, entry))
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(ISSUE_OLD_FIRMWARE, entry),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        learn_more_url=FIRMWARE_URL,
        translation_key=ISSUE_OLD_FIRMWARE,
        translation_placeholders={
            "name": entry.title,
            "firmware": firmware or "?",
            "missing": str(missing),
            "oldest": "v{}.{:02d}".format(*OLDEST_KNOWN_FIRMWARE),
        },
    )


@callback
def async_update_certificate_issue(
    hass: HomeAssistant, entry: VictronGxConfigEntry, seen: str | None, expected: str | None
) -> None:
    """Offer to trust the certificate the GX's MQTT shows now (`seen`); clear the offer when None.

    A fixable issue (repairs.py): its flow stores `seen` as the entry's
    trusted fingerprint and reloads the entry.
    """
    issue = issue_id(ISSUE_MQTT_CERTIFICATE, entry)
    if seen is None:
        ir.async_delete_issue(hass, DOMAIN, issue)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue,
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_MQTT_CERTIFICATE,
        translation_placeholders={
            "name": entry.title,
            "host": str(entry.data[CONF_HOST]),
            "fingerprint": seen,
            "expected": expected or NO_CERTIFICATE,
        },
        data={"entry_id": entry.entry_id, "fingerprint": seen},
    )


async def _reported_serial(client: Client) -> str | None:
    """The serial the GX at the address reports now (`Client.identify`); None when it cannot tell."""
    try:
        return (await client.identify(firmware=False))["serial"] or None
    except VictronError:
        return None  # unreachable or refused: the first poll tells whether the GX is there


async def async_verify_gx(
    hass: HomeAssistant, entry: VictronGxConfigEntry, client: Client, expected: str
) -> None:
    """Fail setup (and raise a repair issue) when the GX at the address is not the stored scan's GX.

    One read of the GX serial (`Client.identify`); a GX that cannot tell (unreachable, refusing)
    is left to the first poll, and its issue stays as it was.
    """
    reported = await _reported_serial(client)
    if reported == expected:
        ir.async_delete_issue(hass, DOMAIN, issue_id(ISSUE_WRONG_GX, entry))
    if reported is None or reported == expected:
        return
    placeholders = {
        "name": entry.title,
        "address": f"{entry.data[CONF_HOST]}:{entry.data[CONF_PORT]}",
        "expected": expected,
        "reported": reported,
    }
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(ISSUE_WRONG_GX, entry),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_WRONG_GX,
        translation_placeholders=placeholders,
    )
    raise ConfigEntryError(
        translation_domain=DOMAIN, translation_key=ISSUE_WRONG_GX, translation_placeholders=placeholders
    )


@callback
def async_delete_issues(hass: HomeAssistant, entry: VictronGxConfigEntry) -> None:
    """Remove the entry's issues (the entry is being removed)."""
    for kind in (ISSUE_OLD_FIRMWARE, ISSUE_WRONG_GX, ISSUE_ZERO_SETPOINTS):
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry))


def _zero_kinds(client: Client, served: list[ServedRegister]) -> dict[str, int]:
    """Why each kind of setpoint is fixed at 0 -> how many, for kinds whose every number is.

    A kind is a write bound on one AC phase (or of no phase); only numbers of
    phases their device has count, so a single-phase site's L2 and L3 do not.
    """
    kinds: dict[tuple[str, int | None], list[str]] = {}
    for register in served:
        if register.platform != "number" or not register.has_phase:
            continue
        facts = ledger_register(register.service, register.key)
        if facts is None:  # served registers come from the ledger
            continue
        try:
            info = client.write_info(register.unit, register.service, register.key)
        except VictronError:
            continue
        write = facts["ha"]["write"]
        kind = (write["bound"] if write else "", phase_of(facts))
        kinds.setdefault(kind, []).append(info["reason"] if info["min"] == info["max"] == 0 else "")
    zero_kinds: dict[str, int] = {}
    for reasons in kinds.values():
        if all(reasons):
            for reason in reasons:
                zero_kinds[reason] = zero_kinds.get(reason, 0) + 1
    return zero_kinds


@callback
def async_update_zero_setpoints_issue(
    hass: HomeAssistant, entry: VictronGxConfigEntry, client: Client, served: list[ServedRegister]
) -> None:
    """Raise an issue when the limits fix every setpoint of some kind at 0 (writes on); else clear it.

    Typically the limits name fewer phases than the site's devices report,
    so every setpoint of the missing phases only accepts 0.
    """
    zero = _zero_kinds(client, served) if client.writes_enabled else {}
    if not zero:
        ir.async_delete_issue(hass, DOMAIN, issue_id(ISSUE_ZERO_SETPOINTS, entry))
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(ISSUE_ZERO_SETPOINTS, entry),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_ZERO_SETPOINTS,
        translation_placeholders={
            "name": entry.title,
            "setpoints": "\n".join(f"- {reason}: {count}" for reason, count in sorted(zero.items())),
        },
    )
