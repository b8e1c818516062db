"""Where an entry's background sweep stands (the options flow, diagnostics and the sweep share it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .const import CONF_SWEEP, CONF_UNIT_IDS
from .mqtt_settings import mqtt_in_use


@dataclass(slots=True)
class SweepStatus:
    """Where an entry's sweep stands (shown by the options flow and diagnostics)."""

    state: Literal["not_started", "running", "done", "failed", "off"] = "not_started"
    done: int = 0
    total: int = 0
    found: list[str] = field(default_factory=list)
    """Keys (`<unit>/<service>`) of the devices the sweep found."""
    requests: int = 0
    failed_requests: int = 0

    @classmethod
    def stored(cls, data: dict[str, Any]) -> SweepStatus:
        """The status an entry's data records: done (with its outcome), not started, or off (units, MQTT)."""
        if data.get(CONF_UNIT_IDS) or mqtt_in_use(data):
            return cls(state="off")
        outcome = data.get(CONF_SWEEP)
        if not isinstance(outcome, dict):
            return cls()
        return cls(
            state="done",
            found=list(outcome.get("found", [])),
            requests=int(outcome.get("requests", 0)),
            failed_requests=int(outcome.get("failed_requests", 0)),
        )

    @property
    def percent(self) -> int:
        """Progress in percent (100 once done)."""
        if self.state == "done":
            return 100
        return self.done * 100 // self.total if self.total else 0

    def as_dict(self) -> dict[str, Any]:
        """The status as plain data (diagnostics)."""
        return {
            "state": self.state,
            "percent": self.percent,
            "found": self.found,
            "requests": self.requests,
            "failed_requests": self.failed_requests,
        }
