"""Binary sensors: every register the ledger shows as on/off (switches read-only for now)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.binary_sensor import BinarySensorEntity

from .descriptions import VictronBinarySensorEntityDescription
from .devices import gx_serial
from .entity import VictronGxEntity

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import VictronGxConfigEntry, VictronGxCoordinator
    from .registers import ServedRegister

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: VictronGxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a binary sensor for every served register that the ledger shows as one."""
    runtime = entry.runtime_data
    serial = gx_serial(runtime.scan)
    async_add_entities(
        VictronGxBinarySensor(runtime.coordinator, register, serial)
        for register in runtime.served
        if isinstance(register.description, VictronBinarySensorEntityDescription)
    )


class VictronGxBinarySensor(VictronGxEntity, BinarySensorEntity):
    """One register as a binary sensor: on when its value is not zero."""

    entity_description: VictronBinarySensorEntityDescription

    def __init__(self, coordinator: VictronGxCoordinator, register: ServedRegister, gx_serial: str) -> None:
        """Bind the binary sensor to its register."""
        super().__init__(coordinator, register, gx_serial)

    @property
    def is_on(self) -> bool | None:
        """On for a non-zero value; None when the GX reports it as not available."""
        value = self.raw_value
        return None if value is None else bool(value)
