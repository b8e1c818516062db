"""Texts: writable names (custom name, system name) with writes on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.text import TextEntity
from homeassistant.const import Platform

from .control import VictronGxControl
from .platform_setup import async_add_register_entities

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .descriptions import VictronTextEntityDescription
    from .hub import VictronGxConfigEntry

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: VictronGxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a text entity for every served writable text register."""
    await async_add_register_entities(entry, async_add_entities, Platform.TEXT, VictronGxText)


class VictronGxText(VictronGxControl, TextEntity):
    """A text register; its most characters are bound into its description."""

    entity_description: VictronTextEntityDescription

    @property
    def native_value(self) -> str | None:
        """The text."""
        value = self.current
        return value if isinstance(value, str) else None

    async def async_set_value(self, value: str) -> None:
        """Write the text."""
        await self.async_write(value)
