"""Adding and removing many entities without holding Home Assistant's event loop.

Home Assistant adds the entities of one `async_add_entities` call, removes a
platform's entities on unload, and tells a coordinator's listeners of an
update, in one go on the event loop: on the largest sites (1,500 entities)
that held the loop for most of a second. Here they go in batches, with a turn
of the loop between them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from homeassistant.helpers.entity_platform import async_get_platforms

from .const import DOMAIN

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity import Entity
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

BATCH = 10
"""Entities added or removed per turn of the event loop (a few milliseconds of work)."""
NOTIFY_BATCH = 100
"""Entities told of a poll per turn of the event loop (a state write is far cheaper than an add)."""


async def async_add_in_batches[T](
    async_add_entities: AddConfigEntryEntitiesCallback,
    items: Sequence[T],
    make_entity: Callable[[T], Entity],
) -> None:
    """Add an entity per item, `BATCH` at a time, yielding to the loop before each batch.

    Yielding first matters too: Home Assistant starts every platform's set-up
    eagerly in one callback, which would otherwise hold a batch of each.
    """
    for start in range(0, len(items), BATCH):
        await asyncio.sleep(0)
        async_add_entities([make_entity(item) for item in items[start : start + BATCH]])


async def async_remove_entities(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    """Remove the entry's entities from the state machine in batches (their registry entries stay).

    Called before Home Assistant unloads the platforms, which then find
    nothing left to remove.
    """
    for platform in async_get_platforms(hass, DOMAIN):
        if platform.config_entry is None or platform.config_entry.entry_id != entry.entry_id:
            continue
        for count, entity in enumerate(list(platform.entities.values()), 1):
            await entity.async_remove()
            if count % BATCH == 0:
                await asyncio.sleep(0)
