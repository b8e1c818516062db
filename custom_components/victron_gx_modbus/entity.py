"""Base entity: one register of one device behind the GX."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN, device_identifier, entity_unique_id
from .coordinator import VictronGxCoordinator

if TYPE_CHECKING:
    from victron_gx_modbus.client import RegisterValue

    from .registers import ServedRegister


class VictronGxEntity(CoordinatorEntity[VictronGxCoordinator]):
    """A register's entity.

    It listens with its register id as context, so the coordinator calls it
    (and it writes its state) only when a poll changed the register's value
    or availability, or when the GX was lost or came back.
    """

    _attr_has_entity_name = True

    def __init__(self, coordinator: VictronGxCoordinator, register: ServedRegister, gx_serial: str) -> None:
        """Bind the entity to a register a found device serves; it hears of polls that changed it."""
        super().__init__(coordinator, context=register.register_id)
        self.entity_description = register.description
        self._register_id = register.register_id
        self._attr_unique_id = entity_unique_id(gx_serial, register.unit, register.service, register.key)
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, device_identifier(gx_serial, register.unit, register.service))}
        )
        self._attr_entity_registry_enabled_default = register.enabled_default

    @property
    def available(self) -> bool:
        """Unavailable when the GX is lost or this register could not be read."""
        return super().available and self._register_id not in self.coordinator.data.unavailable

    @property
    def raw_value(self) -> RegisterValue:
        """The register's decoded value from the last poll (None: not available at the GX)."""
        return self.coordinator.data.values.get(self._register_id)
