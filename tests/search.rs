//! A device plugged in after the scan: the system's values claim power the
//! known devices do not account for, and a search of that type alone finds it
//! next to its kin with few refused requests; without a claim, nothing.

// Uses only `common::start`.
#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use victron_gx_modbus::codec::Value;
use victron_gx_modbus::discovery::{scan, search, unexplained_services, ScanMode, ScanResult};
use victron_gx_modbus::ledger::{embedded, Ledger};
use victron_gx_modbus::plan::plan_all;
use victron_gx_modbus::poll::Poller;
use victron_gx_modbus::sim::Simulator;
use victron_gx_modbus::transport::{Transport, TransportConfig};

fn transport(sim: &Simulator) -> Transport {
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    config.max_rate = 0.0;
    config.request_timeout = Duration::from_secs(3);
    Transport::new(config)
}

/// What the system's values claim beyond the known devices, after one poll of every register.
async fn claims(t: &Transport, ledger: &Ledger, result: &ScanResult) -> Vec<&'static str> {
    let devices = result.plan_devices(ledger);
    let mut poller = Poller::new(plan_all(&devices), devices.len(), 1);
    poller.poll(t).await;
    let mut values: Vec<BTreeMap<String, Value>> = vec![BTreeMap::new(); devices.len()];
    for (slot, value) in poller.plan().slots.iter().zip(poller.values()) {
        if let Some(value) = value {
            values[slot.device].insert(slot.register.key.clone(), value.clone());
        }
    }
    let kinds: Vec<&str> = devices.iter().map(|d| d.service.service_type()).collect();
    let system = kinds.iter().position(|k| *k == "system").expect("system");
    let found: Vec<(&str, &BTreeMap<String, Value>)> = kinds
        .iter()
        .zip(&values)
        .filter(|(kind, _)| **kind != "system")
        .map(|(kind, v)| (*kind, v))
        .collect();
    unexplained_services(ledger, &values[system], &found)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charger_plugged_in_later_is_claimed_and_found_next_to_its_kin() {
    let ledger = embedded().expect("ledger");
    let sim = common::start("three-phase").await;
    let t = transport(&sim);
    sim.set_present("mppt_garage", false).await.expect("unplug");
    let before = scan(&t, ledger, ScanMode::Quick, Arc::new(|_| {}))
        .await
        .expect("scan");
    assert!(!before
        .devices
        .iter()
        .any(|d| d.unit == 3 && d.service == "solarcharger"));
    assert_eq!(
        claims(&t, ledger, &before).await,
        Vec::<&str>::new(),
        "all accounted for"
    );

    sim.set_present("mppt_garage", true).await.expect("plug in");
    assert_eq!(claims(&t, ledger, &before).await, vec!["solarcharger"]);
    sim.reset_stats();
    let outcome = search(&t, ledger, &before, "solarcharger", f64::INFINITY, 40)
        .await
        .expect("search");
    let found: Vec<(u8, &str)> = outcome
        .found
        .iter()
        .map(|d| (d.unit, d.service.as_str()))
        .collect();
    assert_eq!(found, vec![(3, "solarcharger")]);
    let stats = sim.stats();
    assert!(
        stats.exceptions < 50,
        "{} refused requests",
        stats.exceptions
    );
    assert_eq!(outcome.stats.failed_requests, stats.exceptions);
    assert!(outcome
        .result
        .devices
        .iter()
        .any(|d| d.unit == 3 && d.service == "solarcharger"));
    assert_eq!(
        claims(&t, ledger, &outcome.result).await,
        Vec::<&str>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_keeps_to_its_budget_of_refused_requests() {
    let ledger = embedded().expect("ledger");
    let sim = common::start("three-phase").await;
    let t = transport(&sim);
    let before = scan(&t, ledger, ScanMode::Quick, Arc::new(|_| {}))
        .await
        .expect("scan");
    sim.reset_stats();
    // No PV inverter other than the known one exists: the search spends its budget and ends.
    let outcome = search(&t, ledger, &before, "pvinverter", f64::INFINITY, 12)
        .await
        .expect("search");
    assert!(outcome.found.is_empty());
    assert_eq!(outcome.stats.failed_requests, 12);
    assert_eq!(sim.stats().exceptions, 12);
    assert_eq!(outcome.result.devices, before.devices);
}
