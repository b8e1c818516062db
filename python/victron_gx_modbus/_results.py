"""The shapes of the results the core returns, as typed dicts (generated: do not edit).

Written by `scripts/gen-result-types` from the Rust types and their doc
comments; `cargo test result_types` fails when this file differs from them.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class FoundDevice(TypedDict):
    """A device found behind the GX."""

    firmware: str | None
    """Firmware as the GX shows it ("v3.16", "v506" for VE.Bus), when the service has that register (or
    published it over MQTT)."""

    name: str | None
    """The name the user gave the device (its custom name; the system name for the settings service), when
    set."""

    phases: NotRequired[int | None]
    """AC phases the device has (its phase count, or the phases whose voltage reads non-zero); `None` for a
    device without per-phase values."""

    product_id: int | None
    """Victron product id: the GX's MQTT `ProductId`, else the register of the few services that serve one."""

    product_name: NotRequired[str | None]
    """Product name ("SmartSolar MPPT VE.Can 250/100"): the GX's MQTT `ProductName`, else the product table's
    name of `product_id`."""

    registers: int
    """Registers of its service that the GX serves."""

    serial: str | None
    """Serial number, when the service has that register."""

    service: str
    """Service type (`vebus`, `battery`, ...)."""

    unit: int
    """Unit ID that reaches it."""

    unserved: NotRequired[list[list[int]]]
    """Reserved blocks of the ledger the GX did not serve (older firmware)."""

    unsupported: list[str]
    """Register keys the GX refused (0x02): absent from this firmware."""


class DiscoveryPhase(TypedDict):
    """What one discovery phase found and cost."""

    devices: int
    """Devices found."""

    duration_ms: float
    """Wall time (for MQTT: reading the list plus scanning its units)."""

    error: NotRequired[str]
    """Why the phase did not finish (the MQTT phase when it fell back)."""

    failed_requests: int
    """Modbus requests the GX refused (each an error in its log)."""

    listed: NotRequired[int]
    """Services the GX's MQTT listed (active or not), for the MQTT phase."""

    name: str
    """`mqtt`, `quick`, `deep` or `units`."""

    requests: int
    """Modbus requests sent."""


class Discovery(TypedDict):
    """How the devices were found.

    The phases in order, and why MQTT was not used when it was asked for and failed.
    """

    fallback: str | None
    """Why the MQTT list was not used (`None` when it was, or not asked for)."""

    fingerprint: NotRequired[str]
    """The fingerprint of the GX's MQTT certificate: of the TLS connection the list came over, or of the
    certificate not trusted yet that made the scan fall back (absent over plaintext or without MQTT)."""

    phases: list[DiscoveryPhase]
    """Every phase run."""

    used: str
    """The phase whose devices the result holds (`mqtt` when the list was used)."""


class GxIdentity(TypedDict):
    """The GX device itself."""

    absent_exception: int | None
    """The exception code this GX uses for an absent service (0x0A or 0x0B)."""

    firmware: str | None
    """Firmware, e.g. `v3.60` (`v3.70~12` for a beta)."""

    serial: str | None
    """Serial (the GX's MAC address as text)."""


class ScanStats(TypedDict):
    """What a scan cost."""

    duration_ms: float
    """Wall time."""

    failed_requests: int
    """Requests the GX answered with an exception (each one an ERROR in its log)."""

    probes: int
    """(unit, service) pairs probed."""

    requests: int
    """Requests sent."""

    unanswered: NotRequired[int]
    """Requests that got no reply (timeout, connection lost): a sweep skips the probe, a scan stops at the
    first."""


class ScanResult(TypedDict):
    """The result of a scan; serialisable and versioned: store it as it is."""

    devices: list[FoundDevice]
    """Devices found, by unit then service."""

    discovery: NotRequired[Discovery]
    """How the devices were found (the phases, why MQTT was not used): set on the result a client's scan
    returns; never read from a stored one."""

    gx: GxIdentity
    """The GX."""

    mode: str
    """How the scan probed."""

    stats: ScanStats
    """What it cost."""

    version: int
    """Format version (`SCAN_RESULT_VERSION`)."""


class SweepResult(TypedDict):
    """What a sweep found and what it cost."""

    found: list[FoundDevice]
    """The devices the sweep found, validated."""

    result: ScanResult
    """The scan result with the new devices merged in: store it."""

    stats: ScanStats
    """What the sweep alone cost (`probes`: pairs probed)."""


type ScanPhase = Literal["probing", "validating", "sweeping", "waiting", "done"]
"""What a scan or sweep is doing, as its progress reports it.

`ScanProgress::phase` is its name in lower case.

"probing": Probing (unit, service) pairs.

"validating": Reading what answered, to tell devices from echoes.

"sweeping": A background sweep probing the units a scan leaves out.

"waiting": A sweep waiting for a GX that stopped answering.

"done": Finished.
"""


class ScanProgress(TypedDict):
    """Progress of a scan."""

    done: int
    """Steps done."""

    found: int
    """Devices found so far."""

    phase: ScanPhase
    """What the scan (or sweep) is doing (a `ScanPhase`'s name)."""

    total: int
    """Steps known so far."""


type Tier = Literal["static", "slow", "fast"]
"""How often a register is read.

"static": Identity (serial, product, firmware, name): once.

"slow": Energy counters, settings, history and diagnostics: every few polls.

"fast": Live values: every poll.
"""


class PlannedRegister(TypedDict):
    """A register the client polls."""

    device: int
    """Its device's index in the plan."""

    key: str
    """Register key."""

    service: str
    """Service type of its device."""

    tier: Tier
    """How often it is read."""

    unit: int
    """Unit ID of its device."""


class PlanView(TypedDict):
    """A client's read plan: the registers it polls, in value order, and what reading them costs."""

    registers: list[PlannedRegister]
    """The registers, in the order of a poll's values."""

    requests: int
    """Requests of a full cycle (every register)."""

    requests_per_cycle: float
    """Requests of one poll cycle on average (the first, full cycle excluded)."""


type RegisterValue = int | float | str | None
"""A decoded register value.

`int`: An integer (scale 1, or a raw enum code).

`float`: A scaled number.

`str`: Text of a string register, NUL padding removed.

`None`: The register holds the "not available" sentinel.
"""


class PollOutput(TypedDict):
    """What one poll gives a client: the values by plan index and what changed."""

    changed: list[int]
    """The plan indexes of the registers whose value (or availability) changed."""

    connection_lost: bool
    """Whether the GX could not be reached at all."""

    failed: int
    """Blocks that got an exception or no reply (after any retry)."""

    requests: int
    """Requests sent (retries included)."""

    unavailable: list[int]
    """The plan indexes of the registers without a value."""

    unavailable_devices: list[int]
    """Devices (by plan index) that could not be read at all this poll."""

    values: list[RegisterValue | None]
    """Every register's value, in plan order (None: not read, or not available)."""


class Latency(TypedDict):
    """Latency percentiles in milliseconds."""

    max: float
    """Largest."""

    p50: float
    """Median."""

    p90: float
    """90th percentile."""

    p99: float
    """99th percentile."""


class Metrics(TypedDict):
    """Request counters and latency of a transport."""

    connect_failures: int
    """Failed connection attempts."""

    disconnects: int
    """Connections lost."""

    exceptions: dict[str, int]
    """Exception replies by code (in JSON, the code as text)."""

    latency_ms: Latency
    """Latency percentiles in milliseconds (recent requests)."""

    malformed: int
    """Replies that did not fit their request."""

    reconnects: int
    """Connections opened after the first."""

    replies: int
    """Replies that carried data or an acknowledgement."""

    requests: int
    """Requests sent."""

    timeouts: int
    """Requests that timed out."""

    unmatched: int
    """Replies that arrived for no pending request (late after a timeout)."""


class WriteInfo(TypedDict):
    """What a writable register accepts under the limits."""

    allowed: list[int] | None
    """The only codes allowed (enum, on/off, button registers)."""

    max: float
    """Largest value (for text: most characters)."""

    min: float
    """Smallest value (for text: 0)."""

    reason: str
    """How the user bound was derived, e.g. "AC power per phase: 230 V x 25 A"."""

    step: float
    """Step between values (1 / |scale|; 1 for codes and text)."""

    text: bool
    """Whether the register takes text."""


class DumpedBlock(TypedDict):
    """One read of the dump: its words (`None` where redacted), or the error it met."""

    count: int
    """Number of registers."""

    error: NotRequired[str]
    """Why the block was not read: `exception 0x02` (the GX's reply), a connection error's text, or that the
    time limit passed."""

    start: int
    """First address."""

    words: NotRequired[list[int | None]]
    """The words read, `None` for a redacted one."""


class DumpedDevice(TypedDict):
    """One device's part of the dump."""

    blocks: list[DumpedBlock]
    """Its blocks, by address."""

    service: str
    """Service type."""

    unit: int
    """Unit ID."""


type MqttErrorKind = Literal[
    "unreachable",
    "credentials",
    "refused",
    "timeout",
    "no_list",
    "protocol",
    "untrusted",
    "certificate_changed",
    "tls",
]
"""Why the GX's MQTT list could not be read.

"unreachable": Nothing listens (MQTT on LAN is off).

"credentials": The password was refused (or is missing).

"refused": Another refusal.

"timeout": No answer in time.

"no_list": No Modbus TCP service list.

"protocol": A broken exchange.

"untrusted": TLS offered with a certificate not trusted yet (its `fingerprint` is in the check).

"certificate_changed": Another certificate than the trusted one (raised as `MqttCertificateChanged` by the
client).

"tls": A failed TLS handshake (something else than TLS on the TLS port).
"""


class PublishedDevice(TypedDict):
    """What one device's service publishes about it.

    Each `None` when it publishes nothing there (or an empty text, or a null: the GX's "not set").
    """

    custom_name: str | None
    """`/CustomName`, when the user set one."""

    firmware: str | None
    """`/FirmwareVersion`, as the GX shows it ("v3.16")."""

    instance: int
    """Device instance (the topic's instance; a unit ID reaches it through the GX's unit ID table)."""

    product_id: int | None
    """`/ProductId` (0xA10B)."""

    product_name: str | None
    """`/ProductName` ("SmartSolar MPPT VE.Can 250/100"); the product table's name of `product_id` when the
    service published none."""

    serial: str | None
    """`/Serial`."""

    service: str
    """Service type (`solarcharger`)."""

    unit: int
    """The unit ID the GX lists the service at."""


class MqttCheck(TypedDict):
    """Whether MQTT discovery works at a GX (`Client.mqtt_check`): the list's size, or why not.

    The password is never part of it.
    """

    active: NotRequired[int]
    """Listed services that are connected (what a scan over MQTT probes)."""

    devices: NotRequired[list[tuple[int, str]]]
    """The devices a scan of that list reports, as (unit ID, service type) pairs: the GX's own services at
    unit 100, a device listed at unit 100 at unit 0, only the service types this library knows."""

    error: NotRequired[MqttErrorKind]
    """Why the list could not be read."""

    expected: NotRequired[str]
    """With error `certificate_changed`: the fingerprint that was trusted."""

    fingerprint: NotRequired[str | None]
    """SHA-256 fingerprint of the GX's TLS certificate: of the connection (None over plaintext), or with error
    `untrusted`, of the certificate to show the user."""

    firmware: NotRequired[str | None]
    """The GX firmware (Venus OS version) its MQTT published; None when it published none."""

    listed: NotRequired[int]
    """Services the GX lists."""

    message: NotRequired[str]
    """The failure as text, with its details."""

    portal_id: NotRequired[str]
    """The portal ID (VRM id) of the GX's topics."""

    published: NotRequired[list[PublishedDevice]]
    """What the listed services published about their devices (product, firmware, serial, custom name)."""

    services: NotRequired[list[tuple[int, str]]]
    """The connected services as (unit ID, service type) pairs, as the GX lists them."""


type EntityCategory = Literal["config", "diagnostic"]
"""The Home Assistant entity category of a register that is not a primary reading.

"config": A setting.

"diagnostic": Diagnostics.
"""


type Platform = Literal["sensor", "binary_sensor", "number", "select", "switch", "button", "text"]
"""Which Home Assistant platform presents a register.

"sensor": A read-only value.

"binary_sensor": A read-only on/off state.

"number": A writable number.

"select": A writable choice among enum codes.

"switch": A writable on/off state.

"button": A write of one fixed code (an action).

"text": Writable text.
"""


type WriteBound = Literal[
    "ac_current",
    "ac_power",
    "ac_power_limit",
    "ac_voltage",
    "dc_current",
    "dc_power",
    "dc_voltage",
    "percentage",
    "duration",
    "time_of_day",
    "timestamp",
    "frequency",
    "temperature",
    "energy",
    "charge",
    "volume",
    "enum",
    "text_length",
    "register_range",
]
"""Which of the user's limits bounds a writable register.

"ac_current": AC current (A): the user's AC current limit.

"ac_power": AC power setpoint (W, signed: import positive, export negative): AC voltage x AC current, per
phase or times the phases.

"ac_power_limit": AC power limit (W, never negative): as `AcPower`, from 0 up.

"ac_voltage": AC voltage (V): the user's nominal AC voltage.

"dc_current": DC current (A): the user's DC current limit.

"dc_power": DC power (W): DC current x battery voltage.

"dc_voltage": DC voltage (V): the battery profile's voltage window.

"percentage": 0-100 %.

"duration": A duration, bounded by the register's range.

"time_of_day": A time of day (seconds, minutes or hours since midnight, by unit).

"timestamp": A point in time (Unix seconds, not before 1970).

"frequency": AC frequency around the nominal 50/60 Hz.

"temperature": A temperature, bounded by the register's range.

"energy": Energy (kWh), bounded by the register's range.

"charge": Charge (Ah), bounded by the register's range.

"volume": A volume, bounded by the register's range.

"enum": Only the listed enum codes.

"text_length": Text no longer than the register holds.

"register_range": Only the register's own type and listed range.
"""


class WriteSpec(TypedDict):
    """How a writable register is written and what bounds it."""

    bound: WriteBound
    """The user limit that bounds it."""

    kind: Platform
    """The platform that writes it."""


class HaMetadata(TypedDict):
    """Our Home Assistant metadata of a register (hand-kept, not official)."""

    device_class: str | None
    """HA device class, if any."""

    enabled_by_default: bool
    """Whether the entity is enabled when first created."""

    entity_category: EntityCategory | None
    """The entity's category, if any."""

    name: str
    """English entity name (translations come from strings.json)."""

    platform: Platform
    """The platform that presents it."""

    state_class: str | None
    """HA state class, if any."""

    states: dict[str, str] | None
    """Our state key per enum code (enum sensors and selects)."""

    suggested_precision: int | None
    """Suggested display precision."""

    suggested_unit: str | None
    """The unit Home Assistant shows the value in when it is not `unit` (a duration in seconds shown in
    hours); the user can change it."""

    unit: str | None
    """HA unit of measurement, if any."""

    write: WriteSpec | None
    """How a writable register is written."""


class Sentinel(TypedDict):
    """A value the publishing service uses for "not available" (or "no limit").

    The integration shows it as unknown rather than as a reading.
    """

    means: str
    """What the service means by it."""

    value: float
    """The value as decoded (scale applied), e.g. -273 for a temperature."""


class Register(TypedDict):
    """One register of a service type."""

    added_in: int | None
    """The document revision that added it, when the official list's "Document versions" sheet says (it names
    registers from rev 49 on)."""

    address: int
    """Modbus address."""

    dbus_path: str | None
    """D-Bus path exactly as the GX's own map spells it (absent where the map has none, e.g. the second word
    of an INTERNAL value). An INTERNAL register's path names the D-Bus value the GX converts, not its
    words."""

    description: str
    """Official description."""

    enum: dict[str, str] | None
    """Official enum labels by code."""

    ha: HaMetadata
    """Home Assistant metadata."""

    internal: bool
    """Marked INTERNAL in the official list."""

    key: str
    """Stable key, unique within the service type."""

    overflow: str | None
    """Why real systems publish values this register's type cannot hold (errata data); such a register is
    disabled by default, and a reading at its type's limit is taken as wrapped or saturated."""

    range: list[float] | None
    """Official value range, when the list gives one."""

    remarks: str | None
    """Official remarks."""

    scale: float
    """Scale factor (`raw = value x scale`)."""

    sentinels: list[Sentinel]
    """Values the publishing service uses for "not available" (errata data)."""

    since: str
    """The oldest known register list that has it."""

    type: str
    """Data type."""

    unit: str | None
    """Official unit text."""

    writable: bool
    """Whether the GX accepts writes."""


class Service(TypedDict):
    """All registers of one D-Bus service type (`vebus`, `battery`, ...)."""

    format: int
    """Ledger file format version."""

    registers: list[Register]
    """Registers in address order."""

    reserved: list[list[int]]
    """Reserved address blocks (inclusive) that read 0xFFFF."""

    service: str
    """Full D-Bus service name, e.g. `com.victronenergy.vebus`."""

    source_list: str
    """The official list the facts come from."""


class Ledger(TypedDict):
    """Every service type and its registers."""

    services: list[Service]
    """Services in file-name order."""


class UnitStats(TypedDict):
    """Counters of one unit ID."""

    exceptions: int
    """Exception replies to them."""

    requests: int
    """Requests addressed to the unit."""


class WriteLogEntry(TypedDict):
    """One accepted write."""

    address: int
    """Address of the first word written."""

    device: str
    """Scenario device id."""

    key: str
    """Register key."""

    text: str | None
    """Text, for string registers."""

    unit: int
    """Unit ID of the request."""

    value: float | None
    """Value the register then held (None: not available)."""

    words: list[int]
    """Words written."""


class SimulatorStats(TypedDict):
    """Request statistics of a simulator run (in JSON, codes and unit IDs as keys are text)."""

    by_function: dict[str, int]
    """Requests by function code."""

    by_unit: dict[str, UnitStats]
    """Per unit ID."""

    connections_accepted: int
    """TCP connections accepted."""

    connections_open: int
    """Connections open now."""

    connections_rejected: int
    """Connections closed at once because of the connection limit."""

    exceptions: int
    """Exception replies (the GX logs each at ERROR level)."""

    exceptions_by_code: dict[str, int]
    """Exception replies by code."""

    faults_injected: int
    """Faults injected so far."""

    malformed_requests: int
    """Frames from clients that could not be parsed (the connection was dropped)."""

    mqtt_connections: int
    """TCP connections the MQTT face accepted (each one MQTT client session)."""

    reboots: int
    """Simulated reboots so far."""

    requests: int
    """Requests answered or stalled."""

    writes: list[WriteLogEntry]
    """The most recent writes."""

    writes_total: int
    """Total writes accepted."""


class SimulatedIdentity(TypedDict):
    """What a device's service publishes about it.

    Its `/ProductName`, `/ProductId`, `/FirmwareVersion`, `/Serial` and `/CustomName`.
    """

    custom_name: str | None
    """Custom name."""

    firmware: int | None
    """Firmware number as published (0x0163FF = v1.63)."""

    product_id: int | None
    """Victron product id."""

    product_name: str | None
    """Product name."""

    serial: str | None
    """Serial number."""


class SimulatedDevice(TypedDict):
    """A device as the simulator reports it."""

    id: str
    """Scenario id."""

    identity: SimulatedIdentity
    """What its service publishes about it over MQTT."""

    instance: int
    """Device instance."""

    present: bool
    """Connected now."""

    registers: int
    """Registers of its service type."""

    service: str
    """Service type."""

    unit: int | None
    """Unit ID that reaches it."""


class HistorySeries(TypedDict):
    """One register's values over the buckets of a history."""

    device: str
    """Scenario id of the device."""

    key: str
    """Register key."""

    last: list[float]
    """The value at each bucket's end."""

    max: list[float]
    """Largest sample of each bucket."""

    mean: list[float]
    """Mean of each bucket's samples."""

    min: list[float]
    """Smallest sample of each bucket."""

    service: str
    """Service type of the device."""

    unit: int | None
    """The unit ID that reaches the device."""


class SiteHistory(TypedDict):
    """What the site did over a span of time, bucket by bucket."""

    bucket_seconds: float
    """Length of a bucket; the first starts at the span's start, the last may be shorter."""

    seconds: float
    """The span, in seconds; its end is the start of a fresh site."""

    series: list[HistorySeries]
    """Every register whose value the scenario models as changing."""

    step_seconds: float
    """Time between two samples."""
