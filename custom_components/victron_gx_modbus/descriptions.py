"""Entity descriptions, built once from the register ledger: one per register and platform."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntityDescription
from homeassistant.components.button import ButtonEntityDescription
from homeassistant.components.number import NumberDeviceClass, NumberEntityDescription
from homeassistant.components.select import SelectEntityDescription
from homeassistant.components.sensor import SensorDeviceClass, SensorEntityDescription, SensorStateClass
from homeassistant.components.switch import SwitchEntityDescription
from homeassistant.components.text import TextEntityDescription
from homeassistant.const import EntityCategory

from victron_gx_modbus import HaMetadata, Register, ledger

if TYPE_CHECKING:
    from homeassistant.helpers.entity import EntityDescription

from .const import READ_ONLY_PLATFORMS, translation_key


@dataclass(frozen=True, kw_only=True)
class VictronSensorEntityDescription(SensorEntityDescription):
    """A register shown as a sensor."""

    states: dict[str, str] | None = None
    """Raw code (as text) -> state key, for enum sensors."""


@dataclass(frozen=True, kw_only=True)
class VictronBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A register shown as a binary sensor."""


@dataclass(frozen=True, kw_only=True)
class VictronNumberEntityDescription(NumberEntityDescription):
    """A writable register shown as a number (its bounds come from the core)."""


@dataclass(frozen=True, kw_only=True)
class VictronSelectEntityDescription(SelectEntityDescription):
    """A writable code register shown as a select."""

    states: dict[str, str]
    """Raw code (as text) -> option key."""


@dataclass(frozen=True, kw_only=True)
class VictronSwitchEntityDescription(SwitchEntityDescription):
    """A writable on/off register shown as a switch."""


@dataclass(frozen=True, kw_only=True)
class VictronButtonEntityDescription(ButtonEntityDescription):
    """A writable action register shown as a button."""


@dataclass(frozen=True, kw_only=True)
class VictronTextEntityDescription(TextEntityDescription):
    """A writable text register shown as a text entity."""


type DescriptionKey = tuple[str, str]
"""(service type, register key)."""


def _category(ha: HaMetadata) -> EntityCategory | None:
    # A read-only entity cannot be in the config category: settings show as diagnostic until writes come.
    return None if ha["entity_category"] is None else EntityCategory.DIAGNOSTIC


def _sensor(service: str, register: Register) -> VictronSensorEntityDescription:
    ha, key = register["ha"], translation_key(service, register["key"])
    states = ha["states"]
    if states:
        return VictronSensorEntityDescription(
            key=key,
            translation_key=key,
            device_class=SensorDeviceClass.ENUM,
            options=list(dict.fromkeys(states.values())),
            states=states,
            entity_category=_category(ha),
            entity_registry_enabled_default=ha["enabled_by_default"],
        )
    return VictronSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass(ha["device_class"]) if ha["device_class"] else None,
        state_class=SensorStateClass(ha["state_class"]) if ha["state_class"] else None,
        native_unit_of_measurement=ha["unit"],
        suggested_display_precision=ha["suggested_precision"],
        suggested_unit_of_measurement=ha["suggested_unit"],
        entity_category=_category(ha),
        entity_registry_enabled_default=ha["enabled_by_default"],
    )


def _binary_sensor(service: str, register: Register) -> VictronBinarySensorEntityDescription:
    ha, key = register["ha"], translation_key(service, register["key"])
    return VictronBinarySensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=BinarySensorDeviceClass(ha["device_class"]) if ha["device_class"] else None,
        entity_category=_category(ha),
        entity_registry_enabled_default=ha["enabled_by_default"],
    )


@cache
def sensor_descriptions() -> dict[DescriptionKey, VictronSensorEntityDescription]:
    """Every register the sensor platform shows (sensors, and numbers, selects, texts read-only)."""
    return {
        (service, register["key"]): _sensor(service, register)
        for service, data in ledger().items()
        for register in data["registers"]
        if READ_ONLY_PLATFORMS.get(register["ha"]["platform"]) == "sensor"
    }


@cache
def binary_sensor_descriptions() -> dict[DescriptionKey, VictronBinarySensorEntityDescription]:
    """Every register the binary sensor platform shows (binary sensors, and switches read-only)."""
    return {
        (service, register["key"]): _binary_sensor(service, register)
        for service, data in ledger().items()
        for register in data["registers"]
        if READ_ONLY_PLATFORMS.get(register["ha"]["platform"]) == "binary_sensor"
    }


def _writable(service: str, register: Register) -> EntityDescription:
    """The control of a writable register, by its ledger platform; category config."""
    ha, key = register["ha"], translation_key(service, register["key"])
    common: dict[str, object] = {
        "key": key,
        "translation_key": key,
        "entity_category": EntityCategory.CONFIG,
        "entity_registry_enabled_default": ha["enabled_by_default"],
    }
    platform = ha["platform"]
    if platform == "select":
        return VictronSelectEntityDescription(**common, states=ha["states"] or {})  # type: ignore[arg-type]
    if platform == "switch":
        return VictronSwitchEntityDescription(**common)  # type: ignore[arg-type]
    if platform == "button":
        return VictronButtonEntityDescription(**common)  # type: ignore[arg-type]
    if platform == "text":
        return VictronTextEntityDescription(**common)  # type: ignore[arg-type]
    device_class = ha["device_class"]
    return VictronNumberEntityDescription(
        **common,  # type: ignore[arg-type]
        device_class=NumberDeviceClass(device_class) if device_class else None,
        native_unit_of_measurement=ha["unit"],
    )


WRITABLE_PLATFORMS = ("number", "select", "switch", "button", "text")
"""Ledger platforms of writable registers (with writes on, each is its own entity platform)."""


@cache
def writable_descriptions() -> dict[DescriptionKey, EntityDescription]:
    """Every writable register's control (number, select, switch, button, text)."""
    return {
        (service, register["key"]): _writable(service, register)
        for service, data in ledger().items()
        for register in data["registers"]
        if register["writable"]
        and register["ha"]["write"] is not None
        and register["ha"]["platform"] in WRITABLE_PLATFORMS
    }
