"""Selects: writable code registers (modes, on/off choices) with writes on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.select import SelectEntity
from homeassistant.const import Platform

from .control import VictronGxControl
from .platform_setup import async_add_register_entities

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .descriptions import VictronSelectEntityDescription
    from .hub import VictronGxConfigEntry

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: VictronGxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a select for every served writable select register."""
    await async_add_register_entities(entry, async_add_entities, Platform.SELECT, VictronGxSelect)


class VictronGxSelect(VictronGxControl, SelectEntity):
    """A code register as a select: the options are the codes the core allows."""

    entity_description: VictronSelectEntityDescription

    @property
    def _codes(self) -> dict[str, int]:
        """Option -> the first allowed code that shows as it."""
        states = self.entity_description.states
        codes: dict[str, int] = {}
        for code in self.info["allowed"] or ():
            state = states.get(str(code))
            if state is not None:
                codes.setdefault(state, code)
        return codes

    @property
    def options(self) -> list[str]:
        """The options the core allows."""
        return list(self._codes) if self._info is not None else []

    @property
    def current_option(self) -> str | None:
        """The option of the current code (None for a code the ledger lacks)."""
        value = self.current
        return None if value is None else self.entity_description.states.get(str(value))

    async def async_select_option(self, option: str) -> None:
        """Write the option's code."""
        await self.async_write(self._codes[option])
