//! The quick scan's later waves: follow the evidence. Each wave follows the
//! clusters of the devices just found, chains across meter-like types on
//! units 20-63, sweeps those units for tanks and temperature sensors not seen
//! yet (within a budget of failed requests), and last keeps searching where a
//! system value is not yet accounted for.

use std::collections::HashSet;

use super::candidates::{neighbours, search_units, Candidate, SWEEP_TYPES, SWEEP_UNITS};
use super::evidence::{unexplained, Claim, Values};
use super::FoundDevice;
use crate::ledger::Ledger;

/// Units a claim search adds per wave.
const SEARCH_BATCH: usize = 8;
/// Units the sweep adds per wave.
const SWEEP_STEP: u8 = 6;
/// The sweep adds no probes once the scan has this many failed requests.
pub(super) const SWEEP_BUDGET: u64 = 330;
/// Types swept blind: nothing in the system values tells of them.
const BLIND_TYPES: &[&str] = &["tank", "temperature"];

/// State of the evidence-following between waves.
pub(super) struct Follow {
    ports: Vec<u8>,
    followed: HashSet<(u8, String)>,
    chained: HashSet<u8>,
    sweep_next: u8,
}

/// What the next wave is computed from.
pub(super) struct Seen<'a> {
    /// Devices found so far (validated ones have values).
    pub found: &'a [FoundDevice],
    /// Values of `found[..values.len()]`.
    pub values: &'a [Values],
    /// The system's values.
    pub system: &'a Values,
    /// Pairs already probed.
    pub probed: &'a HashSet<(u8, String)>,
    /// Failed requests so far.
    pub failed: u64,
}

fn candidate(unit: u8, service: &str) -> Candidate {
    Candidate {
        score: 0,
        unit,
        service: service.to_owned(),
    }
}

impl Follow {
    /// Follows the evidence of a GX whose VE.Direct ports are `ports`.
    pub fn new(ports: Vec<u8>) -> Self {
        Self {
            ports,
            followed: HashSet::new(),
            chained: HashSet::new(),
            sweep_next: *SWEEP_UNITS.start(),
        }
    }

    /// The next wave (empty: the scan is done).
    pub fn next_wave(&mut self, ledger: &Ledger, seen: &Seen<'_>) -> Vec<Candidate> {
        let mut wave = Vec::new();
        let fresh = |wave: &Vec<Candidate>, unit: u8, service: &str| {
            !seen.probed.contains(&(unit, service.to_owned()))
                && !wave.iter().any(|c| c.unit == unit && c.service == service)
        };
        // Clusters: the neighbours of every new hit, same type.
        for device in seen.found {
            if self.followed.insert((device.unit, device.service.clone())) {
                for unit in neighbours(device.unit) {
                    if fresh(&wave, unit, &device.service) {
                        wave.push(candidate(unit, &device.service));
                    }
                }
            }
        }
        self.chain(seen, &mut wave);
        self.sweep(seen, &mut wave);
        if !wave.is_empty() {
            return wave;
        }
        // Claims the found devices do not account for yet: search on once
        // nothing else is left to probe.
        let pairs: Vec<(&str, &Values)> = seen
            .found
            .iter()
            .zip(seen.values)
            .map(|(d, v)| (d.service.as_str(), v))
            .collect();
        for claim in Claim::ALL {
            let service = claim.service();
            if wave.iter().any(|c| c.service == service)
                || !unexplained(claim, ledger, seen.system, &pairs)
            {
                continue;
            }
            let next: Vec<u8> = search_units(service, &self.ports)
                .into_iter()
                .filter(|&u| fresh(&wave, u, service))
                .take(SEARCH_BATCH)
                .collect();
            wave.extend(next.into_iter().map(|u| candidate(u, service)));
        }
        wave
    }

    /// Chains across types on units 20-63: a hit at unit n makes n+1..n+3
    /// likely for every meter-like type not found yet (a GX numbers its
    /// meters and sensors from a few common starts).
    fn chain(&mut self, seen: &Seen<'_>, wave: &mut Vec<Candidate>) {
        let missing = missing(seen, SWEEP_TYPES);
        let hits: Vec<u8> = seen
            .found
            .iter()
            .filter(|d| SWEEP_UNITS.contains(&d.unit) && SWEEP_TYPES.contains(&d.service.as_str()))
            .map(|d| d.unit)
            .collect();
        for unit in hits {
            if !self.chained.insert(unit) {
                continue;
            }
            for next in unit.saturating_add(1)..=unit.saturating_add(3) {
                if !SWEEP_UNITS.contains(&next) {
                    continue;
                }
                for service in &missing {
                    push_fresh(seen, wave, next, service);
                }
            }
        }
    }

    /// Sweeps units 20-63, a few at a time, for the GX's tank and
    /// temperature inputs not found yet (no system value tells of them).
    fn sweep(&mut self, seen: &Seen<'_>, wave: &mut Vec<Candidate>) {
        let missing = missing(seen, BLIND_TYPES);
        let mut allowance = SWEEP_BUDGET.saturating_sub(seen.failed);
        let before = wave.len();
        while allowance > 0 && SWEEP_UNITS.contains(&self.sweep_next) && wave.len() == before {
            let end = self
                .sweep_next
                .saturating_add(SWEEP_STEP - 1)
                .min(*SWEEP_UNITS.end());
            for unit in self.sweep_next..=end {
                for service in &missing {
                    if allowance > 0 && push_fresh(seen, wave, unit, service) {
                        allowance -= 1;
                    }
                }
            }
            self.sweep_next = end.saturating_add(1);
        }
    }
}

/// Types of `types` not found yet.
fn missing<'a>(seen: &Seen<'_>, types: &[&'a str]) -> Vec<&'a str> {
    types
        .iter()
        .copied()
        .filter(|t| !seen.found.iter().any(|d| d.service == *t))
        .collect()
}

/// Adds a pair not probed yet and not in the wave; true if added.
fn push_fresh(seen: &Seen<'_>, wave: &mut Vec<Candidate>, unit: u8, service: &str) -> bool {
    let fresh = !seen.probed.contains(&(unit, service.to_owned()))
        && !wave.iter().any(|c| c.unit == unit && c.service == service);
    if fresh {
        wave.push(candidate(unit, service));
    }
    fresh
}
