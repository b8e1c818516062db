//! Discovery: which devices (unit ID, service type) a GX serves, with as few
//! requests and as few failed requests as the protocol allows.
//!
//! The GX cannot say "this unit is empty": a read answers 0x0A/0x0B when no
//! service of the register's type is at the unit, so each (unit, service
//! type) pair costs one probe. The quick scan therefore probes only likely
//! pairs — the GX's fixed port units, VE.Can's low instances, the usual
//! instances of tanks, sensors and meters, widened by what unit 100's system
//! values show — and follows clusters (a hit at unit n suggests n+1, n+2).
//! The deep scan probes every unit 0-255 for every type; a list of units
//! probes just those. Then each device's read plan is validated once: a block
//! the GX refuses (0x02, older firmware) is split until the registers it
//! lacks are known, so polling never sends a request that fails.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::codec::Value;
use crate::ledger::{list_rank, Ledger, LedgerError, Service};
use crate::plan::{plan_all, Block, Placement, Plan, PlanDevice};
use crate::poll::{decode_block, BlockResult};
use crate::transport::{Transport, TransportError};

/// Version of the serialised scan result (stored in Home Assistant's config entry).
pub const SCAN_RESULT_VERSION: u32 = 1;

/// Services of the GX itself, all at unit 100 (device instance 0).
const GX_SERVICES: &[&str] = &["system", "settings", "hub4", "platform"];
/// Unit of the GX's own services.
pub const GX_UNIT: u8 = 100;
/// VE.Bus port units (Cerbo, MultiPlus-II GX, Venus GX, CCGX).
const VEBUS_PORTS: &[u8] = &[227, 228, 242, 246];
/// VE.Direct port units (Cerbo, MultiPlus-II GX, Venus GX, CCGX).
const VEDIRECT_PORTS: &[u8] = &[226, 224, 223, 229, 230, 243, 245, 247];
/// The CAN-bus BMS unit.
const CAN_BMS: u8 = 225;
/// Services of VE.Direct and VE.Can products.
const VE_FAMILY: &[&str] = &[
    "solarcharger",
    "battery",
    "inverter",
    "multi",
    "charger",
    "dcdc",
    "alternator",
    "dcload",
    "dcsource",
    "dcsystem",
];
/// Highest unit that cluster-following extends to.
const CLUSTER_LIMIT: u8 = 99;
/// How far past a hit cluster-following looks.
const CLUSTER_STEP: u8 = 2;

/// What to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanMode {
    /// Likely (unit, service) pairs only.
    Quick,
    /// Every unit 0-255 for every service type.
    Deep,
    /// Every service type at these units (plus the GX's own at unit 100).
    Units(Vec<u8>),
}

impl ScanMode {
    fn name(&self) -> &'static str {
        match self {
            Self::Quick => "quick",
            Self::Deep => "deep",
            Self::Units(_) => "units",
        }
    }
}

/// The GX device itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GxIdentity {
    /// Serial (the GX's MAC address as text).
    pub serial: Option<String>,
    /// Firmware, e.g. `v3.60` (`v3.70~12` for a beta).
    pub firmware: Option<String>,
    /// The exception code this GX uses for an absent service (0x0A or 0x0B).
    pub absent_exception: Option<u8>,
}

/// A device found behind the GX.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundDevice {
    /// Unit ID that reaches it.
    pub unit: u8,
    /// Service type (`vebus`, `battery`, ...).
    pub service: String,
    /// Victron product id, when the service has that register.
    pub product_id: Option<u32>,
    /// Custom or product name, when the service has that register.
    pub name: Option<String>,
    /// Serial number, when the service has that register.
    pub serial: Option<String>,
    /// Firmware version, when the service has that register.
    pub firmware: Option<String>,
    /// Registers of its service that the GX serves.
    pub registers: usize,
    /// Register keys the GX refused (0x02): absent from this firmware.
    pub unsupported: Vec<String>,
    /// Reserved blocks of the ledger the GX did not serve (older firmware).
    #[serde(default)]
    pub unserved: Vec<[u16; 2]>,
}

/// What a scan cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanStats {
    /// (unit, service) pairs probed.
    pub probes: usize,
    /// Requests sent.
    pub requests: u64,
    /// Requests the GX answered with an exception (each one an ERROR in its log).
    pub failed_requests: u64,
    /// Wall time.
    pub duration_ms: f64,
}

/// The result of a scan; serialisable, versioned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanResult {
    /// Format version ([`SCAN_RESULT_VERSION`]).
    pub version: u32,
    /// How the scan probed.
    pub mode: String,
    /// The GX.
    pub gx: GxIdentity,
    /// Devices found, by unit then service.
    pub devices: Vec<FoundDevice>,
    /// What it cost.
    pub stats: ScanStats,
}

impl ScanResult {
    /// The devices as plan input (skipping service types this build does not know).
    pub fn plan_devices<'a>(&'a self, ledger: &'a Ledger) -> Vec<PlanDevice<'a>> {
        self.devices
            .iter()
            .filter_map(|device| {
                Some(PlanDevice {
                    unit: device.unit,
                    service: ledger.service(&device.service)?,
                    unsupported: &device.unsupported,
                    unserved: &device.unserved,
                })
            })
            .collect()
    }
}

/// Progress of a scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanProgress {
    /// `probing` or `validating`.
    pub phase: &'static str,
    /// Steps done.
    pub done: usize,
    /// Steps known so far.
    pub total: usize,
    /// Devices found so far.
    pub found: usize,
}

/// Why a scan failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScanError {
    /// The GX could not be reached or stopped answering.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The embedded ledger is unusable.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Unit 100 does not answer as a GX does.
    #[error("not a GX device: {0}")]
    NotAGx(String),
}

/// Counts the requests of one scan.
#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    failed: AtomicU64,
}

impl Tally {
    async fn read(
        &self,
        transport: &Transport,
        unit: u8,
        start: u16,
        quantity: u16,
    ) -> BlockResult {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let result = BlockResult::from_reply(transport.read(unit, start, quantity).await, quantity);
        if matches!(result, BlockResult::Exception(_)) {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

/// The register a probe reads: the lowest address of the oldest list, so
/// that older firmware answers it too.
fn probe_address(service: &Service) -> Option<u16> {
    service
        .registers
        .iter()
        .min_by_key(|r| (list_rank(&r.since), r.address))
        .map(|r| r.address)
}

/// Rank of a register list.
type Rank = (u8, u32);

/// The settings register of the newest list with the lowest address, and the
/// rank of the list before it: one read of it tells whether the GX serves the
/// newest list (settings are always at unit 100).
fn newest_list_probe(ledger: &Ledger) -> Option<(u16, Rank)> {
    let ranks: std::collections::BTreeSet<Rank> = ledger
        .services
        .iter()
        .flat_map(|s| &s.registers)
        .map(|r| list_rank(&r.since))
        .collect();
    let newest = *ranks.last()?;
    let previous = *ranks.range(..newest).next_back()?;
    let address = ledger
        .service("settings")?
        .registers
        .iter()
        .filter(|r| list_rank(&r.since) == newest)
        .map(|r| r.address)
        .min()?;
    Some((address, previous))
}

/// The newest register list this GX serves (`None`: the newest of the ledger).
async fn list_ceiling(
    transport: &Transport,
    tally: &Tally,
    ledger: &Ledger,
) -> Result<Option<Rank>, ScanError> {
    let Some((address, previous)) = newest_list_probe(ledger) else {
        return Ok(None);
    };
    match tally.read(transport, GX_UNIT, address, 1).await {
        BlockResult::Exception(0x02) => Ok(Some(previous)),
        BlockResult::Failed(err) => Err(err.into()),
        _ => Ok(None),
    }
}

/// Keys of a service's registers newer than the ceiling.
fn above_ceiling(service: &Service, ceiling: Option<Rank>) -> Vec<String> {
    service
        .registers
        .iter()
        .filter(|r| ceiling.is_some_and(|c| list_rank(&r.since) > c))
        .map(|r| r.key.clone())
        .collect()
}

/// A candidate (unit, service type) pair with its likelihood.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    score: u8,
    unit: u8,
    service: String,
}

fn push(
    out: &mut Vec<Candidate>,
    score: u8,
    units: impl IntoIterator<Item = u8>,
    services: &[&str],
) {
    for unit in units {
        for service in services {
            out.push(Candidate {
                score,
                unit,
                service: (*service).to_owned(),
            });
        }
    }
}

/// What the GX's system values suggest exists.
#[derive(Debug, Default)]
struct Evidence {
    pv_inverter: bool,
    genset: bool,
    dc_pv: bool,
}

fn nonzero(values: &BTreeMap<String, Value>, prefix: &str) -> bool {
    values
        .iter()
        .filter(|(key, _)| key.starts_with(prefix))
        .any(|(_, value)| {
            matches!(value, Value::Int(v) if *v != 0)
                || matches!(value, Value::Float(v) if *v != 0.0)
        })
}

/// Likely pairs after the first wave: the GX model's VE.Direct ports, VE.Can's
/// low instances, the usual instances of tanks, sensors and meters.
fn quick_candidates(evidence: &Evidence, vedirect_ports: &[u8]) -> Vec<Candidate> {
    let mut out = Vec::new();
    push(&mut out, 95, [CAN_BMS], &["battery"]);
    push(&mut out, 90, vedirect_ports.iter().copied(), VE_FAMILY);
    push(&mut out, 80, 0..=3, VE_FAMILY);
    push(&mut out, 70, 20..=23, &["tank", "pvinverter"]);
    push(&mut out, 70, 24..=27, &["temperature"]);
    push(&mut out, 70, [30, 31, 40], &["grid"]);
    push(&mut out, 60, [40, 41], &["evcharger", "genset"]);
    push(&mut out, 50, 1..=4, &["digitalinput"]);
    push(
        &mut out,
        50,
        [0, 1],
        &[
            "gps",
            "pulsemeter",
            "generator",
            "acsystem",
            "dcgenset",
            "fuelcell",
        ],
    );
    push(&mut out, 40, [20, 21], &["meteo", "temperature"]);
    push(&mut out, 40, [30, 31], &["acload", "heatpump"]);
    if evidence.dc_pv {
        push(&mut out, 85, 4..=7, &["solarcharger"]);
    }
    if evidence.pv_inverter {
        push(&mut out, 75, 24..=35, &["pvinverter"]);
    }
    if evidence.genset {
        push(&mut out, 75, (20..=23).chain(42..=47), &["genset"]);
    }
    out.sort_by(|a, b| b.score.cmp(&a.score).then(a.unit.cmp(&b.unit)));
    let mut seen = HashSet::new();
    out.retain(|c| seen.insert((c.unit, c.service.clone())));
    out
}

fn all_service_types(ledger: &Ledger) -> Vec<&str> {
    ledger
        .services
        .iter()
        .map(Service::service_type)
        .filter(|name| !GX_SERVICES.contains(name))
        .collect()
}

/// Every service type at every unit of a deep or unit-list scan.
fn candidates(mode: &ScanMode, ledger: &Ledger) -> Vec<Candidate> {
    let types = all_service_types(ledger);
    let out = match mode {
        ScanMode::Quick => Vec::new(),
        ScanMode::Deep => {
            let mut out = Vec::new();
            // Unit 100 only repeats instance 0 (unit 0) for devices.
            push(&mut out, 50, (0..=255).filter(|&u| u != GX_UNIT), &types);
            out
        }
        ScanMode::Units(units) => {
            let mut out = Vec::new();
            push(
                &mut out,
                50,
                units.iter().copied().filter(|&u| u != GX_UNIT),
                &types,
            );
            out
        }
    };
    order(out, ledger)
}

/// Known services only, most likely first, each pair once.
fn order(mut out: Vec<Candidate>, ledger: &Ledger) -> Vec<Candidate> {
    out.retain(|c| ledger.service(&c.service).is_some());
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.unit.cmp(&b.unit))
            .then(a.service.cmp(&b.service))
    });
    let mut seen = HashSet::new();
    out.retain(|c| seen.insert((c.unit, c.service.clone())));
    out
}

/// Formats a GX firmware number read as hex digits (0x0360 -> v3.60).
fn gx_firmware(version: u16, beta: u16) -> String {
    let text = format!("v{:x}.{:02x}", version >> 8, version & 0xFF);
    if beta == 0 {
        text
    } else {
        format!("{text}~{beta}")
    }
}

/// Formats a Victron device firmware number (0x0163FF -> v1.63).
fn device_firmware(raw: i64) -> String {
    let major = (raw >> 16) & 0xFF;
    let minor = (raw >> 8) & 0xFF;
    let build = raw & 0xFF;
    let text = format!("v{major:x}.{minor:02x}");
    if build == 0xFF || build == 0 {
        text
    } else {
        format!("{text}~{build}")
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value {
        Some(Value::Text(text)) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        _ => None,
    }
}

fn integer(value: Option<&Value>) -> Option<i64> {
    match value {
        Some(Value::Int(v)) if *v != 0 => Some(*v),
        _ => None,
    }
}

/// The VE.Direct ports of the GX model whose VE.Bus port answered.
fn vedirect_ports_for(vebus_units: &[u8]) -> Vec<u8> {
    let mut ports = Vec::new();
    for unit in vebus_units {
        ports.extend_from_slice(match unit {
            227 => &[226, 224, 223][..],
            228 => &[229, 230][..],
            242 => &[243, 245, 244][..],
            246 => &[245, 247][..],
            _ => &[][..],
        });
    }
    if ports.is_empty() {
        ports.extend_from_slice(VEDIRECT_PORTS);
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// Scans a GX. `progress` is called from the scanning tasks as steps finish.
pub async fn scan(
    transport: &Transport,
    ledger: &'static Ledger,
    mode: ScanMode,
    progress: Arc<dyn Fn(ScanProgress) + Send + Sync>,
) -> Result<ScanResult, ScanError> {
    let started = Instant::now();
    let tally = Arc::new(Tally::default());
    let mut gx = GxIdentity::default();
    // The GX's firmware first: it is also the connection test.
    match tally.read(transport, GX_UNIT, 834, 2).await {
        BlockResult::Words(words) => gx.firmware = Some(gx_firmware(words[0], words[1])),
        BlockResult::Exception(0x02) => {}
        BlockResult::Exception(code) => {
            return Err(ScanError::NotAGx(format!(
                "unit 100 answered exception {code:#04x}"
            )));
        }
        BlockResult::Failed(err) => return Err(err.into()),
    }
    // One read tells whether the GX serves the newest register list; if not,
    // newer registers are left out everywhere instead of failing one by one.
    let ceiling = list_ceiling(transport, &tally, ledger).await?;
    let known = |c: &Candidate| {
        ledger
            .service(&c.service)
            .is_some_and(|s| above_ceiling(s, ceiling).len() < s.registers.len())
    };
    let mut scanner = Scanner {
        transport: transport.clone(),
        tally: Arc::clone(&tally),
        ledger,
        progress: Arc::clone(&progress),
        unsupported_types: Arc::default(),
        probed: HashSet::new(),
        done: Arc::new(AtomicUsize::new(0)),
        total: 0,
        found: Vec::new(),
        settled: 0,
        absent_code: None,
    };
    // First wave: the GX's own services and the VE.Bus ports (they tell the GX model).
    let mut first = Vec::new();
    push(&mut first, 255, [GX_UNIT], GX_SERVICES);
    if mode == ScanMode::Quick {
        push(&mut first, 100, VEBUS_PORTS.iter().copied(), &["vebus"]);
    }
    first.retain(known);
    scanner.run_wave(first).await?;
    let (mut gx_devices, mut others): (Vec<_>, Vec<_>) = scanner
        .found
        .drain(..)
        .partition(|d| d.unit == GX_UNIT && GX_SERVICES.contains(&d.service.as_str()));
    gx_devices.sort_by_key(|d| GX_SERVICES.iter().position(|s| *s == d.service));
    scanner.settled = gx_devices.len();
    let system_values =
        validate(transport, &tally, ledger, &mut gx_devices, &mut gx, ceiling).await?;
    let evidence = Evidence {
        pv_inverter: nonzero(&system_values, "ac_pv_on_"),
        genset: nonzero(&system_values, "ac_genset_"),
        dc_pv: nonzero(&system_values, "dc_pv_"),
    };
    let vebus_units: Vec<u8> = others.iter().map(|d| d.unit).collect();
    scanner.found.append(&mut others);
    let mut wave: Vec<Candidate> = match &mode {
        ScanMode::Quick => quick_candidates(&evidence, &vedirect_ports_for(&vebus_units)),
        other => candidates(other, ledger),
    };
    wave.retain(known);
    while !wave.is_empty() {
        let before = scanner.found.len();
        scanner.run_wave(wave).await?;
        wave = Vec::new();
        if mode == ScanMode::Quick {
            // Devices of a kind cluster on consecutive instances: follow them.
            let hits: Vec<(u8, String)> = scanner.found[before..]
                .iter()
                .map(|d| (d.unit, d.service.clone()))
                .collect();
            for (unit, service) in hits {
                for step in 1..=CLUSTER_STEP {
                    let next = unit.saturating_add(step);
                    if next <= CLUSTER_LIMIT {
                        wave.push(Candidate {
                            score: 0,
                            unit: next,
                            service: service.clone(),
                        });
                    }
                }
            }
        }
    }
    gx.absent_exception = scanner.absent_code;
    let mut others = std::mem::take(&mut scanner.found);
    others.sort_by(|a, b| (a.unit, &a.service).cmp(&(b.unit, &b.service)));
    progress(ScanProgress {
        phase: "validating",
        done: 0,
        total: others.len(),
        found: gx_devices.len() + others.len(),
    });
    validate(transport, &tally, ledger, &mut others, &mut gx, ceiling).await?;
    let mut devices = gx_devices;
    devices.extend(others);
    progress(ScanProgress {
        phase: "done",
        done: devices.len(),
        total: devices.len(),
        found: devices.len(),
    });
    Ok(ScanResult {
        version: SCAN_RESULT_VERSION,
        mode: mode.name().to_owned(),
        gx,
        devices,
        stats: ScanStats {
            probes: scanner.probed.len(),
            requests: tally.requests.load(Ordering::Relaxed),
            failed_requests: tally.failed.load(Ordering::Relaxed),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        },
    })
}

fn new_device(unit: u8, service: &str) -> FoundDevice {
    FoundDevice {
        unit,
        service: service.to_owned(),
        product_id: None,
        name: None,
        serial: None,
        firmware: None,
        registers: 0,
        unsupported: Vec::new(),
        unserved: Vec::new(),
    }
}

/// What one probe learned.
enum Probe {
    Hit(FoundDevice),
    Absent(u8),
    Nothing,
}

/// The probing state of one scan.
struct Scanner {
    transport: Transport,
    tally: Arc<Tally>,
    ledger: &'static Ledger,
    progress: Arc<dyn Fn(ScanProgress) + Send + Sync>,
    unsupported_types: Arc<Mutex<HashSet<String>>>,
    probed: HashSet<(u8, String)>,
    done: Arc<AtomicUsize>,
    total: usize,
    found: Vec<FoundDevice>,
    /// Devices found earlier and no longer in `found` (the GX's own).
    settled: usize,
    absent_code: Option<u8>,
}

impl Scanner {
    /// Probes a wave of candidates concurrently (the transport bounds how
    /// many are in flight), skipping pairs already probed; a type the
    /// firmware lacks (0x02) is not probed again.
    async fn run_wave(&mut self, wave: Vec<Candidate>) -> Result<(), ScanError> {
        let wave: Vec<Candidate> = wave
            .into_iter()
            .filter(|c| self.probed.insert((c.unit, c.service.clone())))
            .collect();
        self.total += wave.len();
        let found_now = Arc::new(AtomicUsize::new(self.settled + self.found.len()));
        let mut tasks = JoinSet::new();
        for candidate in wave {
            let (transport, tally, unsupported) = (
                self.transport.clone(),
                Arc::clone(&self.tally),
                Arc::clone(&self.unsupported_types),
            );
            let (progress, done, found_now) = (
                Arc::clone(&self.progress),
                Arc::clone(&self.done),
                Arc::clone(&found_now),
            );
            let (ledger, total) = (self.ledger, self.total);
            tasks.spawn(async move {
                let skip = unsupported
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .contains(&candidate.service);
                let address = ledger.service(&candidate.service).and_then(probe_address);
                let outcome = match (skip, address) {
                    (false, Some(address)) => {
                        Some(tally.read(&transport, candidate.unit, address, 1).await)
                    }
                    _ => None,
                };
                let result = match outcome {
                    Some(BlockResult::Words(_)) => {
                        found_now.fetch_add(1, Ordering::Relaxed);
                        Probe::Hit(new_device(candidate.unit, &candidate.service))
                    }
                    Some(BlockResult::Exception(0x02)) => {
                        unsupported
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(candidate.service.clone());
                        Probe::Nothing
                    }
                    Some(BlockResult::Exception(code)) => Probe::Absent(code),
                    Some(BlockResult::Failed(err)) => return Err(err),
                    None => Probe::Nothing,
                };
                progress(ScanProgress {
                    phase: "probing",
                    done: done.fetch_add(1, Ordering::Relaxed) + 1,
                    total,
                    found: found_now.load(Ordering::Relaxed),
                });
                Ok(result)
            });
        }
        let mut failure = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(Probe::Hit(device))) => self.found.push(device),
                Ok(Ok(Probe::Absent(code))) => self.absent_code = Some(code),
                Ok(Err(err)) => failure = failure.or(Some(err)),
                _ => {}
            }
        }
        failure.map_or(Ok(()), |err| Err(err.into()))
    }
}

/// A block narrowed to some of its placements.
fn sub_block(block: &Block, placements: &[Placement], plan: &Plan) -> Block {
    let first = placements.iter().map(|p| p.offset).min().unwrap_or(0);
    let end = placements
        .iter()
        .map(|p| p.offset + plan.slots[p.slot].register.register_type.words())
        .max()
        .unwrap_or(first);
    Block {
        start: block.start + first,
        quantity: end - first,
        placements: placements
            .iter()
            .map(|p| Placement {
                slot: p.slot,
                offset: p.offset - first,
            })
            .collect(),
        ..block.clone()
    }
}

/// Reads one block; a block refused with 0x02 is split in halves until the
/// refused registers are known.
async fn read_splitting(
    transport: Transport,
    tally: Arc<Tally>,
    plan: Arc<Plan>,
    block: Block,
) -> Result<Refusals, TransportError> {
    let mut values = Vec::new();
    let mut refused = Vec::new();
    let mut bridges = Vec::new();
    let mut queue = vec![block];
    let mut scratch: Vec<Option<Value>> = vec![None; plan.slots.len()];
    while let Some(block) = queue.pop() {
        match tally
            .read(&transport, block.unit, block.start, block.quantity)
            .await
        {
            BlockResult::Words(words) => {
                decode_block(&plan, &block, &words, &mut scratch);
                for placement in &block.placements {
                    if let Some(value) = scratch[placement.slot].take() {
                        values.push((placement.slot, value));
                    }
                }
            }
            BlockResult::Exception(0x02) if block.placements.len() > 1 => {
                let (left, right) = block.placements.split_at(block.placements.len() / 2);
                let (left, right) = (
                    sub_block(&block, left, &plan),
                    sub_block(&block, right, &plan),
                );
                // The words between the halves may be what the GX refused.
                bridges.push((block.device, left.start + left.quantity, right.start));
                queue.push(right);
                queue.push(left);
            }
            BlockResult::Exception(0x02) => {
                refused.extend(block.placements.iter().map(|p| p.slot));
            }
            BlockResult::Exception(_) => {}
            BlockResult::Failed(err) => return Err(err),
        }
    }
    Ok(Refusals {
        values,
        refused,
        bridges,
    })
}

/// What validating one block learned.
struct Refusals {
    /// Decoded (slot, value) pairs.
    values: Vec<(usize, Value)>,
    /// Slots of registers the GX refused.
    refused: Vec<usize>,
    /// (device, from, to): address ranges between halves of a refused block.
    bridges: Vec<(usize, u16, u16)>,
}

/// Reads every block of every device once, all concurrently (bounded by the
/// transport). Refused registers become `unsupported`; identity registers
/// fill in the devices. Returns the values by key of the first device.
async fn validate(
    transport: &Transport,
    tally: &Arc<Tally>,
    ledger: &Ledger,
    devices: &mut [FoundDevice],
    gx: &mut GxIdentity,
    ceiling: Option<Rank>,
) -> Result<BTreeMap<String, Value>, ScanError> {
    let upfront: Vec<Vec<String>> = devices
        .iter()
        .map(|d| {
            ledger
                .service(&d.service)
                .map(|s| above_ceiling(s, ceiling))
                .unwrap_or_default()
        })
        .collect();
    let plan_input: Vec<PlanDevice<'_>> = devices
        .iter()
        .zip(&upfront)
        .filter_map(|(d, unsupported)| {
            Some(PlanDevice {
                unit: d.unit,
                service: ledger.service(&d.service)?,
                unsupported,
                unserved: &[],
            })
        })
        .collect();
    let known: Vec<usize> = devices
        .iter()
        .enumerate()
        .filter(|(_, d)| ledger.service(&d.service).is_some())
        .map(|(i, _)| i)
        .collect();
    let plan = Arc::new(plan_all(&plan_input));
    let mut tasks = JoinSet::new();
    for block in plan.blocks.iter().cloned() {
        tasks.spawn(read_splitting(
            transport.clone(),
            Arc::clone(tally),
            Arc::clone(&plan),
            block,
        ));
    }
    let mut values: Vec<Option<Value>> = vec![None; plan.slots.len()];
    let mut refused_by_device: Vec<Vec<String>> = vec![Vec::new(); plan_input.len()];
    let mut unserved_by_device: Vec<Vec<[u16; 2]>> = vec![Vec::new(); plan_input.len()];
    while let Some(joined) = tasks.join_next().await {
        let Ok(outcome) = joined else { continue };
        let learned = outcome?;
        for (slot, value) in learned.values {
            values[slot] = Some(value);
        }
        for slot in learned.refused {
            let planned = &plan.slots[slot];
            refused_by_device[planned.device].push(planned.register.key.clone());
        }
        for (device, from, to) in learned.bridges {
            let reserved = &plan_input[device].service.reserved;
            unserved_by_device[device]
                .extend(reserved.iter().filter(|b| b[0] < to && from <= b[1]));
        }
    }
    let mut by_device: Vec<BTreeMap<String, Value>> = vec![BTreeMap::new(); plan_input.len()];
    for (slot, planned) in plan.slots.iter().enumerate() {
        if let Some(value) = values[slot].take() {
            by_device[planned.device].insert(planned.register.key.clone(), value);
        }
    }
    for (plan_index, &device_index) in known.iter().enumerate() {
        let service = plan_input[plan_index].service;
        let by_key = &by_device[plan_index];
        let by_path = |path: &str| {
            service
                .registers
                .iter()
                .find(|r| r.dbus_path.as_deref() == Some(path))
                .and_then(|r| by_key.get(&r.key))
        };
        let mut unsupported = upfront[device_index].clone();
        unsupported.extend(refused_by_device[plan_index].iter().cloned());
        unsupported.sort();
        unsupported.dedup();
        let device = &mut devices[device_index];
        device.product_id = integer(by_path("/ProductId")).and_then(|v| u32::try_from(v).ok());
        device.name = text(by_path("/CustomName"))
            .or_else(|| text(by_path("/Settings/SystemSetup/SystemName")));
        device.serial = text(by_path("/Serial"));
        device.firmware = integer(by_path("/FirmwareVersion")).map(device_firmware);
        device.registers = service.registers.len() - unsupported.len();
        device.unsupported = unsupported;
        let mut unserved = std::mem::take(&mut unserved_by_device[plan_index]);
        unserved.sort_unstable();
        unserved.dedup();
        device.unserved = unserved;
        if device.service == "system" {
            gx.serial = device.serial.clone();
            if let Some(Value::Int(version)) = by_key.get("gx_firmware_major_version") {
                let beta = match by_key.get("gx_firmware_beta_release") {
                    Some(Value::Int(b)) => *b,
                    _ => 0,
                };
                gx.firmware = Some(gx_firmware(
                    u16::try_from(*version).unwrap_or(0),
                    u16::try_from(beta).unwrap_or(0),
                ));
            }
        }
    }
    Ok(by_device.into_iter().next().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firmware_formats() {
        assert_eq!(gx_firmware(0x0360, 0), "v3.60");
        assert_eq!(gx_firmware(0x0370, 12), "v3.70~12");
        assert_eq!(device_firmware(0x0163FF), "v1.63");
        assert_eq!(device_firmware(0x010503), "v1.05~3");
    }

    #[test]
    fn quick_candidates_are_unique_and_ordered() {
        let ledger = crate::ledger::embedded().unwrap_or_else(|e| panic!("{e}"));
        let list = quick_candidates(&Evidence::default(), VEDIRECT_PORTS);
        assert!(list.iter().all(|c| ledger.service(&c.service).is_some()));
        let unique: HashSet<_> = list.iter().map(|c| (c.unit, c.service.clone())).collect();
        assert_eq!(unique.len(), list.len());
        assert!(list.windows(2).all(|w| w[0].score >= w[1].score));
        assert_eq!(list[0].service, "battery");
        assert!(list.len() < 200, "{} quick probes", list.len());
    }

    #[test]
    fn the_vebus_port_tells_the_gx_model() {
        assert_eq!(vedirect_ports_for(&[227]), vec![223, 224, 226]);
        assert_eq!(vedirect_ports_for(&[246]), vec![245, 247]);
        assert_eq!(vedirect_ports_for(&[]), {
            let mut all = VEDIRECT_PORTS.to_vec();
            all.sort_unstable();
            all
        });
    }
}
