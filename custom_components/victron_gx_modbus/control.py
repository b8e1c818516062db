"""Base of the controls (number, select, switch, button, text): a writable register with writes on.

Bounds and allowed codes come from the core (`Client.write_info`); a write
goes through `Client.write`, and the entity shows the value read back until a
poll reads the register again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import callback

from victron_gx_modbus import VictronError, WriteRefused

from .entity import VictronGxEntity
from .writes import raise_write_error

if TYPE_CHECKING:
    from victron_gx_modbus.client import RegisterValue, WriteInfo

    from .coordinator import VictronGxCoordinator
    from .registers import ServedRegister


NO_RANGE: WriteInfo = {"min": 0.0, "max": 0.0, "step": 1.0, "allowed": [], "text": False, "reason": ""}


class VictronGxControl(VictronGxEntity):
    """A writable register; unavailable when the core gives it no range."""

    def __init__(self, coordinator: VictronGxCoordinator, register: ServedRegister, serial: str) -> None:
        """Ask the core what the register accepts under the entry's limits."""
        super().__init__(coordinator, register, serial)
        self._unit, self._service, self._key = register.unit, register.service, register.key
        try:
            self._info: WriteInfo | None = coordinator.client.write_info(
                register.unit, register.service, register.key
            )
        except WriteRefused:
            self._info = None
        self._read_back: RegisterValue = None
        self._has_read_back = False

    @property
    def info(self) -> WriteInfo:
        """What the register accepts; nothing at all when the core gives it no range."""
        return self._info or NO_RANGE

    @property
    def on_code(self) -> int:
        """The code that means on, or the action of a button: the highest one allowed (1 by default)."""
        return max(self.info["allowed"] or [1])

    @property
    def off_code(self) -> int:
        """The code that means off: the lowest one allowed (0 by default)."""
        return min(self.info["allowed"] or [0])

    @property
    def available(self) -> bool:
        """Unavailable also when the core gives the register no range."""
        return self._info is not None and super().available

    @property
    def current(self) -> RegisterValue:
        """The value read back after the last write, else the polled one."""
        return self._read_back if self._has_read_back else self.raw_value

    async def async_write(self, value: float | str) -> None:
        """Write through the core and show what the GX reads back; failures become translated errors."""
        try:
            read_back = await self.coordinator.client.write(self._unit, self._service, self._key, value)
        except VictronError as err:
            raise_write_error(err, self.entity_id, value)
        self._read_back, self._has_read_back = read_back, True
        self.async_write_ha_state()

    @callback
    def _handle_coordinator_update(self) -> None:
        """The register changed, or the GX was lost or came back: the polled value replaces the read-back."""
        self._has_read_back = False
        super()._handle_coordinator_update()
