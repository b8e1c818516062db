//! A targeted search for the devices of one service type, started only by
//! evidence: the system's values claim power (DC PV, AC-coupled PV, VE.Bus)
//! that the known devices of that type do not account for, typically a
//! device plugged in after the scan and the background sweep. The units next
//! to the known devices of the type go first (a GX numbers devices of a kind
//! consecutively), then where the type usually sits; one request at a time at
//! a gentle rate, until a device is found or a budget of failed requests is
//! spent. Nothing here probes blind: without a claim there is no search.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::candidates::{neighbours, search_units, vedirect_ports_for, VEBUS_PORTS};
use super::evidence::{accountable, unexplained, Claim, Values};
use super::sweep::{paced_start, SweepResult};
use super::validate::validate;
use super::{
    probe, probe_addresses, FoundDevice, Refused, ScanError, ScanResult, ScanStats, GX_UNIT,
};
use crate::codec::Value;
use crate::ledger::Ledger;
use crate::poll::{BlockResult, Poller};
use crate::transport::Transport;

/// The claims a search follows: each names one service type that must exist.
/// (DC system power and AC consumption on the input are reported without a
/// device of their own, so they start no search.)
const SEARCHED: [Claim; 3] = [Claim::DcPv, Claim::AcPv, Claim::Vebus];

/// The service types whose system claims the devices' polled values leave
/// unexplained; `devices` pairs each device's service type with its values.
/// A claim whose known devices' contributions are not read is left out.
pub fn unexplained_services(
    ledger: &Ledger,
    system: &BTreeMap<String, Value>,
    devices: &[(&str, &BTreeMap<String, Value>)],
) -> Vec<&'static str> {
    let system: &Values = system;
    SEARCHED
        .into_iter()
        .filter(|claim| {
            accountable(*claim, ledger, devices) && unexplained(*claim, ledger, system, devices)
        })
        .map(Claim::service)
        .collect()
}

/// [`unexplained_services`] of the last values a poller read of `result`'s
/// devices (empty when it has no system service).
pub fn unexplained_after_poll(
    ledger: &Ledger,
    result: &ScanResult,
    poller: &Poller,
) -> Vec<&'static str> {
    let devices = result.plan_devices(ledger);
    let mut values: Vec<BTreeMap<String, Value>> = vec![BTreeMap::new(); devices.len()];
    for (slot, value) in poller.plan().slots.iter().zip(poller.values()) {
        if let (Some(value), Some(device)) = (value, values.get_mut(slot.device)) {
            device.insert(slot.register.key.clone(), value.clone());
        }
    }
    let kinds: Vec<&str> = devices.iter().map(|d| d.service.service_type()).collect();
    let Some(system) = kinds.iter().position(|kind| *kind == "system") else {
        return Vec::new();
    };
    let found: Vec<(&str, &BTreeMap<String, Value>)> = kinds
        .iter()
        .zip(&values)
        .filter(|(kind, _)| **kind != "system")
        .map(|(kind, values)| (*kind, values))
        .collect();
    unexplained_services(ledger, &values[system], &found)
}

/// The units to probe for `service`, most likely first: next to the known
/// devices of that type, then its usual places; known pairs left out.
fn search_order(base: &ScanResult, service: &str) -> Vec<u8> {
    let known: HashSet<(u8, &str)> = base
        .devices
        .iter()
        .map(|d| (d.unit, d.service.as_str()))
        .collect();
    let vebus: Vec<u8> = base
        .devices
        .iter()
        .filter(|d| d.service == "vebus" && VEBUS_PORTS.contains(&d.unit))
        .map(|d| d.unit)
        .collect();
    let mut order: Vec<u8> = base
        .devices
        .iter()
        .filter(|d| d.service == service)
        .flat_map(|d| neighbours(d.unit))
        .collect();
    order.extend(search_units(service, &vedirect_ports_for(&vebus)));
    let mut seen = HashSet::new();
    order.retain(|&unit| unit != GX_UNIT && !known.contains(&(unit, service)) && seen.insert(unit));
    order
}

/// Searches for one device of `service` at most `rate` requests per second,
/// sending at most `failed_budget` requests the GX refuses; validates what
/// it finds exactly as a scan does. A GX that stops answering ends the
/// search with the transport's error (evidence starts another later).
pub async fn search(
    transport: &Transport,
    ledger: &'static Ledger,
    base: &ScanResult,
    service: &str,
    rate: f64,
    failed_budget: u64,
) -> Result<SweepResult, ScanError> {
    let started = Instant::now();
    let (tally, served) = paced_start(transport, ledger, rate).await?;
    let addresses = ledger
        .service(service)
        .filter(|s| served.unsupported(s).len() < s.registers.len())
        .map(probe_addresses)
        .unwrap_or_default();
    let refused = Refused::default();
    let mut found = Vec::new();
    let mut probes = 0;
    for unit in search_order(base, service) {
        if addresses.is_empty() || tally.failed.load(Ordering::Relaxed) >= failed_budget {
            break;
        }
        probes += 1;
        match probe(transport, &tally, &refused, service, &addresses, unit).await {
            Some(BlockResult::Words(_)) => {
                found.push(FoundDevice::new(unit, service));
                break;
            }
            Some(BlockResult::Failed(err)) => return Err(err.into()),
            _ => {}
        }
    }
    let mut gx = base.gx.clone();
    validate(transport, &tally, ledger, &mut found, &mut gx, served).await?;
    let mut result = base.clone();
    result.gx = gx;
    result.devices.extend(found.iter().cloned());
    Ok(SweepResult {
        result,
        found,
        stats: ScanStats {
            probes,
            requests: tally.requests.load(Ordering::Relaxed),
            failed_requests: tally.failed.load(Ordering::Relaxed),
            unanswered: tally.unanswered.load(Ordering::Relaxed),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        },
    })
}
