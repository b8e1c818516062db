//! The planner reads every kind of poll cycle with the fewest requests the GX
//! allows, for every register and for the default-enabled ones, on every
//! bundled scenario: checked against an exhaustive lower bound and against
//! the requests the simulator actually receives.

use std::sync::Arc;
use std::time::Duration;

use victron_gx_modbus::discovery::{scan, ScanMode};
use victron_gx_modbus::ledger::{embedded, Register};
use victron_gx_modbus::plan::{cycle_lower_bound, plan, Cycle, PlanDevice};
use victron_gx_modbus::poll::Poller;
use victron_gx_modbus::sim::{Scenario, SimConfig, Simulator, BUNDLED};
use victron_gx_modbus::transport::{Transport, TransportConfig};

type Include = fn(&PlanDevice<'_>, &Register) -> bool;

const SELECTIONS: [(&str, Include); 2] = [
    ("every register", |_, _| true),
    ("default-enabled", |_, r| r.ha.enabled_by_default),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cycle_costs_the_fewest_requests_possible() {
    let ledger = embedded().expect("ledger");
    for (name, _) in BUNDLED {
        let mut config = SimConfig::new(Scenario::bundled(name).expect("scenario"));
        config.service_time = Duration::ZERO;
        let sim = Simulator::start(config).await.expect("simulator");
        let mut units: Vec<u8> = sim
            .devices()
            .await
            .expect("devices")
            .iter()
            .filter_map(|d| d.unit)
            .collect();
        units.sort_unstable();
        units.dedup();
        let mut transport = TransportConfig::new("127.0.0.1", sim.addr().port());
        transport.max_rate = 0.0;
        let t = Transport::new(transport);
        let result = scan(&t, ledger, ScanMode::Units(units), Arc::new(|_| {}))
            .await
            .expect("scan");
        let devices = result.plan_devices(ledger);
        for (selection, include) in SELECTIONS {
            let planned = plan(&devices, &include);
            for cycle in [Cycle::Fast, Cycle::Slow, Cycle::Full] {
                let bound = cycle_lower_bound(&devices, &include, cycle);
                assert_eq!(
                    planned.requests(cycle),
                    bound,
                    "{name}, {selection}, {cycle:?}: the plan is not minimal"
                );
            }
            // What the GX receives is what was planned, with no exception.
            let slow_every = 3;
            let mut poller = Poller::new(planned.clone(), devices.len(), slow_every);
            sim.reset_stats();
            let mut expected = 0;
            for poll in 0..6_u64 {
                let cycle = match poll {
                    0 => Cycle::Full,
                    p if p % slow_every == 0 => Cycle::Slow,
                    _ => Cycle::Fast,
                };
                expected += planned.requests(cycle);
                let report = poller.poll(&t).await;
                assert_eq!(report.failed, 0, "{name}, {selection}");
            }
            let stats = sim.stats();
            assert_eq!(stats.requests, expected as u64, "{name}, {selection}");
            assert_eq!(stats.exceptions, 0, "{name}, {selection}");
        }
        t.close().await;
        sim.stop().await;
    }
}
