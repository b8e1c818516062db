//! Coming back after a GX reboot: the poll on which the connection returns
//! reads every block (no block lost to the reconnect).

use std::sync::Arc;
use std::time::{Duration, Instant};

use victron_gx_modbus::discovery::{scan, ScanMode};
use victron_gx_modbus::ledger::embedded;
use victron_gx_modbus::plan::plan_all;
use victron_gx_modbus::poll::Poller;
use victron_gx_modbus::sim::{Scenario, SimConfig, Simulator};
use victron_gx_modbus::transport::{Transport, TransportConfig};

async fn start(name: &str) -> Simulator {
    let mut config = SimConfig::new(Scenario::bundled(name).expect("scenario"));
    config.service_time = Duration::ZERO;
    Simulator::start(config).await.expect("simulator")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poll_that_finds_the_gx_back_reads_every_block() {
    let sim = start("three-phase").await;
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    // Paced requests spread one poll over time, so a backoff deadline falls
    // inside a poll rather than between two.
    config.max_rate = 200.0;
    config.request_timeout = Duration::from_millis(500);
    config.connect_timeout = Duration::from_millis(500);
    config.backoff_min = Duration::from_millis(60);
    config.backoff_max = Duration::from_millis(120);
    let t = Transport::new(config);
    let ledger = embedded().expect("ledger");
    let result = scan(&t, ledger, ScanMode::Quick, Arc::new(|_| {}))
        .await
        .expect("scan");
    let devices = result.plan_devices(ledger);
    // Every poll a full one (static and slow tiers included): the most blocks.
    let mut poller = Poller::new(plan_all(&devices), devices.len(), 1);
    assert!(
        poller.plan().blocks.len() >= 20,
        "{}",
        poller.plan().blocks.len()
    );
    assert_eq!(poller.poll(&t).await.failed, 0);
    for reboot in 0..3 {
        sim.reboot(Duration::from_millis(500));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut lost_polls = 0;
        let back = loop {
            let report = poller.poll(&t).await;
            if !report.connection_lost {
                break report;
            }
            lost_polls += 1;
            assert!(Instant::now() < deadline, "the GX never came back");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let unavailable = poller.values().iter().filter(|v| v.is_none()).count();
        assert_eq!(
            (back.failed, unavailable),
            (0, 0),
            "reboot {reboot}: the poll that reconnected lost blocks: {back:?}"
        );
        assert!(lost_polls >= 1, "reboot {reboot}: the loss went unseen");
    }
    assert!(t.metrics().reconnects >= 3);
    t.close().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_lost_with_a_dropped_connection_are_read_again_in_the_same_poll() {
    use victron_gx_modbus::sim::ReplyFault;

    let sim = start("single-phase-ess").await;
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    config.max_rate = 0.0;
    config.request_timeout = Duration::from_millis(500);
    let t = Transport::new(config);
    let ledger = embedded().expect("ledger");
    let result = scan(&t, ledger, ScanMode::Quick, Arc::new(|_| {}))
        .await
        .expect("scan");
    let devices = result.plan_devices(ledger);
    let mut poller = Poller::new(plan_all(&devices), devices.len(), 1);
    assert_eq!(poller.poll(&t).await.failed, 0);
    let blocks = poller.poll(&t).await.requests;
    // The GX cuts one reply and closes the connection under the poll's
    // other requests; it stays reachable, so they are read again at once.
    sim.inject(ReplyFault::DropMidReply, 1);
    let sent_before = t.metrics().requests;
    let report = poller.poll(&t).await;
    assert_eq!(report.failed, 0, "{report:?}");
    assert!(!report.connection_lost);
    let sent = t.metrics().requests - sent_before;
    assert!(
        sent > blocks as u64,
        "{sent} requests for {blocks} blocks: the lost ones were sent again"
    );
    assert!(poller.values().iter().all(Option::is_some));
    assert_eq!(t.metrics().reconnects, 1);
    // A timeout is not retried: it concerns that block only.
    sim.stall(1);
    let report = poller.poll(&t).await;
    assert_eq!((report.failed, report.requests), (1, blocks), "{report:?}");
    t.close().await;
    sim.stop().await;
}
