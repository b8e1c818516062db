"""One coordinator per GX: polls the core and hands snapshots to the entities."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from victron_gx_modbus import GXConnectionError

from .batches import NOTIFY_BATCH
from .const import CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL, DOMAIN, LOGGER

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant

    from victron_gx_modbus import Client, Snapshot
    from victron_gx_modbus.client import RegisterValue


@dataclass(frozen=True, slots=True)
class PollData:
    """One poll, indexed for the entities (register id -> value; sets of ids)."""

    values: dict[str, RegisterValue]
    unavailable: frozenset[str]
    changed: frozenset[str]

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> PollData:
        """Index a snapshot of the core."""
        return cls(snapshot["values"], frozenset(snapshot["unavailable"]), frozenset(snapshot["changed"]))


class VictronGxCoordinator(DataUpdateCoordinator[PollData]):
    """Polls one GX; an unreachable GX fails the update, so every entity goes unavailable.

    Home Assistant's coordinator logs the failure once and the recovery once.
    This is the one place where polls are filtered: a listener whose context
    is a register id hears of a poll only when that register's value or
    availability changed, or when the GX was lost or came back (then every
    listener does); a listener without context hears of every update. The
    entities write their state whenever they are told.
    """

    config_entry: ConfigEntry[Any]

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any], client: Client) -> None:
        """Poll `client` at the entry's interval."""
        seconds = float(entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL))
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"Victron GX {entry.unique_id}",
            update_interval=timedelta(seconds=seconds),
        )
        self.client = client
        self._listeners_by_register: dict[str | None, list[CALLBACK_TYPE]] = {}
        self._success_told_to_all: bool | None = None
        """`last_update_success` when every listener was last told (None: never)."""

    @callback
    def async_add_listener(self, update_callback: CALLBACK_TYPE, context: Any = None) -> Callable[[], None]:  # noqa: ANN401 - HA's signature
        """Listen for updates; `context` is the register id the listener shows, or None for every update."""
        remove = super().async_add_listener(update_callback, context)
        register_id: str | None = context
        self._listeners_by_register.setdefault(register_id, []).append(update_callback)

        @callback
        def remove_listener() -> None:
            remove()
            callbacks = self._listeners_by_register[register_id]
            callbacks.remove(update_callback)
            if not callbacks:
                del self._listeners_by_register[register_id]

        return remove_listener

    @callback
    def async_update_listeners(self) -> None:
        """Tell the listeners of the registers that changed; everyone when the GX was lost or came back.

        Everyone (1,500 entities on big sites) is told in batches, a turn of
        the event loop apart; a listener gone meanwhile is skipped.
        """
        by_register = self._listeners_by_register
        if self.last_update_success and self._success_told_to_all and self.data is not None:
            for register_id in (None, *self.data.changed):
                for update_callback in tuple(by_register.get(register_id, ())):
                    update_callback()
            return
        self._success_told_to_all = self.last_update_success
        everyone = [
            (register_id, listener)
            for register_id, listeners in by_register.items()
            for listener in listeners
        ]
        self.config_entry.async_create_background_task(
            self.hass,
            self._async_tell(everyone),
            f"{DOMAIN} tell every entity of {self.name}",
            eager_start=True,
        )

    async def _async_tell(self, listeners: list[tuple[str | None, CALLBACK_TYPE]]) -> None:
        for start in range(0, len(listeners), NOTIFY_BATCH):
            if start:
                await asyncio.sleep(0)
            for register_id, update_callback in listeners[start : start + NOTIFY_BATCH]:
                if update_callback in self._listeners_by_register.get(register_id, ()):
                    update_callback()

    async def _async_update_data(self) -> PollData:
        """Poll every due register; the core never raises for an unreachable GX.

        A poll that the entry's unload ended (the client was closed under it)
        ends as cancelled, which the coordinator does not log as a failure.
        """
        try:
            snapshot = await self.client.poll()
        except GXConnectionError:
            if self.client.closed:
                raise asyncio.CancelledError from None
            raise
        if snapshot["connection_lost"]:
            address = f"{self.config_entry.data[CONF_HOST]}:{self.config_entry.data[CONF_PORT]}"
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="connection_lost",
                translation_placeholders={"address": address},
            )
        return PollData.from_snapshot(snapshot)
