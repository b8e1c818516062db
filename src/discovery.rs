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
use crate::plan::{plan_all, Block, Placement, PlanDevice};
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

fn quick_candidates(evidence: &Evidence) -> Vec<Candidate> {
    let mut out = Vec::new();
    push(&mut out, 100, VEBUS_PORTS.iter().copied(), &["vebus"]);
    push(&mut out, 95, [CAN_BMS], &["battery"]);
    push(&mut out, 90, VEDIRECT_PORTS.iter().copied(), VE_FAMILY);
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

fn candidates(mode: &ScanMode, ledger: &Ledger, evidence: &Evidence) -> Vec<Candidate> {
    let types = all_service_types(ledger);
    let mut out = match mode {
        ScanMode::Quick => quick_candidates(evidence),
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

/// Scans a GX. `progress` is called from the scanning task as steps finish.
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
    // The GX's own services: probed and validated first, their values steer the rest.
    let mut found: Vec<FoundDevice> = Vec::new();
    for service in GX_SERVICES {
        if let Some(device) = probe(transport, &tally, ledger, GX_UNIT, service, &mut gx).await? {
            found.push(device);
        }
    }
    let system_values = validate(transport, &tally, ledger, &mut found, &mut gx, ceiling).await?;
    let evidence = Evidence {
        pv_inverter: nonzero(&system_values, "ac_pv_on_"),
        genset: nonzero(&system_values, "ac_genset_"),
        dc_pv: nonzero(&system_values, "dc_pv_"),
    };
    let gx_devices = found.len();
    let mut probed: HashSet<(u8, String)> =
        found.iter().map(|d| (d.unit, d.service.clone())).collect();
    let unsupported_types: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut wave = candidates(&mode, ledger, &evidence);
    // Service types the GX's register list does not have yet are not probed.
    wave.retain(|c| {
        ledger
            .service(&c.service)
            .is_some_and(|s| above_ceiling(s, ceiling).len() < s.registers.len())
    });
    let done = Arc::new(AtomicUsize::new(0));
    let mut total = wave.len();
    while !wave.is_empty() {
        for candidate in &wave {
            probed.insert((candidate.unit, candidate.service.clone()));
        }
        let (hits, absent_code) = probe_wave(
            transport,
            &tally,
            ledger,
            wave,
            &unsupported_types,
            &progress,
            (&done, total, found.len()),
        )
        .await?;
        gx.absent_exception = gx.absent_exception.or(absent_code);
        let mut next = Vec::new();
        if mode == ScanMode::Quick {
            for hit in &hits {
                for step in 1..=CLUSTER_STEP {
                    let unit = hit.unit.saturating_add(step);
                    if unit <= CLUSTER_LIMIT && !probed.contains(&(unit, hit.service.clone())) {
                        next.push(Candidate {
                            score: 0,
                            unit,
                            service: hit.service.clone(),
                        });
                        probed.insert((unit, hit.service.clone()));
                    }
                }
            }
        }
        found.extend(hits);
        total += next.len();
        wave = next;
    }
    let mut others = found.split_off(gx_devices);
    others.sort_by(|a, b| (a.unit, &a.service).cmp(&(b.unit, &b.service)));
    progress(ScanProgress {
        phase: "validating",
        done: 0,
        total: others.len(),
        found: gx_devices + others.len(),
    });
    validate(transport, &tally, ledger, &mut others, &mut gx, ceiling).await?;
    found.extend(others);
    progress(ScanProgress {
        phase: "done",
        done: found.len(),
        total: found.len(),
        found: found.len(),
    });
    Ok(ScanResult {
        version: SCAN_RESULT_VERSION,
        mode: mode.name().to_owned(),
        gx,
        devices: found,
        stats: ScanStats {
            probes: probed.len(),
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
    }
}

/// One probe; `Ok(None)` when nothing of that type is at the unit.
async fn probe(
    transport: &Transport,
    tally: &Tally,
    ledger: &Ledger,
    unit: u8,
    service_type: &str,
    gx: &mut GxIdentity,
) -> Result<Option<FoundDevice>, ScanError> {
    let Some(address) = ledger.service(service_type).and_then(probe_address) else {
        return Ok(None);
    };
    match tally.read(transport, unit, address, 1).await {
        BlockResult::Words(_) => Ok(Some(new_device(unit, service_type))),
        BlockResult::Exception(code @ (0x0A | 0x0B)) => {
            gx.absent_exception = Some(code);
            Ok(None)
        }
        BlockResult::Exception(_) => Ok(None),
        BlockResult::Failed(err) => Err(err.into()),
    }
}

/// Probes a wave of candidates concurrently (the transport bounds how many
/// are in flight); a type the firmware lacks (0x02) is not probed again.
async fn probe_wave(
    transport: &Transport,
    tally: &Arc<Tally>,
    ledger: &'static Ledger,
    wave: Vec<Candidate>,
    unsupported: &Arc<Mutex<HashSet<String>>>,
    progress: &Arc<dyn Fn(ScanProgress) + Send + Sync>,
    (done, total, found_before): (&Arc<AtomicUsize>, usize, usize),
) -> Result<(Vec<FoundDevice>, Option<u8>), ScanError> {
    let found_now = Arc::new(AtomicUsize::new(found_before));
    let mut tasks = JoinSet::new();
    for candidate in wave {
        let (transport, tally, unsupported) = (
            transport.clone(),
            Arc::clone(tally),
            Arc::clone(unsupported),
        );
        let (progress, done, found_now) = (
            Arc::clone(progress),
            Arc::clone(done),
            Arc::clone(&found_now),
        );
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
    let mut hits = Vec::new();
    let mut absent_code = None;
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(Probe::Hit(device))) => hits.push(device),
            Ok(Ok(Probe::Absent(code))) => absent_code = Some(code),
            Ok(Err(err)) => failure = failure.or(Some(err)),
            _ => {}
        }
    }
    match failure {
        Some(err) => Err(err.into()),
        None => Ok((hits, absent_code)),
    }
}

/// What one probe learned.
enum Probe {
    Hit(FoundDevice),
    Absent(u8),
    Nothing,
}

/// A block narrowed to some of its placements.
fn sub_block(block: &Block, placements: &[Placement], slots: &crate::plan::Plan) -> Block {
    let first = placements.first().map_or(0, |p| p.offset);
    let end = placements
        .iter()
        .map(|p| p.offset + slots.slots[p.slot].register.register_type.words())
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

/// Reads every block of every device once. A block refused with 0x02 is split
/// in halves until the refused registers are known (they become
/// `unsupported`); identity registers fill in the devices. Returns the
/// decoded values by key of the first device (the GX's system service).
async fn validate(
    transport: &Transport,
    tally: &Tally,
    ledger: &Ledger,
    devices: &mut [FoundDevice],
    gx: &mut GxIdentity,
    ceiling: Option<Rank>,
) -> Result<BTreeMap<String, Value>, ScanError> {
    let snapshot: Vec<(u8, String)> = devices
        .iter()
        .map(|d| (d.unit, d.service.clone()))
        .collect();
    let mut first_values = BTreeMap::new();
    for (index, (unit, service_type)) in snapshot.into_iter().enumerate() {
        let Some(service) = ledger.service(&service_type) else {
            continue;
        };
        let mut unsupported = above_ceiling(service, ceiling);
        let plan = plan_all(&[PlanDevice {
            unit,
            service,
            unsupported: &unsupported,
        }]);
        let mut values: Vec<Option<Value>> = vec![None; plan.slots.len()];
        let mut queue: Vec<Block> = plan.blocks.clone();
        while let Some(block) = queue.pop() {
            match tally
                .read(transport, block.unit, block.start, block.quantity)
                .await
            {
                BlockResult::Words(words) => decode_block(&plan, &block, &words, &mut values),
                BlockResult::Exception(0x02) if block.placements.len() > 1 => {
                    let (left, right) = block.placements.split_at(block.placements.len() / 2);
                    queue.push(sub_block(&block, right, &plan));
                    queue.push(sub_block(&block, left, &plan));
                }
                BlockResult::Exception(0x02) => {
                    unsupported.extend(
                        block
                            .placements
                            .iter()
                            .map(|p| plan.slots[p.slot].register.key.clone()),
                    );
                }
                BlockResult::Exception(_) => {}
                BlockResult::Failed(err) => return Err(err.into()),
            }
        }
        let by_key: BTreeMap<String, Value> = plan
            .slots
            .iter()
            .zip(values)
            .filter_map(|(slot, value)| Some((slot.register.key.clone(), value?)))
            .collect();
        let by_path = |path: &str| {
            service
                .registers
                .iter()
                .find(|r| r.dbus_path.as_deref() == Some(path))
                .and_then(|r| by_key.get(&r.key))
        };
        let device = &mut devices[index];
        device.product_id = integer(by_path("/ProductId")).and_then(|v| u32::try_from(v).ok());
        device.name = text(by_path("/CustomName"))
            .or_else(|| text(by_path("/Settings/SystemSetup/SystemName")));
        device.serial = text(by_path("/Serial"));
        device.firmware = integer(by_path("/FirmwareVersion")).map(device_firmware);
        unsupported.sort();
        device.registers = service.registers.len() - unsupported.len();
        device.unsupported = unsupported;
        if service_type == "system" {
            gx.serial = device.serial.clone();
            if let (Some(Value::Int(version)), beta) = (
                by_key.get("gx_firmware_major_version"),
                by_key.get("gx_firmware_beta_release"),
            ) {
                let beta = match beta {
                    Some(Value::Int(b)) => *b,
                    _ => 0,
                };
                gx.firmware = Some(gx_firmware(
                    u16::try_from(*version).unwrap_or(0),
                    u16::try_from(beta).unwrap_or(0),
                ));
            }
        }
        if index == 0 {
            first_values = by_key;
        }
    }
    Ok(first_values)
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
        let list = candidates(&ScanMode::Quick, ledger, &Evidence::default());
        let unique: HashSet<_> = list.iter().map(|c| (c.unit, c.service.clone())).collect();
        assert_eq!(unique.len(), list.len());
        assert!(list.windows(2).all(|w| w[0].score >= w[1].score));
        assert_eq!(list[0].service, "vebus");
        assert!(list.len() < 200, "{} quick probes", list.len());
    }
}
