"""Switches: writable on/off registers (relays, functions) with writes on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import Platform

from .control import VictronGxControl
from .platform_setup import async_add_register_entities

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .descriptions import VictronSwitchEntityDescription
    from .hub import VictronGxConfigEntry

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: VictronGxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a switch for every served writable switch register."""
    await async_add_register_entities(entry, async_add_entities, Platform.SWITCH, VictronGxSwitch)


class VictronGxSwitch(VictronGxControl, SwitchEntity):
    """An on/off register: on and off are its description's codes."""

    entity_description: VictronSwitchEntityDescription

    @property
    def is_on(self) -> bool | None:
        """Whether the register holds its on code."""
        value = self.current
        return None if value is None else value == self.entity_description.on_code

    async def async_turn_on(self, **kwargs: Any) -> None:  # noqa: ARG002, ANN401 - HA's signature
        """Write the on code."""
        await self.async_write(self.entity_description.on_code)

    async def async_turn_off(self, **kwargs: Any) -> None:  # noqa: ARG002, ANN401 - HA's signature
        """Write the off code."""
        await self.async_write(self.entity_description.off_code)
