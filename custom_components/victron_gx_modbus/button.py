"""Buttons: writable action registers (reset, restore, heartbeat) with writes on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.button import ButtonEntity
from homeassistant.const import Platform

from .control import VictronGxControl
from .platform_setup import async_add_register_entities

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .descriptions import VictronButtonEntityDescription
    from .hub import VictronGxConfigEntry

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: VictronGxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a button for every served writable button register."""
    await async_add_register_entities(entry, async_add_entities, Platform.BUTTON, VictronGxButton)


class VictronGxButton(VictronGxControl, ButtonEntity):
    """An action register: pressing writes its description's action code."""

    entity_description: VictronButtonEntityDescription

    async def async_press(self) -> None:
        """Write the action code."""
        await self.async_write(self.entity_description.press_code)
