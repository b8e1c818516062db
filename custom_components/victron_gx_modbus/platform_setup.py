"""A platform's set-up: an entity per served register of its kind, now and for devices found later."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from .batches import async_add_in_batches
from .const import DOMAIN
from .devices import gx_serial
from .hub import new_registers_signal

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.const import Platform
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import VictronGxCoordinator
    from .entity import VictronGxEntity
    from .hub import VictronGxConfigEntry
    from .registers import ServedRegister


async def async_add_register_entities[T: VictronGxEntity](
    entry: VictronGxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    platform: Platform,
    entity_type: Callable[[VictronGxCoordinator, ServedRegister, str], T],
) -> None:
    """Add one platform's entities: an entity per served register that the platform shows.

    They are added in batches that yield to the event loop between them.
    Registers of devices found later (`new_registers_signal`) are added the
    same way, by a background task of the entry.
    """
    runtime = entry.runtime_data
    serial = gx_serial(runtime.scan)
    hass = runtime.coordinator.hass

    async def add(registers: list[ServedRegister]) -> None:
        shown = [register for register in registers if register.platform == platform]
        await async_add_in_batches(
            async_add_entities, shown, lambda register: entity_type(runtime.coordinator, register, serial)
        )

    @callback
    def add_found(registers: list[ServedRegister]) -> None:
        entry.async_create_background_task(hass, add(registers), f"{DOMAIN} add entities of found devices")

    await add(runtime.served)
    entry.async_on_unload(async_dispatcher_connect(hass, new_registers_signal(entry), add_found))
