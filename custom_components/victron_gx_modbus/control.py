"""Base of the controls (number, select, switch, button, text): a writable register with writes on.

What a control accepts comes from the core (`Client.write_info` under the
entry's limits) and is bound into its description; a write goes through
`Client.write`, and the entity shows the value read back until a poll
reads the register again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import callback

from victron_gx_modbus import WriteRefused

from .entity import VictronGxEntity
from .write_errors import translate_write_errors

if TYPE_CHECKING:
    from victron_gx_modbus.client import RegisterValue, WriteInfo

    from .coordinator import VictronGxCoordinator
    from .registers import ServedRegister


NO_RANGE: WriteInfo = {"min": 0.0, "max": 0.0, "step": 1.0, "allowed": [], "text": False, "reason": ""}
"""What a control the core gives no range is bound to (it is unavailable)."""


class VictronGxControl(VictronGxEntity):
    """A writable register; unavailable when the core gives it no range."""

    def __init__(self, coordinator: VictronGxCoordinator, register: ServedRegister, serial: str) -> None:
        """Bind the description to what the core lets the register take under the entry's limits."""
        super().__init__(coordinator, register, serial)
        self._unit, self._service, self._key = register.unit, register.service, register.key
        try:
            info: WriteInfo | None = coordinator.client.write_info(
                register.unit, register.service, register.key
            )
        except WriteRefused:
            info = None
        self._has_range = info is not None
        self.entity_description = register.description.bound_to(info or NO_RANGE)
        self._read_back: RegisterValue = None
        self._has_read_back = False

    @property
    def available(self) -> bool:
        """Unavailable also when the core gives the register no range."""
        return self._has_range and super().available

    @property
    def current(self) -> RegisterValue:
        """The value read back after the last write, else the polled one."""
        return self._read_back if self._has_read_back else self.raw_value

    @translate_write_errors
    async def async_write(self, value: float | str) -> None:
        """Write through the core and show what the GX reads back."""
        read_back = await self.coordinator.client.write(self._unit, self._service, self._key, value)
        self._read_back, self._has_read_back = read_back, True
        self.async_write_ha_state()

    @callback
    def _handle_coordinator_update(self) -> None:
        """The register changed, or the GX was lost or came back: the polled value replaces the read-back."""
        self._has_read_back = False
        super()._handle_coordinator_update()
