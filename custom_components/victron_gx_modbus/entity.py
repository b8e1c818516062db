"""Base entity: one register of one device behind the GX."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN, device_identifier, entity_unique_id
from .coordinator import VictronGxCoordinator

if TYPE_CHECKING:
    from victron_gx_modbus.client import RegisterValue

    from .registers import ServedRegister


class VictronGxEntity(CoordinatorEntity[VictronGxCoordinator]):
    """A register's entity; it writes its state only when its value or availability changed."""

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
        self._written_available: bool | None = None

    @property
    def available(self) -> bool:
        """Unavailable when the GX is lost or this register could not be read."""
        return super().available and self._register_id not in self.coordinator.data.unavailable

    @property
    def raw_value(self) -> RegisterValue:
        """The register's decoded value from the last poll (None: not available at the GX)."""
        return self.coordinator.data.values.get(self._register_id)

    async def async_added_to_hass(self) -> None:
        """Remember the availability of the state written when the entity is added."""
        await super().async_added_to_hass()
        self._written_available = self.available

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when the value or the availability changed."""
        available = self.available
        if available != self._written_available or self._register_id in self.coordinator.data.changed:
            self._written_available = available
            self.async_write_ha_state()
