"""Type stubs of the Rust extension module ``victron_gx_modbus._core``."""

from typing import Any

__version__: str

type MqttArgs = tuple[str, int, str | None, str | None, str | None, float, int | None, str | None]
"""(host, port, username, password, portal ID, timeout s, TLS port, expected fingerprint)."""

class VictronError(Exception):
    """Base of every error raised by the core."""

class LedgerError(VictronError):
    """The compiled register ledger is unusable."""

class CodecError(VictronError):
    """A value could not be decoded or encoded."""

def ledger_json() -> str:
    """Return the compiled register ledger as JSON text."""

def decode(register_type: str, scale: float, words: list[int]) -> int | float | str | None:
    """Decode register words; None for the "not available" sentinel."""

def encode(register_type: str, scale: float, value: float | str) -> list[int]:
    """Encode a value into register words, range checked."""

class SimulatorError(VictronError):
    """The GX simulator could not start or do what was asked."""

def bundled_scenarios() -> list[str]:
    """Names of the bundled simulator scenarios."""

def site_history(scenario: str, seconds: float, step_seconds: float, bucket_seconds: float, seed: int) -> str:
    """A scenario's site run fast-forward over its last `seconds`, bucketed, as JSON text."""

def start_simulator(
    bridge: BridgeCore,
    scenario: str,
    host: str,
    port: int,
    latency_ms: float,
    jitter_ms: float,
    service_time_ms: float,
    max_connections: int | None,
    seed: int,
    mqtt_port: int | None = None,
    mqtt_password: str | None = None,
    mqtt_tls_port: int | None = None,
) -> int:
    """Start a GX simulator (scenario: a bundled name or a .json path); delivers a `SimulatorCore`."""

class SimulatorCore:
    """A running GX simulator."""

    @property
    def host(self) -> str:
        """The IP address it listens on."""
    @property
    def port(self) -> int:
        """The TCP port it listens on."""
    @property
    def mqtt_port(self) -> int | None:
        """The TCP port of its plaintext MQTT face (None without one)."""
    @property
    def mqtt_tls_port(self) -> int | None:
        """The TCP port of its MQTT face over TLS (None without one)."""
    @property
    def mqtt_fingerprint(self) -> str | None:
        """The SHA-256 fingerprint of its TLS certificate (None without TLS)."""
    def rotate_mqtt_certificate(self) -> str:
        """Show a new TLS certificate from now on; returns its fingerprint."""
    def stats_json(self) -> str:
        """Request statistics and the write log as JSON text."""
    def reset_stats(self) -> None:
        """Clear the statistics."""
    def stall(self, count: int) -> None:
        """Leave the next `count` requests unanswered."""
    def drop_next_replies(self, count: int) -> None:
        """Cut the next `count` replies in half and close the connection."""
    def malform_next_replies(self, kind: str, count: int) -> None:
        """Malform the next `count` replies."""
    def drop_every(self, n: int) -> None:
        """Cut every n-th reply and close its connection from now on (0: stop)."""
    def clear_faults(self) -> None:
        """Drop pending faults (and the recurring drop)."""
    def reboot(self, seconds: float) -> None:
        """Close every connection and refuse new ones for `seconds`."""
    def set_present(self, bridge: BridgeCore, device: str, present: bool) -> int:
        """Unplug or plug back a device by scenario id; delivers None."""
    def hold(self, bridge: BridgeCore, device: str, key: str, value: float) -> int:
        """Hold a device's register at `value` from now on; delivers None."""
    def devices_json(self, bridge: BridgeCore) -> int:
        """Deliver the scenario's devices as JSON text."""
    def stop(self, bridge: BridgeCore) -> int:
        """End pending calls, stop and release the port; delivers None."""

class GXConnectionError(VictronError):
    """The GX could not be reached or the connection was lost."""

class GXTimeoutError(GXConnectionError):
    """The GX did not answer in time."""

class GXProtocolError(GXConnectionError):
    """The GX sent a reply that does not fit the request, or what answered is not Modbus TCP."""

class ScanDataError(VictronError):
    """A scan result is missing, unreadable or not from a GX."""

class Limits:
    """The user's electrical set-up, validated by the core; frozen.

    `ac_voltage`: nominal V of one phase leg (120, 208, 230, 240 or another
    mains voltage, 100-260); `phases`: single, split or three; `ac_current`:
    A per phase; `dc_current`: A; `battery`: lifepo4_4s/8s/16s,
    lead_acid_12v/24v/48v or custom (with `battery_min_voltage` and
    `battery_max_voltage`); `power_limit`: an extra AC power limit in W, per
    phase or (`power_per_phase=False`) total. Nonsense raises `LimitsError`.
    """

    def __init__(
        self,
        *,
        ac_voltage: float,
        phases: str,
        ac_current: float,
        dc_current: float,
        battery: str,
        battery_min_voltage: float | None = None,
        battery_max_voltage: float | None = None,
        power_limit: float | None = None,
        power_per_phase: bool = True,
    ) -> None:
        """Validate the options (raises `LimitsError`)."""
    @property
    def ac_voltage(self) -> float:
        """Nominal AC voltage of one phase leg (V)."""
    @property
    def phases(self) -> str:
        """single, split or three."""
    @property
    def ac_current(self) -> float:
        """AC current per phase (A)."""
    @property
    def dc_current(self) -> float:
        """DC current (A)."""
    @property
    def battery(self) -> str:
        """The battery profile."""
    @property
    def battery_min_voltage(self) -> float | None:
        """A custom battery's lowest voltage."""
    @property
    def battery_max_voltage(self) -> float | None:
        """A custom battery's highest voltage."""
    @property
    def power_limit(self) -> float | None:
        """An extra AC power limit (W)."""
    @property
    def power_per_phase(self) -> bool:
        """Whether `power_limit` is per phase (else total)."""
    def as_dict(self) -> dict[str, Any]:
        """The options as keyword arguments of `Limits`."""
    def derived(self) -> dict[str, float]:
        """ac_power_phase, ac_power_total, dc_voltage_min, dc_voltage_max, dc_power."""

class ClientCore:
    """A connection to one GX.

    Asynchronous methods take the loop's bridge and return a ticket whose
    outcome the bridge delivers.
    """

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float,
        connect_timeout: float,
        max_in_flight: int,
        max_rate: float,
        slow_every: int,
        limits: Limits | None = None,
    ) -> None:
        """Describe the connection; nothing connects until the first request."""
    def identify(self, bridge: BridgeCore, firmware: bool) -> int:
        """Read the GX's serial and firmware at unit 100; delivers a dict (a `GxIdentity`)."""
    def scan(
        self,
        bridge: BridgeCore,
        mode: str,
        units: list[int] | None,
        progress: bool,
        mqtt: MqttArgs | None = None,
    ) -> int:
        """Scan the GX; delivers the scan result as JSON (and progress events)."""
    def scan_listed(
        self,
        bridge: BridgeCore,
        services: list[tuple[int, str]],
        listed: int,
        firmware: str | None,
        progress: bool,
        published: str | None = None,
    ) -> int:
        """Scan exactly these (unit ID, service type) pairs over Modbus, no MQTT; delivers JSON as `scan`.

        `published` is the JSON of the check's `published` (what the services published about their devices).
        """
    def mqtt_check(self, bridge: BridgeCore, mqtt: MqttArgs) -> int:
        """Read the GX's MQTT service list only; delivers `MqttCheck` as JSON."""
    def sweep(
        self, bridge: BridgeCore, scan_json: str, rate: float, patience_s: float, progress: bool
    ) -> int:
        """Sweep units 0-63 and 204-247 beyond the scan at `rate` requests/s; delivers JSON."""
    def unexplained(self, bridge: BridgeCore) -> int:
        """Service types the last poll's system values claim beyond the known devices; delivers a list."""
    def search(
        self, bridge: BridgeCore, scan_json: str, service: str, rate: float, failed_budget: int
    ) -> int:
        """Search for one device of `service` the scan lacks; delivers a sweep result as JSON."""
    def use_scan(self, bridge: BridgeCore, scan_json: str, only: set[str] | None = None) -> int:
        """Adopt a stored scan result (only the named registers, if given); delivers None."""
    def plan_json(self, bridge: BridgeCore) -> int:
        """Deliver the planned registers as JSON."""
    def poll(self, bridge: BridgeCore) -> int:
        """Read every due block; delivers a `PollOutput` (`victron_gx_modbus._results`)."""
    def read_registers(self, bridge: BridgeCore, unit: int, address: int, count: int) -> int:
        """Read registers; delivers the words or a DeviceException."""
    def raw_dump(
        self, bridge: BridgeCore, timeout: float, redact: list[str], devices: list[str] | None = None
    ) -> int:
        """Read every served register by the plan's blocks; delivers the dump as JSON."""
    def metrics_json(self) -> str:
        """Request counters and latency as JSON."""
    @property
    def writes_enabled(self) -> bool:
        """Whether the client has limits."""
    def write_range(self, unit: int, service: str, key: str) -> tuple[float, float, float]:
        """(min, max, step) under the limits; raises `WriteRefused`."""
    def write_range_json(self, unit: int, service: str, key: str) -> str:
        """The write range with allowed codes and reason, as JSON."""
    def write(self, bridge: BridgeCore, unit: int, service: str, key: str, value: float | str) -> int:
        """Write within the limits; delivers the value read back."""
    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
    def close(self, bridge: BridgeCore) -> int:
        """End this client's tasks, wait for them, close the connection; delivers None."""

class BridgeCore:
    """Delivers the outcomes of core tasks to one event loop."""

    def __init__(self) -> None:
        """A bridge with its own wake-up socket pair."""
    def fileno(self) -> int:
        """The file descriptor the loop watches for readability."""
    def take(self) -> list[tuple[int, int, Any]]:
        """Delivered items as (ticket, kind, object): 0 result, 1 exception, 2 event."""
    def cancel(self, ticket: int) -> None:
        """Abort a task; nothing is delivered for it."""
    def pending(self) -> int:
        """Tasks still running."""

def shutdown() -> None:
    """Stop the core's runtime (at interpreter exit)."""

def take_logs() -> list[tuple[int, str, str]]:
    """Queued core log records as (level, logger name, message)."""
