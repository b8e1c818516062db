"""Numbers: writable setpoints and limits (writes on), bounded by the core."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.number import NumberEntity
from homeassistant.const import Platform

from .control import VictronGxControl
from .platform_setup import async_add_register_entities

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .descriptions import VictronNumberEntityDescription
    from .hub import VictronGxConfigEntry

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: VictronGxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a number for every served writable number register."""
    await async_add_register_entities(entry, async_add_entities, Platform.NUMBER, VictronGxNumber)


class VictronGxNumber(VictronGxControl, NumberEntity):
    """A writable register as a number; its bounds and step are bound into its description."""

    entity_description: VictronNumberEntityDescription

    @property
    def native_value(self) -> float | None:
        """The register's value."""
        value = self.current
        return None if value is None or isinstance(value, str) else value + 0

    async def async_set_native_value(self, value: float) -> None:
        """Write the value (refused outside the core's range)."""
        await self.async_write(value)
