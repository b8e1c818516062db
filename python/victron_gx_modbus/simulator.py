"""The GX simulator: a Modbus TCP server that answers like a real GX device."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal, Self

from ._bridge import run
from ._core import SimulatorCore, SimulatorError, bundled_scenarios, site_history, start_simulator
from ._results import (
    HistorySeries,
    SimulatedDevice,
    SimulatedIdentity,
    SimulatorStats,
    SiteHistory,
    UnitStats,
    WriteLogEntry,
)

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "HistorySeries",
    "Malformation",
    "SimulatedDevice",
    "SimulatedIdentity",
    "Simulator",
    "SimulatorStats",
    "SiteHistory",
    "UnitStats",
    "WriteLogEntry",
]

type Malformation = Literal["bad_length", "wrong_transaction", "wrong_unit", "bad_protocol"]


class Simulator:
    """A simulated GX device on a TCP port, as an async context manager.

    >>> async with Simulator("single-phase-ess") as sim:
    ...     print(sim.host, sim.port)
    """

    def __init__(
        self,
        scenario: str = "single-phase-ess",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        service_time_ms: float = 0.2,
        max_connections: int | None = None,
        seed: int = 1,
        mqtt_port: int | None = None,
        mqtt_password: str | None = None,
        mqtt_tls_port: int | None = None,
    ) -> None:
        """Describe a simulator; nothing listens until `start()` or `async with`.

        With `mqtt_port` (0: any free port) it also serves the GX's MQTT topics
        for discovery on that port of `host`, asking for `mqtt_password` if given;
        with `mqtt_tls_port` (0: any free port) it serves them over TLS too (or
        only, without `mqtt_port`), showing a self-signed certificate made at
        start, as a GX does (`mqtt_fingerprint`, `rotate_mqtt_certificate`).
        """
        self._args = (
            scenario,
            host,
            port,
            latency_ms,
            jitter_ms,
            service_time_ms,
            max_connections,
            seed,
            mqtt_port,
            mqtt_password,
            mqtt_tls_port,
        )
        self._core: SimulatorCore | None = None

    @staticmethod
    def scenarios() -> list[str]:
        """Names of the bundled scenarios."""
        return bundled_scenarios()

    @staticmethod
    def history(
        scenario: str,
        seconds: float,
        *,
        step_seconds: float = 60.0,
        bucket_seconds: float = 3600.0,
        seed: int = 1,
    ) -> SiteHistory:
        """The scenario's site over its last `seconds`, run fast-forward (milliseconds for a day).

        Sampled every `step_seconds` and summed up per bucket of `bucket_seconds`
        (the first bucket starts `seconds` ago; the last may be shorter). It ends
        where a simulator of the scenario starts: at its start hour, with its
        energy counters and SoC at their start values. Every register whose
        value the scenario models as changing has a series.
        """
        history: SiteHistory = json.loads(site_history(scenario, seconds, step_seconds, bucket_seconds, seed))
        return history

    @property
    def core(self) -> SimulatorCore:
        """The running simulator (raises when it is not started)."""
        if self._core is None:
            msg = "the simulator is not running"
            raise SimulatorError(msg)
        return self._core

    @property
    def host(self) -> str:
        """The address it listens on."""
        return self.core.host

    @property
    def port(self) -> int:
        """The port it listens on (the bound one when 0 was asked for)."""
        return self.core.port

    @property
    def mqtt_port(self) -> int | None:
        """The port of its plaintext MQTT face (the bound one when 0 was asked for); None without one."""
        return self.core.mqtt_port

    @property
    def mqtt_tls_port(self) -> int | None:
        """The port of its MQTT face over TLS (the bound one when 0 was asked for); None without one."""
        return self.core.mqtt_tls_port

    @property
    def mqtt_fingerprint(self) -> str | None:
        """The SHA-256 fingerprint of its MQTT over TLS certificate (`AB:CD:...`); None without TLS."""
        return self.core.mqtt_fingerprint

    def rotate_mqtt_certificate(self) -> str:
        """Show a new MQTT over TLS certificate from now on, as a reset GX would; returns its fingerprint."""
        return self.core.rotate_mqtt_certificate()

    async def start(self) -> None:
        """Start listening."""
        if self._core is None:
            args = self._args
            self._core = await run(lambda bridge: start_simulator(bridge, *args))

    async def stop(self) -> None:
        """Stop and release the port (idempotent)."""
        core, self._core = self._core, None
        if core is not None:
            await run(core.stop)

    async def __aenter__(self) -> Self:
        """Start on entry."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop on exit."""
        await self.stop()

    def stats(self) -> SimulatorStats:
        """Request statistics and the most recent writes."""
        stats: SimulatorStats = json.loads(self.core.stats_json())
        return stats

    def writes(self) -> list[WriteLogEntry]:
        """The writes the simulated GX accepted, oldest first (the most recent 1000).

        Each names the register and carries the raw words that arrived.
        """
        return self.stats()["writes"]

    def reset_stats(self) -> None:
        """Clear the statistics (and the write log)."""
        self.core.reset_stats()

    def stall(self, count: int = 1) -> None:
        """Leave the next `count` requests unanswered (a hung GX)."""
        self.core.stall(count)

    def drop_next_replies(self, count: int = 1) -> None:
        """Cut the next `count` replies in half and close their connections."""
        self.core.drop_next_replies(count)

    def malform_next_replies(self, kind: Malformation, count: int = 1) -> None:
        """Send the next `count` replies malformed."""
        self.core.malform_next_replies(kind, count)

    def drop_every(self, n: int) -> None:
        """From now on cut every `n`-th reply and close its connection (a flaky GX; 0: stop)."""
        self.core.drop_every(n)

    def clear_faults(self) -> None:
        """Drop pending faults."""
        self.core.clear_faults()

    def reboot(self, seconds: float) -> None:
        """Close every connection and refuse new ones for `seconds` (a GX reboot)."""
        self.core.reboot(seconds)

    async def set_present(self, device: str, *, present: bool) -> None:
        """Unplug (present=False) or plug back a device by scenario id."""
        core = self.core
        await run(lambda bridge: core.set_present(bridge, device, present))

    async def hold(self, device: str, key: str, value: float) -> None:
        """Hold a device's register (scenario id, register key) at `value` from now on.

        As if the site had changed (a battery run down, the grid gone): the
        register's model stops, and the values derived from it follow.
        """
        core = self.core
        await run(lambda bridge: core.hold(bridge, device, key, value))

    async def devices(self) -> list[SimulatedDevice]:
        """The scenario's devices and whether each is connected."""
        devices: list[SimulatedDevice] = json.loads(await run(self.core.devices_json))
        return devices
