"""Binary sensors: every register the ledger shows as on/off (switches read-only for now)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.const import Platform

from .entity import VictronGxEntity
from .platform_setup import async_add_register_entities

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .descriptions import VictronBinarySensorEntityDescription
    from .hub import VictronGxConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: VictronGxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a binary sensor for every served register that the ledger shows as one."""
    await async_add_register_entities(
        entry, async_add_entities, Platform.BINARY_SENSOR, VictronGxBinarySensor
    )


class VictronGxBinarySensor(VictronGxEntity, BinarySensorEntity):
    """One register as a binary sensor: on when its value is not zero."""

    entity_description: VictronBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """On for a non-zero value; None when the GX reports it as not available."""
        value = self.raw_value
        return None if value is None else bool(value)
