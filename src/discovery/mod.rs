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
//! probes just those. What an older server lacks (newer registers, the
//! system range's reserved words) is learnt up front with a read or two
//! ([`served`]); then each device's read plan is validated once: a block
//! the GX still refuses (0x02) is split until the registers it lacks are
//! known, so polling never sends a request that fails.

mod candidates;
mod evidence;
mod follow;
mod identify;
mod probe;
mod search;
mod served;
mod sweep;
mod validate;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::ledger::{Ledger, LedgerError};
use crate::mqtt::Discovery;
use crate::plan::PlanDevice;
use crate::poll::BlockResult;
use crate::transport::{Transport, TransportError};
use candidates::{
    candidates, nonzero, push, quick_candidates, vedirect_ports_for, Candidate, Evidence,
    GX_SERVICES, USB_PORT, VEBUS_PORTS,
};
use follow::{Follow, Seen};
use probe::{probe, probe_addresses, Refused};
use validate::validate;

pub use candidates::{listed_devices, GX_UNIT};
pub use identify::identify;
pub use search::{search, unexplained_after_poll, unexplained_services};
pub use sweep::{
    sweep, SweepResult, FIRST_PAUSE, LONGEST_PAUSE, MAX_UNANSWERED_IN_A_ROW, MIN_RATE, SWEEP_UNITS,
};
pub use validate::gx_firmware;

/// Version of the serialised scan result (stored in Home Assistant's config entry).
pub const SCAN_RESULT_VERSION: u32 = 1;

/// What to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanMode {
    /// Likely (unit, service) pairs only.
    Quick,
    /// Every unit 0-255 for every service type.
    Deep,
    /// Every service type at these units (unit 100, as the GX lists a device
    /// of instance 0, probes unit 0), plus the GX's own services at unit 100.
    Units(Vec<u8>),
    /// Exactly these (unit, service type) pairs, as the GX lists them (its
    /// MQTT service list): nothing else is probed.
    Exact(Vec<(u8, String)>),
}

impl ScanMode {
    fn name(&self) -> &'static str {
        match self {
            Self::Quick => "quick",
            Self::Deep => "deep",
            Self::Units(_) => "units",
            Self::Exact(_) => "mqtt",
        }
    }
}

/// The GX device itself.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(feature = "python", derive(pyo3::IntoPyObject))]
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
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundDevice {
    /// Unit ID that reaches it.
    pub unit: u8,
    /// Service type (`vebus`, `battery`, ...).
    pub service: String,
    /// Victron product id: the GX's MQTT `ProductId`, else the register of
    /// the few services that serve one.
    pub product_id: Option<u32>,
    /// Product name ("SmartSolar MPPT VE.Can 250/100"): the GX's MQTT
    /// `ProductName`, else the product table's name of `product_id`.
    #[serde(default)]
    pub product_name: Option<String>,
    /// The name the user gave the device (its custom name; the system name
    /// for the settings service), when set.
    pub name: Option<String>,
    /// Serial number, when the service has that register.
    pub serial: Option<String>,
    /// Firmware as the GX shows it ("v3.16", "v506" for VE.Bus), when the
    /// service has that register (or published it over MQTT).
    pub firmware: Option<String>,
    /// Registers of its service that the GX serves.
    pub registers: usize,
    /// Register keys the GX refused (0x02): absent from this firmware.
    pub unsupported: Vec<String>,
    /// Reserved blocks of the ledger the GX did not serve (older firmware).
    #[serde(default)]
    pub unserved: Vec<[u16; 2]>,
    /// AC phases the device has (its phase count, or the phases whose voltage
    /// reads non-zero); `None` for a device without per-phase values.
    #[serde(default)]
    pub phases: Option<u8>,
}

/// What a scan cost.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanStats {
    /// (unit, service) pairs probed.
    pub probes: usize,
    /// Requests sent.
    pub requests: u64,
    /// Requests the GX answered with an exception (each one an ERROR in its log).
    pub failed_requests: u64,
    /// Requests that got no reply (timeout, connection lost): a sweep skips
    /// the probe, a scan stops at the first.
    #[serde(default)]
    pub unanswered: u64,
    /// Wall time.
    pub duration_ms: f64,
}

/// The result of a scan; serialisable and versioned: store it as it is.
#[cfg_attr(test, derive(schemars::JsonSchema))]
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
    /// How the devices were found (the phases, why MQTT was not used): set
    /// on the result a client's scan returns; never read from a stored one.
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<Discovery>,
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
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(feature = "python", derive(pyo3::IntoPyObject))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanProgress {
    /// What the scan (or sweep) is doing (a [`ScanPhase`]'s name).
    #[cfg_attr(test, schemars(with = "ScanPhase"))]
    pub phase: &'static str,
    /// Steps done.
    pub done: usize,
    /// Steps known so far.
    pub total: usize,
    /// Devices found so far.
    pub found: usize,
}

/// What a scan or sweep is doing, as its progress reports it.
///
/// [`ScanProgress::phase`] is its name in lower case.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanPhase {
    /// Probing (unit, service) pairs.
    Probing,
    /// Reading what answered, to tell devices from echoes.
    Validating,
    /// A background sweep probing the units a scan leaves out.
    Sweeping,
    /// A sweep waiting for a GX that stopped answering.
    Waiting,
    /// Finished.
    Done,
}

impl ScanPhase {
    /// Its name, as progress reports it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Probing => "probing",
            Self::Validating => "validating",
            Self::Sweeping => "sweeping",
            Self::Waiting => "waiting",
            Self::Done => "done",
        }
    }
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

/// Counts the requests of one scan (and paces them, for a sweep).
#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    failed: AtomicU64,
    unanswered: AtomicU64,
    pace: Option<sweep::Pace>,
}

impl Tally {
    async fn read(
        &self,
        transport: &Transport,
        unit: u8,
        start: u16,
        quantity: u16,
    ) -> BlockResult {
        if let Some(pace) = &self.pace {
            pace.wait().await;
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let result = BlockResult::from_reply(transport.read(unit, start, quantity).await, quantity);
        match result {
            BlockResult::Exception(_) => self.failed.fetch_add(1, Ordering::Relaxed),
            BlockResult::Failed(_) => self.unanswered.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        result
    }
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
    // The GX's firmware first: it is also the connection test.
    let mut gx = GxIdentity {
        firmware: served::read_firmware(transport, &tally).await?,
        ..GxIdentity::default()
    };
    let serves_firmware = gx.firmware.is_some();
    // Which registers and reserved words the GX is too old for: left out
    // everywhere instead of failing one by one.
    let served = served::learn(transport, &tally, ledger, serves_firmware).await?;
    let known = |c: &Candidate| {
        ledger
            .service(&c.service)
            .is_some_and(|s| served.unsupported(s).len() < s.registers.len())
    };
    let mut scanner = Scanner {
        transport: transport.clone(),
        tally: Arc::clone(&tally),
        ledger,
        progress: Arc::clone(&progress),
        refused_probes: Arc::default(),
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
    if let ScanMode::Exact(listed) = &mode {
        first.retain(|c| listed.contains(&(c.unit, c.service.clone())));
    }
    if mode == ScanMode::Quick {
        let ports = VEBUS_PORTS.iter().copied().chain([USB_PORT]);
        push(&mut first, 100, ports, &["vebus"]);
    }
    first.retain(known);
    scanner.run_wave(first).await?;
    let (mut gx_devices, mut others): (Vec<_>, Vec<_>) = scanner
        .found
        .drain(..)
        .partition(|d| d.unit == GX_UNIT && GX_SERVICES.contains(&d.service.as_str()));
    gx_devices.sort_by_key(|d| GX_SERVICES.iter().position(|s| *s == d.service));
    scanner.settled = gx_devices.len();
    let gx_values = validate(transport, &tally, ledger, &mut gx_devices, &mut gx, served).await?;
    let system_values = gx_devices
        .iter()
        .zip(&gx_values)
        .find(|(d, _)| d.service == "system")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let evidence = Evidence {
        pv_inverter: nonzero(&system_values, "ac_pv_on_"),
        genset: nonzero(&system_values, "ac_genset_"),
        dc_pv: nonzero(&system_values, "dc_pv_"),
    };
    let vebus_units: Vec<u8> = others.iter().map(|d| d.unit).collect();
    let ports = vedirect_ports_for(&vebus_units);
    scanner.found.append(&mut others);
    let mut wave: Vec<Candidate> = match &mode {
        ScanMode::Quick => quick_candidates(&evidence, &ports),
        other => candidates(other, ledger),
    };
    let mut follow = Follow::new(ports);
    // Every device found is validated after the wave that found it, so that
    // its values can account for the system's (or not).
    let mut values: Vec<evidence::Values> = Vec::new();
    loop {
        wave.retain(known);
        if wave.is_empty() {
            break;
        }
        scanner.run_wave(wave).await?;
        let validated = values.len();
        progress(ScanProgress {
            phase: ScanPhase::Validating.name(),
            done: validated,
            total: scanner.found.len(),
            found: scanner.settled + scanner.found.len(),
        });
        values.extend(
            validate(
                transport,
                &tally,
                ledger,
                &mut scanner.found[validated..],
                &mut gx,
                served,
            )
            .await?,
        );
        wave = if mode == ScanMode::Quick {
            follow.next_wave(
                ledger,
                &Seen {
                    found: &scanner.found,
                    values: &values,
                    system: &system_values,
                    probed: &scanner.probed,
                    failed: tally.failed.load(Ordering::Relaxed),
                },
            )
        } else {
            Vec::new()
        };
    }
    gx.absent_exception = scanner.absent_code;
    let mut others = std::mem::take(&mut scanner.found);
    others.sort_by(|a, b| (a.unit, &a.service).cmp(&(b.unit, &b.service)));
    let mut devices = gx_devices;
    devices.extend(others);
    progress(ScanProgress {
        phase: ScanPhase::Done.name(),
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
            unanswered: tally.unanswered.load(Ordering::Relaxed),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        },
        discovery: None,
    })
}

impl FoundDevice {
    /// A device just found at `unit`, before validation fills in what it serves.
    pub fn new(unit: u8, service: &str) -> Self {
        Self {
            unit,
            service: service.to_owned(),
            product_id: None,
            product_name: None,
            name: None,
            serial: None,
            firmware: None,
            registers: 0,
            unsupported: Vec::new(),
            unserved: Vec::new(),
            phases: None,
        }
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
    refused_probes: Refused,
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
    /// many are in flight), skipping pairs already probed; a probe register
    /// the firmware lacks (0x02) is not read again.
    async fn run_wave(&mut self, wave: Vec<Candidate>) -> Result<(), ScanError> {
        let wave: Vec<Candidate> = wave
            .into_iter()
            .filter(|c| self.probed.insert((c.unit, c.service.clone())))
            .collect();
        self.total += wave.len();
        let found_now = Arc::new(AtomicUsize::new(self.settled + self.found.len()));
        let mut tasks = JoinSet::new();
        for candidate in wave {
            let (transport, tally, refused) = (
                self.transport.clone(),
                Arc::clone(&self.tally),
                Arc::clone(&self.refused_probes),
            );
            let (progress, done, found_now) = (
                Arc::clone(&self.progress),
                Arc::clone(&self.done),
                Arc::clone(&found_now),
            );
            let (ledger, total) = (self.ledger, self.total);
            tasks.spawn(async move {
                let (service, unit) = (&candidate.service, candidate.unit);
                let addresses = ledger.service(service).map(probe_addresses);
                let addresses = addresses.as_deref().unwrap_or_default();
                let outcome = probe(&transport, &tally, &refused, service, addresses, unit).await;
                let result = match outcome {
                    Some(BlockResult::Words(_)) => {
                        found_now.fetch_add(1, Ordering::Relaxed);
                        Probe::Hit(FoundDevice::new(unit, service))
                    }
                    Some(BlockResult::Exception(code)) => Probe::Absent(code),
                    Some(BlockResult::Failed(err)) => return Err(err),
                    None => Probe::Nothing,
                };
                progress(ScanProgress {
                    phase: ScanPhase::Probing.name(),
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

#[cfg(test)]
mod tests {
    use super::ScanPhase::{Done, Probing, Sweeping, Validating, Waiting};

    #[test]
    fn a_phase_is_reported_by_the_name_its_schema_gives() {
        for phase in [Probing, Validating, Sweeping, Waiting, Done] {
            // A new phase fails to compile here until it is listed above.
            match phase {
                Probing | Validating | Sweeping | Waiting | Done => {}
            }
            assert_eq!(serde_json::to_value(phase).ok(), Some(phase.name().into()));
        }
    }
}
