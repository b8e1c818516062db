"""Entity descriptions, built once from the register ledger: one per register and platform.

Each description carries its register's behaviour on its platform: a control's
description is bound to what the core lets it write under the entry's limits
(`bound_to`: a number's bounds, a select's options, a switch's on and off
codes, a button's action code, a text's length), so the entities only read
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Self, TypedDict

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntityDescription
from homeassistant.components.button import ButtonEntityDescription
from homeassistant.components.number import NumberDeviceClass, NumberEntityDescription
from homeassistant.components.select import SelectEntityDescription
from homeassistant.components.sensor import SensorDeviceClass, SensorEntityDescription, SensorStateClass
from homeassistant.components.switch import SwitchEntityDescription
from homeassistant.components.text import TextEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.helpers.entity import EntityDescription

from victron_gx_modbus import HaMetadata, Register, ledger

from .const import READ_ONLY_PLATFORMS, translation_key

if TYPE_CHECKING:
    from collections.abc import Mapping

    from victron_gx_modbus.client import RegisterValue, WriteInfo


@dataclass(frozen=True, kw_only=True)
class VictronEntityDescription(EntityDescription):
    """The base of every register's description: Home Assistant's fields, taken from the ledger."""

    def bound_to(self, info: WriteInfo) -> Self:  # noqa: ARG002 - a read-only register has no range
        """The description under the entry's limits (`Client.write_info`); itself for a read-only one."""
        return self


@dataclass(frozen=True, kw_only=True)
class VictronSensorEntityDescription(VictronEntityDescription, SensorEntityDescription):
    """A register shown as a sensor."""

    states: dict[str, str] | None = None
    """Raw code (as text) -> state key, for enum sensors."""


@dataclass(frozen=True, kw_only=True)
class VictronBinarySensorEntityDescription(VictronEntityDescription, BinarySensorEntityDescription):
    """A register shown as a binary sensor."""


@dataclass(frozen=True, kw_only=True)
class VictronNumberEntityDescription(VictronEntityDescription, NumberEntityDescription):
    """A writable register shown as a number: its bounds and step are the core's."""

    def bound_to(self, info: WriteInfo) -> Self:
        """With the lowest and highest value the limits allow, and one raw unit as the step."""
        return replace(
            self, native_min_value=info["min"], native_max_value=info["max"], native_step=info["step"]
        )


@dataclass(frozen=True, kw_only=True)
class VictronSelectEntityDescription(VictronEntityDescription, SelectEntityDescription):
    """A writable code register shown as a select: its options are the codes the core allows."""

    states: dict[str, str]
    """Raw code (as text) -> option key."""
    codes: Mapping[str, int] = field(default_factory=dict)
    """Option -> the first allowed code that shows as it (bound)."""

    def bound_to(self, info: WriteInfo) -> Self:
        """With the options of the codes the core allows."""
        codes: dict[str, int] = {}
        for code in info["allowed"] or ():
            state = self.states.get(str(code))
            if state is not None:
                codes.setdefault(state, code)
        return replace(self, codes=codes, options=list(codes))

    def option_of(self, value: RegisterValue) -> str | None:
        """The option of a register value (None: not available, or a code the ledger lacks)."""
        return None if value is None else self.states.get(str(value))


@dataclass(frozen=True, kw_only=True)
class VictronSwitchEntityDescription(VictronEntityDescription, SwitchEntityDescription):
    """A writable on/off register shown as a switch."""

    on_code: int = 1
    """The code that means on: the highest one allowed (1 when the ledger lists none)."""
    off_code: int = 0
    """The code that means off: the lowest one allowed (0 when the ledger lists none)."""

    def bound_to(self, info: WriteInfo) -> Self:
        """With the on and off codes of the codes the core allows."""
        allowed = info["allowed"]
        return replace(self, on_code=max(allowed or [1]), off_code=min(allowed or [0]))


@dataclass(frozen=True, kw_only=True)
class VictronButtonEntityDescription(VictronEntityDescription, ButtonEntityDescription):
    """A writable action register shown as a button."""

    press_code: int = 1
    """The code a press writes: the highest one allowed (the action; 0 is "idle")."""

    def bound_to(self, info: WriteInfo) -> Self:
        """With the action code of the codes the core allows."""
        return replace(self, press_code=max(info["allowed"] or [1]))


@dataclass(frozen=True, kw_only=True)
class VictronTextEntityDescription(VictronEntityDescription, TextEntityDescription):
    """A writable text register shown as a text entity."""

    def bound_to(self, info: WriteInfo) -> Self:
        """With the most characters the register holds."""
        return replace(self, native_max=int(info["max"]))


type DescriptionKey = tuple[str, str]
"""(service type, register key)."""


class _Common(TypedDict):
    """The fields every description of a register shares."""

    key: str
    translation_key: str
    entity_category: EntityCategory | None
    entity_registry_enabled_default: bool


def _common(service: str, register: Register, category: EntityCategory | None) -> _Common:
    key = translation_key(service, register["key"])
    return {
        "key": key,
        "translation_key": key,
        "entity_category": category,
        "entity_registry_enabled_default": register["ha"]["enabled_by_default"],
    }


def _category(ha: HaMetadata) -> EntityCategory | None:
    # A read-only entity cannot be in the config category: settings show as diagnostic until writes come.
    return None if ha["entity_category"] is None else EntityCategory.DIAGNOSTIC


def _sensor(service: str, register: Register) -> VictronSensorEntityDescription:
    ha, common = register["ha"], _common(service, register, _category(register["ha"]))
    states = ha["states"]
    if states:
        return VictronSensorEntityDescription(
            **common,
            device_class=SensorDeviceClass.ENUM,
            options=list(dict.fromkeys(states.values())),
            states=states,
        )
    return VictronSensorEntityDescription(
        **common,
        device_class=SensorDeviceClass(ha["device_class"]) if ha["device_class"] else None,
        state_class=SensorStateClass(ha["state_class"]) if ha["state_class"] else None,
        native_unit_of_measurement=ha["unit"],
        suggested_display_precision=ha["suggested_precision"],
        suggested_unit_of_measurement=ha["suggested_unit"],
    )


def _binary_sensor(service: str, register: Register) -> VictronBinarySensorEntityDescription:
    ha = register["ha"]
    return VictronBinarySensorEntityDescription(
        **_common(service, register, _category(ha)),
        device_class=BinarySensorDeviceClass(ha["device_class"]) if ha["device_class"] else None,
    )


def _control(service: str, register: Register) -> VictronEntityDescription:
    """The control of a writable register, on its ledger platform; category config."""
    ha, common = register["ha"], _common(service, register, EntityCategory.CONFIG)
    match ha["platform"]:
        case "select":
            return VictronSelectEntityDescription(**common, states=ha["states"] or {})
        case "switch":
            return VictronSwitchEntityDescription(**common)
        case "button":
            return VictronButtonEntityDescription(**common)
        case "text":
            return VictronTextEntityDescription(**common)
        case _:
            device_class = ha["device_class"]
            return VictronNumberEntityDescription(
                **common,
                device_class=NumberDeviceClass(device_class) if device_class else None,
                native_unit_of_measurement=ha["unit"],
            )


WRITABLE_PLATFORMS = ("number", "select", "switch", "button", "text")
"""Ledger platforms of writable registers (with writes on, each is its own entity platform)."""


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


@cache
def writable_descriptions() -> dict[DescriptionKey, VictronEntityDescription]:
    """Every writable register's control (number, select, switch, button, text), not yet bound."""
    return {
        (service, register["key"]): _control(service, register)
        for service, data in ledger().items()
        for register in data["registers"]
        if register["writable"]
        and register["ha"]["write"] is not None
        and register["ha"]["platform"] in WRITABLE_PLATFORMS
    }
