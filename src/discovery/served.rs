//! What an older GX's Modbus server does not serve, learnt up front with
//! at most one failed request per unknown, so that validation plans around
//! it instead of splitting refused blocks one by one, and polling never
//! sends a request that fails.
//!
//! Facts relied on (dbus-modbustcp's history and the official list's
//! Document versions sheet): the server defined the system range's former
//! gaps as reserved words (0xFFFF) in v1.0.95 (847-867; list rev 53 "adds
//! reserved ranges to the system range"), and only afterwards the newest
//! list's registers (2720 in v1.0.96). So one read of a plugged gap tells
//! whether the system's reserved blocks may be spanned, and when they may
//! not, the GX is older than the newest list too. A GX without 834 (the
//! firmware registers) is older than every list that has them: newer lists
//! are left out, and the revisions its own list dates are found by reading
//! one register of each, oldest first, up to the first one refused.

use std::collections::{BTreeMap, BTreeSet};

use crate::ledger::{list_rank, Appearance, Ledger, Register, Service};
use crate::poll::BlockResult;
use crate::transport::Transport;

use super::candidates::GX_SERVICES;
use super::validate::gx_firmware;
use super::{ScanError, Tally, GX_UNIT};

/// The newest first appearance a GX serves.
pub(super) type Ceiling = Appearance;

/// Address of the GX firmware register (unit 100).
pub(super) const FIRMWARE_ADDRESS: u16 = 834;

/// Keys of the GX firmware registers (834 read as hex, 835 the beta number).
pub(super) const FIRMWARE_KEYS: [&str; 2] =
    ["gx_firmware_major_version", "gx_firmware_beta_release"];

/// A word of the system range that was a gap (0x02) before dbus-modbustcp
/// v1.0.95 and reads 0xFFFF since.
pub(super) const GAP_PROBE: u16 = 847;

/// The register list that brought the system range's reserved blocks.
const GAPS_LIST: &str = "rev53";

/// What the GX's server serves of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Served {
    /// Newest first appearance served (`None`: every register).
    pub ceiling: Option<Ceiling>,
    /// Whether the system service's reserved blocks read 0xFFFF (else 0x02).
    pub system_gaps: bool,
    /// Whether the GX firmware registers 834-835 are served.
    pub firmware: bool,
}

impl Served {
    /// A current GX: everything.
    pub(super) const ALL: Self = Self {
        ceiling: None,
        system_gaps: true,
        firmware: true,
    };

    /// Keys of a service's registers this GX does not serve.
    pub(super) fn unsupported(&self, service: &Service) -> Vec<String> {
        let firmware = |r: &Register| {
            !self.firmware
                && service.service_type() == "system"
                && FIRMWARE_KEYS.contains(&r.key.as_str())
        };
        service
            .registers
            .iter()
            .filter(|r| self.ceiling.is_some_and(|c| r.first_appearance() > c) || firmware(r))
            .map(|r| r.key.clone())
            .collect()
    }

    /// Reserved blocks of a service this GX does not serve.
    pub(super) fn unserved(&self, service: &Service) -> Vec<[u16; 2]> {
        if self.system_gaps || service.service_type() != "system" {
            Vec::new()
        } else {
            service.reserved.clone()
        }
    }
}

/// The newest first appearance of the lists before `list`, whole.
fn before_list(ledger: &Ledger, list: (u8, u32)) -> Option<Ceiling> {
    let ranks: BTreeSet<(u8, u32)> = ledger
        .services
        .iter()
        .flat_map(|s| &s.registers)
        .map(|r| list_rank(&r.since))
        .collect();
    let previous = *ranks.range(..list).next_back()?;
    Some((previous, u32::MAX))
}

/// The settings register of the newest list with the lowest address, and
/// the ceiling of a GX that lacks it; settings are always at unit 100.
fn newest_list_probe(ledger: &Ledger) -> Option<(u16, Ceiling)> {
    let newest = ledger
        .services
        .iter()
        .flat_map(|s| &s.registers)
        .map(|r| list_rank(&r.since))
        .max()?;
    let address = ledger
        .service("settings")?
        .registers
        .iter()
        .filter(|r| list_rank(&r.since) == newest)
        .map(|r| r.address)
        .min()?;
    Some((address, before_list(ledger, newest)?))
}

/// One register per revision the Document versions sheet dates within
/// `list`, oldest revision first: a register of the GX's own services
/// (which answer at unit 100) where the revision has one.
fn revision_probes(ledger: &Ledger, list: (u8, u32)) -> Vec<(u32, u16)> {
    let mut best: BTreeMap<u32, (bool, u16)> = BTreeMap::new();
    for service in &ledger.services {
        let own = GX_SERVICES.contains(&service.service_type());
        for register in &service.registers {
            let Some(revision) = register.added_in else {
                continue;
            };
            if list_rank(&register.since) != list {
                continue;
            }
            let candidate = (!own, register.address);
            let slot = best.entry(revision).or_insert(candidate);
            *slot = (*slot).min(candidate);
        }
    }
    best.into_iter()
        .map(|(revision, (_, address))| (revision, address))
        .collect()
}

/// Reads the GX firmware (834-835, e.g. `v3.60`): `None` when the GX refuses
/// them (0x02: older than every list that has them); another exception means
/// unit 100 is no GX.
pub(super) async fn read_firmware(
    transport: &Transport,
    tally: &Tally,
) -> Result<Option<String>, ScanError> {
    match tally.read(transport, GX_UNIT, FIRMWARE_ADDRESS, 2).await {
        BlockResult::Words(words) => Ok(Some(gx_firmware(words[0], words[1]))),
        BlockResult::Exception(0x02) => Ok(None),
        BlockResult::Exception(code) => Err(ScanError::NotAGx(format!(
            "unit 100 answered exception {code:#04x}"
        ))),
        BlockResult::Failed(err) => Err(err.into()),
    }
}

/// Reads one word at unit 100: whether its address is defined (a reply, or
/// 0x0A/0x0B: defined for a service not at unit 100) or not (0x02).
async fn defined(transport: &Transport, tally: &Tally, address: u16) -> Result<bool, ScanError> {
    match tally.read(transport, GX_UNIT, address, 1).await {
        BlockResult::Exception(0x02) => Ok(false),
        BlockResult::Failed(err) => Err(err.into()),
        _ => Ok(true),
    }
}

/// What this GX serves, from whether it serves 834 and a few reads: for a
/// GX with 834, the plugged gap, then (if served) the newest list; for one
/// without, its list's dated revisions oldest first, up to the first refused.
pub(super) async fn learn(
    transport: &Transport,
    tally: &Tally,
    ledger: &Ledger,
    serves_firmware: bool,
) -> Result<Served, ScanError> {
    if !serves_firmware {
        let list = ledger
            .service("system")
            .and_then(|s| s.registers.iter().find(|r| r.address == FIRMWARE_ADDRESS))
            .map(|r| list_rank(&r.since));
        let Some(list) = list else {
            return Ok(Served::ALL);
        };
        let mut revision = 0;
        for (dated, address) in revision_probes(ledger, list) {
            if !defined(transport, tally, address).await? {
                break;
            }
            revision = dated;
        }
        return Ok(Served {
            ceiling: Some((list, revision)),
            system_gaps: false,
            firmware: false,
        });
    }
    if !defined(transport, tally, GAP_PROBE).await? {
        return Ok(Served {
            ceiling: before_list(ledger, list_rank(GAPS_LIST)),
            system_gaps: false,
            firmware: true,
        });
    }
    let Some((address, ceiling)) = newest_list_probe(ledger) else {
        return Ok(Served::ALL);
    };
    Ok(Served {
        ceiling: (!defined(transport, tally, address).await?).then_some(ceiling),
        ..Served::ALL
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::embedded;
    use crate::sim::{Scenario, SimConfig, Simulator};
    use crate::transport::TransportConfig;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    fn ledger() -> &'static Ledger {
        embedded().expect("ledger")
    }

    fn service(name: &str) -> &'static Service {
        ledger().service(name).expect("service")
    }

    #[test]
    fn the_gap_probe_is_a_reserved_word_of_the_system_range() {
        let system = service("system");
        assert!(system
            .reserved
            .iter()
            .any(|b| (b[0]..=b[1]).contains(&GAP_PROBE)));
        assert!(system.registers.iter().all(|r| !r.span().contains(&847)));
        let old = Served {
            ceiling: before_list(ledger(), list_rank(GAPS_LIST)),
            system_gaps: false,
            firmware: true,
        };
        assert_eq!(old.unserved(system), system.reserved);
        assert!(old.unserved(service("vebus")).is_empty());
        assert!(Served::ALL.unserved(system).is_empty());
        assert!(Served::ALL.unsupported(system).is_empty());
        let settings = old.unsupported(service("settings"));
        assert!(settings.contains(&"settings_cgwacs_max_discharge_power".to_owned()));
        assert!(!old
            .unsupported(system)
            .contains(&"gx_firmware_major_version".to_owned()));
    }

    #[test]
    fn a_gx_without_834_loses_only_what_is_newer() {
        let list = list_rank("3.66");
        assert_eq!(
            revision_probes(ledger(), list)
                .iter()
                .map(|p| p.0)
                .collect::<Vec<_>>(),
            vec![49, 50, 51]
        );
        // Revision 49's probe is the hub4 setpoint at unit 100.
        assert_eq!(revision_probes(ledger(), list)[0], (49, 2716));
        let pre = Served {
            ceiling: Some((list, 49)),
            system_gaps: false,
            firmware: false,
        };
        let hub4 = pre.unsupported(service("hub4"));
        assert!(!hub4.contains(&"overrides_setpoint".to_owned()), "{hub4:?}");
        let battery = pre.unsupported(service("battery"));
        for key in ["dc_0_power", "alarms_bms_cable"] {
            assert!(battery.contains(&key.to_owned()), "{key}");
        }
        assert!(!battery.contains(&"dc_0_power_258".to_owned()));
        let system = pre.unsupported(service("system"));
        assert!(system.contains(&"gx_firmware_major_version".to_owned()));
    }

    async fn learn_on(scenario: Scenario) -> (Served, u64, u64) {
        let mut config = SimConfig::new(scenario);
        config.service_time = Duration::ZERO;
        let sim = Simulator::start(config).await.expect("simulator");
        let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
        config.request_timeout = Duration::from_millis(500);
        let transport = Transport::new(config);
        let tally = Tally::default();
        let firmware = !matches!(
            tally.read(&transport, GX_UNIT, FIRMWARE_ADDRESS, 2).await,
            BlockResult::Exception(0x02)
        );
        let served = learn(&transport, &tally, ledger(), firmware)
            .await
            .expect("learn");
        transport.close().await;
        sim.stop().await;
        let count = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
        (served, count(&tally.requests), count(&tally.failed))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gap_serving_is_learnt_with_one_read() {
        let bundled = |name: &str| Scenario::bundled(name).expect("scenario");
        // A current GX: the plugged gap and the newest list, both served.
        let (served, requests, failed) = learn_on(bundled("minimal")).await;
        assert_eq!((served, requests, failed), (Served::ALL, 3, 0));
        // Older than v1.0.95: the gap read fails, and nothing more is read.
        let (served, requests, failed) = learn_on(bundled("old-firmware")).await;
        assert!(!served.system_gaps && served.firmware);
        assert_eq!(served.ceiling, before_list(ledger(), list_rank(GAPS_LIST)));
        assert_eq!((requests, failed), (2, 1));
        // Gaps served on an older list: the newest list is read too.
        let mut v1095 = bundled("old-firmware");
        v1095.gx.system_gaps_reserved = true;
        let (served, requests, _) = learn_on(v1095).await;
        assert!(served.system_gaps && served.firmware);
        assert_eq!(requests, 3);
        // No 834: revision 49 served (2716), 50 refused.
        let (served, requests, failed) = learn_on(bundled("pre-3.66")).await;
        assert!(!served.system_gaps && !served.firmware);
        assert_eq!(served.ceiling, Some((list_rank("3.66"), 49)));
        assert_eq!((requests, failed), (3, 2));
    }
}
