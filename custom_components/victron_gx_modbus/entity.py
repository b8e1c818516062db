"""Base entity: one register of one device behind the GX."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .batches import async_add_in_batches
from .const import DOMAIN, device_identifier, entity_unique_id
from .coordinator import VictronGxCoordinator
from .devices import gx_serial

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.helpers.entity import EntityDescription
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from victron_gx_modbus.client import RegisterValue

    from .coordinator import VictronGxConfigEntry
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


async def async_add_register_entities[T: VictronGxEntity](
    entry: VictronGxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    description_type: type[EntityDescription],
    entity_type: Callable[[VictronGxCoordinator, ServedRegister, str], T],
) -> None:
    """Add one platform's entities: the entry's served registers with that description type.

    They are added in batches that yield to the event loop between them.
    Registers of devices found later (`new_registers_signal`) are added the
    same way, by a background task of the entry.
    """
    runtime = entry.runtime_data
    serial = gx_serial(runtime.scan)
    hass = runtime.coordinator.hass

    async def add(registers: list[ServedRegister]) -> None:
        shown = [register for register in registers if isinstance(register.description, description_type)]
        await async_add_in_batches(
            async_add_entities, shown, lambda register: entity_type(runtime.coordinator, register, serial)
        )

    @callback
    def add_found(registers: list[ServedRegister]) -> None:
        entry.async_create_background_task(hass, add(registers), f"{DOMAIN} add entities of found devices")

    await add(runtime.served)
    entry.async_on_unload(async_dispatcher_connect(hass, new_registers_signal(entry), add_found))


def new_registers_signal(entry: VictronGxConfigEntry) -> str:
    """The dispatcher signal that hands the platforms the registers of devices found after setup."""
    return f"{DOMAIN}_{entry.entry_id}_new_registers"
