//! Older GX servers (register list 3.66 without reserved-gap filling, and a
//! GX older than list 3.66): every scan mode finds every device, keeps every
//! register the server serves, and polling afterwards sends no request the
//! GX refuses.

mod common;

use common::{expected, found};
use std::sync::Arc;

use victron_gx_modbus::codec::Value;
use victron_gx_modbus::discovery::{scan, ScanMode, ScanResult};
use victron_gx_modbus::ledger::embedded;
use victron_gx_modbus::mqtt::read_services;
use victron_gx_modbus::plan::plan_all;
use victron_gx_modbus::poll::Poller;
use victron_gx_modbus::sim::Simulator;
use victron_gx_modbus::transport::Transport;

const OLD: [&str; 2] = ["old-firmware", "pre-3.66"];

async fn modes(sim: &Simulator) -> Vec<ScanMode> {
    let list = read_services(&common::plaintext_mqtt(sim))
        .await
        .expect("service list");
    vec![
        ScanMode::Quick,
        ScanMode::Deep,
        ScanMode::Units(vec![245, 246, 247]),
        ScanMode::Exact(list.active()),
    ]
}

/// Polls a scan's devices through a full, a slow and two fast cycles;
/// returns the requests the GX refused and the polled values by (service, key).
async fn poll(t: &Transport, result: &ScanResult) -> (u64, Vec<(String, String, Value)>) {
    let ledger = embedded().expect("ledger");
    let devices = result.plan_devices(ledger);
    let mut poller = Poller::new(plan_all(&devices), devices.len(), 2);
    let mut failed = 0;
    for _ in 0..4 {
        failed += poller.poll(t).await.failed as u64;
    }
    let values = poller
        .plan()
        .slots
        .iter()
        .zip(poller.values())
        .filter_map(|(slot, value)| {
            let service = devices[slot.device].service.service_type().to_owned();
            Some((service, slot.register.key.clone(), value.clone()?))
        })
        .collect();
    (failed, values)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_after_every_scan_mode_refuses_nothing() {
    let mut problems = Vec::new();
    for name in OLD {
        let sim = common::start_with_mqtt(name, None).await;
        for mode in modes(&sim).await {
            let t = common::patient_transport(&sim);
            let label = format!("{name} {mode:?}");
            let result = scan(
                &t,
                embedded().expect("ledger"),
                mode.clone(),
                Arc::new(|_| {}),
            )
            .await
            .expect("scan");
            let units = matches!(mode, ScanMode::Units(_));
            let all = expected(&sim).await;
            let got = found(&result);
            if !units && got != all {
                problems.push(format!("{label}: found {got:?}, present {all:?}"));
            }
            let before = sim.stats().exceptions;
            let (failed, _) = poll(&t, &result).await;
            let refused = sim.stats().exceptions - before;
            if failed != 0 || refused != 0 {
                problems.push(format!(
                    "{label}: polling failed {failed}, GX refused {refused}"
                ));
            }
            t.close().await;
        }
        sim.stop().await;
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gx_without_834_keeps_the_registers_it_serves() {
    let sim = common::start_with_mqtt("pre-3.66", None).await;
    for mode in modes(&sim).await {
        let t = common::patient_transport(&sim);
        let result = scan(&t, embedded().expect("ledger"), mode, Arc::new(|_| {}))
            .await
            .expect("scan");
        let hub4 = result
            .devices
            .iter()
            .find(|d| d.service == "hub4")
            .expect("hub4 found");
        // 2716-2717 (revision 49) is served: found and polled.
        assert!(!hub4.unsupported.contains(&"overrides_setpoint".to_owned()));
        let battery = result
            .devices
            .iter()
            .find(|d| d.service == "battery")
            .expect("battery found");
        // Revision 50's 32-bit battery power (256) is not: left out up front.
        assert!(battery.unsupported.contains(&"dc_0_power".to_owned()));
        let (failed, values) = poll(&t, &result).await;
        assert_eq!(failed, 0);
        let setpoint = values
            .iter()
            .find(|(service, key, _)| service == "hub4" && key == "overrides_setpoint")
            .map(|(_, _, value)| value.clone());
        assert_eq!(setpoint, Some(Value::Int(-150)), "{:?}", result.mode);
        t.close().await;
    }
    sim.stop().await;
}
