"""The GX client: scan a GX, then poll it; every byte is handled in Rust."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Literal, Self, TypedDict

from ._bridge import run
from ._core import ClientCore
from ._results import (
    DumpedBlock,
    DumpedDevice,
    FoundDevice,
    GxIdentity,
    Latency,
    Metrics,
    PlannedRegister,
    PlanView,
    PollOutput,
    RegisterValue,
    ScanProgress,
    ScanResult,
    ScanStats,
    SweepResult,
    Tier,
    WriteInfo,
)
from .errors import MqttCertificateChanged

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable
    from types import TracebackType

    from ._core import Limits
    from .mqtt import MqttCheck, MqttOptions

__all__ = [
    "Client",
    "DumpedBlock",
    "DumpedDevice",
    "FoundDevice",
    "GxIdentity",
    "Latency",
    "Metrics",
    "PlanView",
    "PlannedRegister",
    "RegisterValue",
    "ScanMode",
    "ScanProgress",
    "ScanResult",
    "ScanStats",
    "Snapshot",
    "SweepResult",
    "Tier",
    "WriteInfo",
    "register_id",
]

type ScanMode = Literal["quick", "deep", "units"]


class Snapshot(TypedDict):
    """The result of one poll.

    `values` maps `"<unit>/<service>/<register key>"` to the decoded value
    (None: the GX reports it as not available); `unavailable` lists the keys
    that could not be read this time; `changed` the keys whose value or
    availability changed since the previous poll.
    """

    values: dict[str, RegisterValue]
    unavailable: list[str]
    changed: list[str]
    unavailable_devices: list[int]
    connection_lost: bool
    requests: int
    failed: int


def register_id(unit: int, service: str, key: str) -> str:
    """The snapshot key of a register."""
    return f"{unit}/{service}/{key}"


class Client:
    """A Modbus TCP client of one GX device; use as an async context manager.

    >>> async with Client("192.168.1.20") as gx:
    ...     result = await gx.scan()
    ...     snapshot = await gx.poll()
    """

    def __init__(
        self,
        host: str,
        port: int = 502,
        *,
        timeout: float = 3.0,
        connect_timeout: float = 5.0,
        max_in_flight: int = 8,
        max_rate: float = 500.0,
        slow_every: int = 6,
        limits: Limits | None = None,
    ) -> None:
        """Describe the connection; nothing connects until the first request.

        `max_in_flight` and `max_rate` (requests per second, 0 = unlimited)
        bound the load on the GX; slow registers (counters, settings) are read
        every `slow_every` polls. `limits` (the user's electrical set-up)
        enables writes within them; without it every write is refused.
        """
        self._core = ClientCore(
            host, port, timeout, connect_timeout, max_in_flight, max_rate, slow_every, limits
        )
        self._host = host
        self._registers: list[PlannedRegister] = []
        self._keys: list[str] = []
        # A new read plan and its keys are adopted together: a poll never
        # pairs one plan's values with another plan's keys.
        self._plan_lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        """Nothing to open: the first request connects."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close on exit."""
        await self.close()

    async def identify(self, *, firmware: bool = True) -> GxIdentity:
        """Read the GX's serial and firmware (unit 100) and nothing else: a connection test.

        Costs two reads that no GX firmware refuses (one without `firmware`,
        whose `firmware` is then None), so it leaves no error in the GX's
        log; `absent_exception` is None (only a scan learns it).
        Raises `GXConnectionError` (or its `GXTimeoutError`, `GXProtocolError`)
        when no GX answers, `ScanDataError` when unit 100 answers as no GX does
        (an exception reply, an empty serial).
        """
        identity: GxIdentity = await run(lambda bridge: self._core.identify(bridge, firmware))
        return identity

    async def scan(
        self,
        *,
        mode: ScanMode = "quick",
        unit_ids: list[int] | None = None,
        progress: Callable[[ScanProgress], object] | None = None,
        mqtt: MqttOptions | None = None,
    ) -> ScanResult:
        """Find the devices behind the GX and adopt the result for polling.

        Giving `unit_ids` probes exactly those units (mode "units"). With
        `mqtt`, the GX's own service list is read over its MQTT and exactly
        those units are scanned (mode "mqtt", no failed request); when that
        fails the quick scan runs at once and `result["discovery"]["fallback"]`
        says why (`mode` and `unit_ids` do not apply with `mqtt`); a GX that
        offers TLS with a certificate not trusted yet is such a failure (its
        fingerprint is `result["discovery"]["fingerprint"]`), but a certificate
        other than `mqtt.fingerprint` raises `MqttCertificateChanged` and scans
        nothing. `progress` is called on the running event loop after each step.
        """
        if unit_ids is not None:
            mode = "units"
        core = self._core
        mqtt_args = None if mqtt is None else mqtt.as_args(self._host)
        async with self._plan_lock:
            raw = await run(
                lambda bridge: core.scan(bridge, mode, unit_ids, progress is not None, mqtt_args), progress
            )
            await self._load_plan()
        result: ScanResult = json.loads(raw)
        return result

    async def scan_listed(
        self, check: MqttCheck, *, progress: Callable[[ScanProgress], object] | None = None
    ) -> ScanResult:
        """Scan exactly the services a successful `mqtt_check` returned, without reading MQTT again.

        The result is what `scan(mqtt=...)` gives when the list answers (mode
        "mqtt", no failed request), adopted for polling; the check's firmware
        stands in for a GX without firmware registers, and what its services
        published names the devices (product, firmware, serial, custom name). A check that failed
        or lists no connected service raises ValueError.
        """
        services = check.get("services")
        if "error" in check or not services:
            msg = f"the MQTT check gave no list to scan: {check.get('error', 'no connected service')}"
            raise ValueError(msg)
        listed = check.get("listed", len(services))
        firmware = check.get("firmware")
        published = json.dumps(check.get("published", []))
        core = self._core
        async with self._plan_lock:
            raw = await run(
                lambda bridge: core.scan_listed(
                    bridge, services, listed, firmware, progress is not None, published
                ),
                progress,
            )
            await self._load_plan()
        result: ScanResult = json.loads(raw)
        return result

    async def mqtt_check(self, mqtt: MqttOptions) -> MqttCheck:
        """Read the GX's service list over its MQTT and send no Modbus request.

        Tells whether a scan with `mqtt` would use the list (`active` services)
        or fall back, and why (`error`: e.g. `credentials` when the password
        is refused or missing, `unreachable` when MQTT on LAN is off,
        `untrusted` with the `fingerprint` to show when the GX offers TLS and
        `mqtt.fingerprint` is not given). Bounded by `mqtt.timeout`; a refused
        connection answers at once. A certificate other than `mqtt.fingerprint`
        raises `MqttCertificateChanged` (nothing was sent to it).
        """
        args = mqtt.as_args(self._host)
        core = self._core
        raw = await run(lambda bridge: core.mqtt_check(bridge, args))
        check: MqttCheck = json.loads(raw)
        if check.get("error") == "certificate_changed":
            raise MqttCertificateChanged(
                check.get("message", ""), check.get("fingerprint") or "", check.get("expected", "")
            )
        # JSON arrays as the pairs they are.
        if "services" in check:
            check["services"] = [(int(unit), str(service)) for unit, service in check["services"]]
        if "devices" in check:
            check["devices"] = [(int(unit), str(service)) for unit, service in check["devices"]]
        return check

    async def sweep(
        self,
        result: ScanResult,
        *,
        rate: float = 5.0,
        patience: float = 900.0,
        progress: Callable[[ScanProgress], object] | None = None,
    ) -> SweepResult:
        """Complete a scan in the background: every service type at units 0-63 and 204-247.

        Probes each pair `result` has not found, one request at a time, at
        most `rate` requests per second (validation included; `math.inf`:
        unpaced), and validates what it finds as a scan does. Polls on this
        client go on meanwhile (the connection is pipelined). When the GX
        stops answering (a reboot), the sweep waits for it, probes again
        what the outage cost and goes on; it fails when the GX has not
        answered for `patience` seconds (0-86400). The merged result is
        returned, not adopted: pass it to `use_scan`. Cancelling the call
        stops the sweep. `progress` gets the latest step at most once a
        second, and each change of phase (waiting for the GX, done) at once.
        """
        text = json.dumps(result)
        core = self._core
        wants_progress = progress is not None
        raw = await run(lambda bridge: core.sweep(bridge, text, rate, patience, wants_progress), progress)
        swept: SweepResult = json.loads(raw)
        return swept

    async def unexplained(self) -> list[str]:
        """The service types whose power the last poll's system values claim beyond the known devices.

        DC PV power beyond the solar chargers' yield: `solarcharger`;
        AC-coupled PV beyond the PV inverters: `pvinverter`; VE.Bus power
        without a VE.Bus device: `vebus`. The difference must exceed 10 % and
        25 W (values move between reads). Empty before the first poll and
        when the registers the evidence needs are not polled. No request.
        """
        claims: list[str] = await run(self._core.unexplained)
        return claims

    async def search(
        self, result: ScanResult, service: str, *, rate: float = 5.0, failed_budget: int = 40
    ) -> SweepResult:
        """Search for one device of `service` that `result` lacks (when `unexplained` names it).

        Probes the units next to the known devices of that type first, then
        its usual places, one request at a time at most `rate` requests per
        second, until a device is found or `failed_budget` requests were
        refused (each is an error line in the GX's log). Validates what it
        finds as a scan does; the merged result is returned, not adopted.
        A GX that stops answering fails the search (`GXConnectionError`).
        """
        text = json.dumps(result)
        raw = await run(lambda bridge: self._core.search(bridge, text, service, rate, failed_budget))
        found: SweepResult = json.loads(raw)
        return found

    async def use_scan(self, result: ScanResult, *, only: Collection[str] | None = None) -> None:
        """Adopt a stored scan result (no requests are sent).

        With `only`, just those registers (`register_id(unit, service, key)`)
        are polled, e.g. those of enabled entities; the read plan is the
        fewest requests that cover them.
        """
        text = json.dumps(result)
        wanted = None if only is None else set(only)
        async with self._plan_lock:
            await run(lambda bridge: self._core.use_scan(bridge, text, wanted))
            await self._load_plan()

    async def _load_plan(self) -> None:
        plan: PlanView = json.loads(await run(self._core.plan_json))
        self._registers = plan["registers"]
        self._keys = [register_id(r["unit"], r["service"], r["key"]) for r in self._registers]

    @property
    def registers(self) -> list[PlannedRegister]:
        """The registers polled, in snapshot order."""
        return self._registers

    async def poll(self) -> Snapshot:
        """Read every due register.

        Never raises for an unreachable GX: see `connection_lost` and
        `unavailable`; raises `GXConnectionError` once the client is closed.
        """
        async with self._plan_lock:
            output: PollOutput = await run(self._core.poll)
            keys = self._keys
        return {
            "values": dict(zip(keys, output["values"], strict=True)),
            "unavailable": [keys[i] for i in output["unavailable"]],
            "changed": [keys[i] for i in output["changed"]],
            "unavailable_devices": output["unavailable_devices"],
            "connection_lost": output["connection_lost"],
            "requests": output["requests"],
            "failed": output["failed"],
        }

    async def read_registers(self, unit: int, address: int, count: int = 1) -> list[int]:
        """Read raw registers (diagnostics); `DeviceException` on an exception reply."""
        words: list[int] = await run(lambda bridge: self._core.read_registers(bridge, unit, address, count))
        return words

    async def raw_dump(
        self,
        *,
        redact: Iterable[str] = (),
        devices: Iterable[tuple[int, str]] | None = None,
        within: float = 10.0,
    ) -> list[DumpedDevice]:
        """Read every register the adopted scan's devices serve, as raw words (diagnostics).

        The core reads its planner's blocks (every served register in the
        fewest reads the GX answers without an exception) concurrently, each
        as it is, within `within` seconds (the rest reported as not read). Only `devices` ((unit, service)
        pairs) when given. Words of the registers keyed in `redact` come back
        as None; a block the GX refused or that was not read in time has an
        `error` instead of `words`.
        """
        keys = None if devices is None else [f"{unit}/{service}" for unit, service in devices]
        raw: str = await run(lambda bridge: self._core.raw_dump(bridge, within, sorted(redact), keys))
        dumped: list[DumpedDevice] = json.loads(raw)
        return dumped

    @property
    def writes_enabled(self) -> bool:
        """Whether the client has limits, so that writes within them are allowed."""
        return self._core.writes_enabled

    def write_range(self, unit: int, service: str, key: str) -> tuple[float, float, float]:
        """(min, max, step) of a writable register under the limits, as the core derives it.

        Raises `WriteRefused` when writes are off, the register is read-only or
        unknown, or the limits leave it no value. For text: (0, most characters, 1).
        """
        return self._core.write_range(unit, service, key)

    def write_info(self, unit: int, service: str, key: str) -> WriteInfo:
        """`write_range` with the allowed codes and how the bound was derived."""
        info: WriteInfo = json.loads(self._core.write_range_json(unit, service, key))
        return info

    async def write(self, unit: int, service: str, key: str, value: float | str) -> RegisterValue:
        """Write a value within the limits and return what the GX reads back.

        A value outside the register's range raises `WriteRefused` and nothing
        is sent; an exception reply raises `DeviceException`; a different
        value read back raises `WriteNotConfirmed`. While a write to the same
        register is on the wire, only the newest waiting value is sent next
        (a dragged slider), and the values it replaced return its outcome.
        """
        core = self._core
        value_read: RegisterValue = await run(lambda bridge: core.write(bridge, unit, service, key, value))
        return value_read

    def metrics(self) -> Metrics:
        """Request counters and latency percentiles."""
        metrics: Metrics = json.loads(self._core.metrics_json())
        return metrics

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._core.closed

    async def close(self) -> None:
        """End this client's pending calls, wait for them and close the connection.

        The pending calls raise `GXConnectionError`, and so do later ones.
        Idempotent.
        """
        await run(self._core.close)
