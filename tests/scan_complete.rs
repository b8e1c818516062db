//! The quick scan (the one a user gets when adding the integration) finds
//! every device the deep scan finds, on every bundled scenario, with a
//! bounded number of failed requests at the GX.

mod common;

use common::{expected, found, start};
use std::sync::Arc;
use std::time::Duration;

use victron_gx_modbus::discovery::{scan, ScanMode, ScanResult};
use victron_gx_modbus::ledger::embedded;
use victron_gx_modbus::sim::{Simulator, BUNDLED};
use victron_gx_modbus::transport::{Transport, TransportConfig};

/// The most failed requests (errors in the GX's log) a quick scan may cause.
const MAX_FAILED: u64 = 400;

async fn quick(sim: &Simulator) -> ScanResult {
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    config.max_rate = 0.0;
    // Every request gets an answer: the timeout only has to outlast a busy machine.
    config.request_timeout = Duration::from_secs(3);
    let t = Transport::new(config);
    let ledger = embedded().expect("ledger");
    let result = scan(&t, ledger, ScanMode::Quick, Arc::new(|_| {}))
        .await
        .expect("scan");
    t.close().await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_scan_finds_what_the_deep_scan_finds_on_every_scenario() {
    let mut problems = Vec::new();
    for (name, _) in BUNDLED {
        let sim = start(name).await;
        let result = quick(&sim).await;
        let all = expected(&sim).await;
        let got = found(&result);
        let missed: Vec<_> = all.difference(&got).collect();
        let extra: Vec<_> = got.difference(&all).collect();
        if !missed.is_empty() || !extra.is_empty() {
            problems.push(format!("{name}: missed {missed:?}, not there {extra:?}"));
        }
        if result.stats.failed_requests > MAX_FAILED {
            problems.push(format!(
                "{name}: {} failed requests",
                result.stats.failed_requests
            ));
        }
        eprintln!(
            "{name}: {}/{} devices, {} requests, {} failed",
            got.len(),
            all.len(),
            result.stats.requests,
            result.stats.failed_requests
        );
        sim.stop().await;
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
