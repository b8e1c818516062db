"""Sensors: every register the ledger shows as a sensor (writable ones read-only for now)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.sensor import SensorEntity
from homeassistant.const import Platform

from .const import LOGGER
from .entity import VictronGxEntity
from .platform_setup import async_add_register_entities

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import VictronGxCoordinator
    from .descriptions import VictronSensorEntityDescription
    from .hub import VictronGxConfigEntry
    from .registers import ServedRegister

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: VictronGxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a sensor for every served register that the ledger shows as one."""
    await async_add_register_entities(entry, async_add_entities, Platform.SENSOR, VictronGxSensor)


class VictronGxSensor(VictronGxEntity, SensorEntity):
    """One register as a sensor."""

    entity_description: VictronSensorEntityDescription

    def __init__(self, coordinator: VictronGxCoordinator, register: ServedRegister, gx_serial: str) -> None:
        """Bind the sensor to its register."""
        super().__init__(coordinator, register, gx_serial)
        self._unknown_codes_logged = False

    @property
    def native_value(self) -> str | int | float | None:
        """The value; an enum code the ledger does not know is unknown (logged once)."""
        value = self.raw_value
        if value is None:
            return None
        states = self.entity_description.states
        if states is not None:
            return self._state_of(value, states)
        if isinstance(value, str):
            return value or None
        if isinstance(value, float):
            return value + 0.0  # -0.0 shows as 0
        return value

    def _state_of(self, code: float | str, states: dict[str, str]) -> str | None:
        """The state key of a code; None for a code the ledger lacks.

        The GX reads a missing D-Bus value as 0, so a 0 that the table lacks
        is "not available", not an unknown code, and is not logged.
        """
        state = states.get(str(code))
        if state is None and code != 0 and not self._unknown_codes_logged:
            self._unknown_codes_logged = True
            LOGGER.warning(
                "%s: the GX reported code %s, which the register ledger does not know; "
                "showing it as unknown (reported once per entity)",
                self.entity_id,
                code,
            )
        return state
