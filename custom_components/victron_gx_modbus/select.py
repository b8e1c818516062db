"""Selects: writable code registers (modes, on/off choices) with writes on.

A GX may hold a code that the register accepts only from elsewhere (the
ledger knows it, the core's write range leaves it out, as ESS mode 0): the
select then offers it too, as the current option, and refuses to set it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.select import SelectEntity
from homeassistant.const import Platform
from homeassistant.exceptions import ServiceValidationError

from .const import DOMAIN
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
    def options(self) -> list[str]:
        """The options the core allows, and the current one when it is not among them."""
        options, current = list(self.entity_description.codes), self.current_option
        return [*options, current] if options and current is not None and current not in options else options

    @property
    def current_option(self) -> str | None:
        """The option of the current code (None for a code the ledger lacks)."""
        return self.entity_description.option_of(self.current)

    async def async_select_option(self, option: str) -> None:
        """Write the option's code; the current option that cannot be set is refused."""
        codes = self.entity_description.codes
        if option not in codes:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="option_read_only",
                translation_placeholders={
                    "entity": self.entity_id,
                    "option": option,
                    "allowed": ", ".join(codes),
                },
            )
        await self.async_write(codes[option])
