//! The background sweep: quick scan + sweep finds every device the deep scan
//! finds on every bundled scenario, a device plugged in after the scan is
//! found, the rate holds, and polls are not held up by the sweep.

mod common;

use common::{expected, found, start};
use std::sync::Arc;
use std::time::{Duration, Instant};

use victron_gx_modbus::discovery::{
    scan, sweep, ScanError, ScanMode, ScanProgress, ScanResult, MAX_UNANSWERED_IN_A_ROW,
};
use victron_gx_modbus::ledger::embedded;
use victron_gx_modbus::plan::plan_all;
use victron_gx_modbus::poll::Poller;
use victron_gx_modbus::sim::{Scenario, SimConfig, Simulator, BUNDLED};
use victron_gx_modbus::transport::{Transport, TransportConfig};

/// No pacing: tests where the rate is not the point run at full speed.
const FAST: f64 = f64::INFINITY;

/// How long a test's sweep waits for a GX that stopped answering.
const PATIENCE: Duration = Duration::from_secs(30);

fn transport(sim: &Simulator) -> Transport {
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    config.max_rate = 0.0;
    config.request_timeout = Duration::from_millis(500);
    Transport::new(config)
}

async fn quick(t: &Transport) -> ScanResult {
    let ledger = embedded().expect("ledger");
    scan(t, ledger, ScanMode::Quick, Arc::new(|_| {}))
        .await
        .expect("scan")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_scan_and_sweep_find_what_the_deep_scan_finds_on_every_scenario() {
    let ledger = embedded().expect("ledger");
    let mut problems = Vec::new();
    for (name, _) in BUNDLED {
        let sim = start(name).await;
        let t = transport(&sim);
        let base = quick(&t).await;
        let swept = sweep(&t, ledger, &base, FAST, PATIENCE, Arc::new(|_| {}))
            .await
            .expect("sweep");
        let all = expected(&sim).await;
        let got = found(&swept.result);
        if got != all {
            problems.push(format!("{name}: found {got:?}, present {all:?}"));
        }
        // Every device of the merged result is validated like a scan's.
        assert!(swept.result.devices.iter().all(|d| d.registers > 0));
        eprintln!(
            "{name}: {}/{} devices, sweep {} new, {} requests, {} failed",
            got.len(),
            all.len(),
            swept.found.len(),
            swept.stats.requests,
            swept.stats.failed_requests
        );
        t.close().await;
        sim.stop().await;
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_finds_a_device_plugged_in_after_the_scan() {
    let ledger = embedded().expect("ledger");
    let sim = start("single-phase-ess").await;
    sim.set_present("water", false).await.expect("device");
    let t = transport(&sim);
    let base = quick(&t).await;
    assert!(!found(&base).contains(&(20, "tank".to_owned())));
    sim.set_present("water", true).await.expect("device");
    let swept = sweep(&t, ledger, &base, FAST, PATIENCE, Arc::new(|_| {}))
        .await
        .expect("sweep");
    let new: Vec<_> = swept
        .found
        .iter()
        .map(|d| (d.unit, d.service.as_str()))
        .collect();
    assert_eq!(new, [(20, "tank")]);
    let tank = &swept.found[0];
    assert_eq!(tank.name.as_deref(), Some("Fresh water"));
    assert!(swept.result.devices.contains(tank));
    assert_eq!(swept.result.devices.len(), base.devices.len() + 1);
    t.close().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_keeps_to_its_rate() {
    let ledger = embedded().expect("ledger");
    let sim = start("minimal").await;
    let t = transport(&sim);
    let base = quick(&t).await;
    let before = sim.stats().requests;
    let rate = 100.0;
    let started = Instant::now();
    // Two seconds of a sweep that would take half a minute, then cancelled.
    let sweeping = sweep(&t, ledger, &base, rate, PATIENCE, Arc::new(|_| {}));
    assert!(tokio::time::timeout(Duration::from_secs(2), sweeping)
        .await
        .is_err());
    let seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sent = sim.stats().requests - before;
    // The first request goes at once, each next one a gap later.
    let most = (rate * seconds).floor() as u64 + 1;
    assert!(
        sent <= most,
        "{sent} requests in {seconds:.2} s at {rate}/s"
    );
    assert!(
        sent as f64 >= rate * seconds * 0.5,
        "{sent} requests: far below the rate"
    );
    t.close().await;
    sim.stop().await;
}

/// The median time of 15 polls.
async fn median_poll(t: &Transport, poller: &mut Poller) -> Duration {
    let mut times = Vec::new();
    for _ in 0..15 {
        let started = Instant::now();
        let report = poller.poll(t).await;
        assert_eq!(report.failed, 0);
        times.push(started.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_are_not_delayed_by_a_sweep() {
    let ledger = embedded().expect("ledger");
    let mut config = SimConfig::new(Scenario::bundled("three-phase").expect("scenario"));
    config.latency = Duration::from_millis(5);
    let sim = Simulator::start(config).await.expect("simulator");
    let t = transport(&sim);
    let base = quick(&t).await;
    let devices = base.plan_devices(ledger);
    let mut poller = Poller::new(plan_all(&devices), devices.len(), 1);
    let alone = median_poll(&t, &mut poller).await;
    // A sweep at 50 requests/s (ten times the default) on the same connection.
    let sweeping = tokio::spawn({
        let t = t.clone();
        let base = base.clone();
        async move { sweep(&t, ledger, &base, 50.0, PATIENCE, Arc::new(|_| {})).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let during = median_poll(&t, &mut poller).await;
    assert!(!sweeping.is_finished(), "the sweep ran during the polls");
    sweeping.abort();
    assert!(
        during <= alone.mul_f64(1.5) + Duration::from_millis(5),
        "median poll {during:?} during a sweep, {alone:?} alone"
    );
    eprintln!("median poll: alone {alone:?}, during a sweep {during:?}");
    t.close().await;
    sim.stop().await;
}

/// Makes the simulator stall `count` requests once the sweep has probed
/// `after` pairs (its start-up reads are past by then).
fn stall_after(
    sim: &Arc<Simulator>,
    after: usize,
    count: u32,
) -> Arc<dyn Fn(ScanProgress) + Send + Sync> {
    let sim = Arc::clone(sim);
    Arc::new(move |progress: ScanProgress| {
        if progress.phase == "sweeping" && progress.done == after {
            sim.stall(count);
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_without_a_reply_is_skipped_and_counted() {
    let ledger = embedded().expect("ledger");
    let sim = Arc::new(start("minimal").await);
    let t = transport(&sim);
    let base = quick(&t).await;
    let stalled = MAX_UNANSWERED_IN_A_ROW - 1;
    let swept = sweep(
        &t,
        ledger,
        &base,
        FAST,
        PATIENCE,
        stall_after(&sim, 10, stalled),
    )
    .await
    .expect("a few timeouts do not end the sweep");
    assert_eq!(swept.stats.unanswered, u64::from(stalled));
    assert_eq!(sim.stats().faults_injected, u64::from(stalled));
    assert_eq!(found(&swept.result), expected(&sim).await);
    t.close().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_of_a_gx_that_stops_answering_fails_after_its_patience() {
    let ledger = embedded().expect("ledger");
    let sim = Arc::new(start("minimal").await);
    let t = transport(&sim);
    let base = quick(&t).await;
    let progress = stall_after(&sim, 10, u32::MAX);
    let outcome = sweep(&t, ledger, &base, FAST, Duration::ZERO, progress).await;
    assert!(
        matches!(outcome, Err(ScanError::Transport(_))),
        "{outcome:?}"
    );
    // It gave up after the allowed probes in a row (each stalled request
    // is one injected fault), not at the end of the unit space.
    let stats = sim.stats();
    assert_eq!(stats.faults_injected, u64::from(MAX_UNANSWERED_IN_A_ROW));
    t.close().await;
    sim.stop().await;
}

/// Reboots the simulator for `seconds` once the sweep has probed `after` pairs.
fn reboot_after(
    sim: &Arc<Simulator>,
    after: usize,
    seconds: f64,
) -> Arc<dyn Fn(ScanProgress) + Send + Sync> {
    let sim = Arc::clone(sim);
    Arc::new(move |progress: ScanProgress| {
        if progress.phase == "sweeping" && progress.done == after {
            sim.reboot(Duration::from_secs_f64(seconds));
        }
    })
}

/// Exception replies at unit 0 (where no device of `minimal` is) during a
/// sweep of `minimal`: one per service type probed there and answered.
async fn absent_answers_at_unit_0(
    progress: impl Fn(&Arc<Simulator>) -> Arc<dyn Fn(ScanProgress) + Send + Sync>,
) -> (u64, u64) {
    let ledger = embedded().expect("ledger");
    let sim = Arc::new(start("minimal").await);
    let t = transport(&sim);
    let base = quick(&t).await;
    let before = sim.stats().by_unit.get(&0).map_or(0, |u| u.exceptions);
    sweep(&t, ledger, &base, FAST, PATIENCE, progress(&sim))
        .await
        .expect("the sweep survives a reboot");
    let stats = sim.stats();
    let after = stats.by_unit.get(&0).map_or(0, |u| u.exceptions);
    t.close().await;
    sim.stop().await;
    (after - before, stats.reboots)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_waits_for_a_rebooting_gx_and_probes_again_what_the_reboot_cost() {
    let (undisturbed, _) = absent_answers_at_unit_0(|_| Arc::new(|_| {})).await;
    let started = Instant::now();
    // The reboot comes after 10 of the unit-0 probes.
    let (rebooted, reboots) = absent_answers_at_unit_0(|sim| reboot_after(sim, 10, 2.0)).await;
    assert_eq!(reboots, 1);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the sweep waited for the GX"
    );
    // Without probing again, the pairs lost to the reboot would have no answer.
    assert!(
        rebooted >= undisturbed,
        "{rebooted} pairs at unit 0 answered after a reboot, {undisturbed} without"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_gives_up_on_a_gx_silent_longer_than_its_patience() {
    let ledger = embedded().expect("ledger");
    let sim = Arc::new(start("minimal").await);
    let t = transport(&sim);
    let base = quick(&t).await;
    let started = Instant::now();
    // A GX that stops answering (not one that reboots: its port, free for
    // the reboot, could be taken by another test's simulator meanwhile).
    let patience = Duration::from_secs(4);
    let outcome = sweep(
        &t,
        ledger,
        &base,
        FAST,
        patience,
        stall_after(&sim, 10, u32::MAX),
    )
    .await;
    assert!(
        matches!(outcome, Err(ScanError::Transport(_))),
        "{outcome:?}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= patience && waited < patience + Duration::from_secs(5),
        "gave up after {waited:?}"
    );
    t.close().await;
    sim.stop().await;
}
