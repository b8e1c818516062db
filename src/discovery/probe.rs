//! Presence probes and the register-list ceiling, for every firmware.
//!
//! A probe reads one register of a service at a unit: a reply means the
//! service is there, 0x0A/0x0B that it is not, and 0x02 that this firmware
//! lacks the register. So a probe uses the register each service has had
//! longest (by the ledger's first appearance), and one answered 0x02 is
//! retried at the next-oldest before the type is called absent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::ledger::{Register, Service};
use crate::poll::BlockResult;
use crate::sync::lock;
use crate::transport::Transport;

use super::Tally;

/// How many registers of a service a probe may try.
const PROBE_TRIES: usize = 2;

/// Per service type, how many of its probe registers the GX refused (0x02).
pub(super) type Refused = Arc<Mutex<HashMap<String, usize>>>;

/// Whether the official list retires a register (deprecated or unsupported):
/// newer firmware may drop it, so it cannot show presence.
fn retired(register: &Register) -> bool {
    [Some(&register.description), register.remarks.as_ref()]
        .into_iter()
        .flatten()
        .any(|text| {
            let text = text.to_ascii_lowercase();
            text.contains("deprecated") || text.contains("unsupported")
        })
}

/// The registers a probe of `service` reads, in order: the oldest first
/// (then the lowest address), leaving out INTERNAL and retired registers.
pub(super) fn probe_addresses(service: &Service) -> Vec<u16> {
    let mut registers: Vec<&Register> = service
        .registers
        .iter()
        .filter(|r| !r.internal && !retired(r))
        .collect();
    registers.sort_by_key(|r| (r.first_appearance(), r.address));
    registers
        .into_iter()
        .take(PROBE_TRIES)
        .map(|r| r.address)
        .collect()
}

/// Probes `unit` with the service's probe registers, skipping those the GX
/// already refused; `None` when it refuses all of them (the firmware lacks
/// the type).
pub(super) async fn probe(
    transport: &Transport,
    tally: &Tally,
    refused: &Refused,
    service: &str,
    addresses: &[u16],
    unit: u8,
) -> Option<BlockResult> {
    loop {
        let step = lock(refused).get(service).copied().unwrap_or(0);
        let address = *addresses.get(step)?;
        match tally.read(transport, unit, address, 1).await {
            BlockResult::Exception(0x02) => {
                let mut refused = lock(refused);
                let count = refused.entry(service.to_owned()).or_insert(0);
                *count = (*count).max(step + 1);
            }
            other => return Some(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{embedded, Ledger};

    fn ledger() -> &'static Ledger {
        embedded().expect("ledger")
    }

    fn service(name: &str) -> &'static Service {
        ledger().service(name).expect("service")
    }

    #[test]
    fn probes_use_registers_every_firmware_has() {
        // 256 (32-bit power) came in rev 50: the probe is the 16-bit 258.
        assert_eq!(probe_addresses(service("battery")), vec![258, 259]);
        for service in &ledger().services {
            let probes = probe_addresses(service);
            assert_eq!(probes.len(), PROBE_TRIES.min(service.registers.len()));
            for (index, address) in probes.into_iter().enumerate() {
                let register = service
                    .registers
                    .iter()
                    .find(|r| r.address == address)
                    .expect("probe register");
                if index == 0 {
                    assert_eq!(register.added_in, None, "{}", service.service);
                }
                assert!(!retired(register) && !register.internal);
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_probe_refused_with_0x02_is_retried_at_the_next_register() {
        use crate::sim::{Scenario, SimConfig, Simulator};
        use crate::transport::TransportConfig;
        use std::sync::atomic::Ordering;
        use std::time::Duration;

        let scenario = Scenario::bundled("old-firmware").expect("scenario");
        let mut config = SimConfig::new(scenario);
        config.service_time = Duration::ZERO;
        let sim = Simulator::start(config).await.expect("simulator");
        let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
        config.request_timeout = Duration::from_millis(500);
        let transport = Transport::new(config);
        let (tally, refused) = (Tally::default(), Refused::default());
        // 327 came after list 3.66: this GX answers 0x02, then 258 finds the BMV.
        let found = probe(&transport, &tally, &refused, "battery", &[327, 258], 247).await;
        assert!(matches!(found, Some(BlockResult::Words(_))));
        assert_eq!(lock(&refused).get("battery"), Some(&1));
        // Later probes of the type skip the refused register; 0x0B is "absent".
        let absent = probe(&transport, &tally, &refused, "battery", &[327, 258], 246).await;
        assert!(matches!(absent, Some(BlockResult::Exception(0x0B))));
        assert_eq!(tally.requests.load(Ordering::Relaxed), 3);
        // Every register refused: the firmware lacks the type.
        let none = probe(&transport, &tally, &refused, "vebus", &[130, 232], 246).await;
        assert!(none.is_none());
        assert_eq!(tally.failed.load(Ordering::Relaxed), 4);
        transport.close().await;
        sim.stop().await;
    }
}
