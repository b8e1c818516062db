"""Devices that moved to another unit keep their entities.

A device's unit follows its VE.Can or VE.Direct instance, so re-cabling a
device or renumbering its instance moves it to another unit, and the unit is
part of every unique ID. A device's identity is its serial where it serves
one, else its product ID and custom name (with its service type). When a
scan lacks a device it had and has one of the same identity at another unit,
the registry entries move: each entity gets its new unique ID (keeping its
entity ID, name, enabled state and history), the device its new identifier,
and an excluded device stays excluded. Several gone or arrived devices of one
identity (two identical unnamed devices moving at once) are not guessed at:
the rescan asks the user which is which.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from .const import CONF_EXCLUDED_DEVICES, DOMAIN, GX_SERVICES, LOGGER, device_identifier, device_key

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant

    from victron_gx_modbus import FoundDevice, ScanResult

type Identity = tuple[str, ...]


def identity(found: FoundDevice, *, serial_only: bool = False) -> Identity | None:
    """Who a device is, wherever it is reached; None when nothing tells it apart (or only its serial may)."""
    service = found["service"]
    if service in GX_SERVICES:
        return None  # the GX's own services never move
    if found["serial"]:
        return (service, "serial", found["serial"])
    if serial_only or (found["product_id"] is None and not found["name"]):
        return None
    return (service, "product", str(found["product_id"]), found["name"] or "")


@dataclass(frozen=True, slots=True)
class Move:
    """A device gone from one unit and found at another."""

    old: FoundDevice
    new: FoundDevice

    def __str__(self) -> str:
        """How the log names it."""
        return f"{self.old['service']} from unit {self.old['unit']} to unit {self.new['unit']}"


@dataclass(frozen=True, slots=True)
class Ambiguity:
    """Devices of one identity gone from their units and found at others, more than one on a side."""

    gone: list[FoundDevice]
    arrived: list[FoundDevice]


@dataclass(frozen=True, slots=True)
class Moves:
    """The moves between two device lists, and the groups too ambiguous to match (the user matches them)."""

    moved: list[Move]
    ambiguous: list[Ambiguity]

    def matched(self, choices: Mapping[str, str]) -> list[Move]:
        """The moves, with those the user chose (`"<unit>/<service>"` gone -> arrived) among the ambiguous."""
        chosen = [
            Move(old, new)
            for group in self.ambiguous
            for old in group.gone
            for new in group.arrived
            if choices.get(_key(old)) == _key(new)
        ]
        return [*self.moved, *chosen]

    @staticmethod
    def keys(moved: list[Move]) -> set[str]:
        """The keys the moves leave and reach."""
        return {_key(move.old) for move in moved} | {_key(move.new) for move in moved}


def _key(found: FoundDevice) -> str:
    """A found device's key ("<unit>/<service>")."""
    return device_key(found["unit"], found["service"])


def _by_identity(
    devices: list[FoundDevice], others: list[FoundDevice], *, serial_only: bool
) -> dict[Identity, list[FoundDevice]]:
    """The `devices` whose key `others` lacks, by identity (those without one left out)."""
    keys = {_key(found) for found in others}
    grouped: dict[Identity, list[FoundDevice]] = defaultdict(list)
    for found in devices:
        if _key(found) not in keys and (who := identity(found, serial_only=serial_only)) is not None:
            grouped[who].append(found)
    return grouped


def find_moves(before: list[FoundDevice], after: list[FoundDevice], *, serial_only: bool = False) -> Moves:
    """Devices of `before` that `after` lacks and has, of the same identity, at another unit.

    With `serial_only`, only serials identify (`after` may not hold every
    device present, so a product and name seen twice could be two devices).
    """
    gone = _by_identity(before, after, serial_only=serial_only)
    arrived = _by_identity(after, before, serial_only=serial_only)
    moved: list[Move] = []
    ambiguous: list[Ambiguity] = []
    for who, olds in gone.items():
        news = arrived.get(who, [])
        if len(olds) == 1 and len(news) == 1:
            moved.append(Move(olds[0], news[0]))
        elif news:
            ambiguous.append(Ambiguity(olds, news))
    return Moves(moved, ambiguous)


def without_moved(scan: ScanResult, found: list[FoundDevice]) -> tuple[ScanResult, list[Move]]:
    """A scan that gained the `found` devices (the sweep's, the MQTT list's), less the devices they moved.

    Only serials tell here (what was found is not every device present): a
    stored device whose serial a found device has at another unit moved there
    and leaves the scan.
    """
    found_keys = {_key(device) for device in found}
    stored = [device for device in scan["devices"] if _key(device) not in found_keys]
    moved = find_moves(stored, found, serial_only=True).moved
    left = {_key(move.old) for move in moved}
    return {**scan, "devices": [device for device in scan["devices"] if _key(device) not in left]}, moved


def moved_options(options: Mapping[str, Any], moved: list[Move]) -> dict[str, Any]:
    """The options with each moved device's exclusion following it."""
    renamed = {_key(move.old): _key(move.new) for move in moved}
    excluded = [renamed.get(key, key) for key in options.get(CONF_EXCLUDED_DEVICES, [])]
    return {**options, CONF_EXCLUDED_DEVICES: excluded} if CONF_EXCLUDED_DEVICES in options else dict(options)


@callback
def async_move_registry_entries(
    hass: HomeAssistant, entry: ConfigEntry[Any], gx: str, moved: list[Move]
) -> None:
    """Give each moved device's entities and device their new unit's unique IDs and identifier."""
    entities = er.async_get(hass)
    devices = dr.async_get(hass)
    ours = er.async_entries_for_config_entry(entities, entry.entry_id)
    by_identifier = {
        identifier: device
        for device in dr.async_entries_for_config_entry(devices, entry.entry_id)
        for domain, identifier in device.identifiers
        if domain == DOMAIN
    }
    for move in moved:
        old = device_identifier(gx, move.old["unit"], move.old["service"])
        new = device_identifier(gx, move.new["unit"], move.new["service"])
        LOGGER.info("%s: %s moved; its entities follow it", entry.title, move)
        for entity in ours:
            if entity.unique_id.startswith(f"{old}_"):
                unique_id = f"{new}_{entity.unique_id.removeprefix(f'{old}_')}"
                if entities.async_get_entity_id(entity.domain, entity.platform, unique_id) is None:
                    entities.async_update_entity(entity.entity_id, new_unique_id=unique_id)
        if (device := by_identifier.get(old)) is not None and new not in by_identifier:
            devices.async_update_device(device.id, new_identifiers={(DOMAIN, new)})
