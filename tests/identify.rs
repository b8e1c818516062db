//! The GX's identity in two reads and no exception reply, on every scenario.

use std::sync::Arc;
use std::time::Duration;

use victron_gx_modbus::discovery::{identify, scan, ScanError, ScanMode};
use victron_gx_modbus::ledger::embedded;
use victron_gx_modbus::sim::{Scenario, SimConfig, Simulator};
use victron_gx_modbus::transport::{Transport, TransportConfig, TransportError};

async fn start(scenario: Scenario) -> Simulator {
    let mut config = SimConfig::new(scenario);
    config.service_time = Duration::ZERO;
    Simulator::start(config).await.expect("simulator")
}

fn transport(port: u16) -> Transport {
    let mut config = TransportConfig::new("127.0.0.1", port);
    config.request_timeout = Duration::from_millis(300);
    config.connect_timeout = Duration::from_millis(300);
    Transport::new(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_costs_two_reads_the_serial_one_and_no_exception_and_matches_the_scan() {
    let ledger = embedded().expect("ledger");
    for name in [
        "minimal",
        "single-phase-ess",
        "three-phase",
        "large",
        "old-firmware",
    ] {
        let sim = start(Scenario::bundled(name).expect("scenario")).await;
        let t = transport(sim.addr().port());
        let identity = identify(&t, ledger, true).await.expect("identify");
        let stats = sim.stats();
        assert_eq!((stats.requests, stats.exceptions), (2, 0), "{name}");
        assert_eq!(stats.by_unit.keys().copied().collect::<Vec<_>>(), [100]);
        let result = scan(&t, ledger, ScanMode::Units(vec![100]), Arc::new(|_| {}))
            .await
            .expect("scan");
        assert_eq!(identity.serial, result.gx.serial, "{name}");
        assert_eq!(identity.firmware, result.gx.firmware, "{name}");
        assert!(identity.serial.is_some() && identity.firmware.is_some());
        assert_eq!(identity.absent_exception, None);
        sim.reset_stats();
        let serial_only = identify(&t, ledger, false).await.expect("serial");
        assert_eq!(
            (sim.stats().requests, sim.stats().exceptions),
            (1, 0),
            "{name}"
        );
        assert_eq!(
            (serial_only.serial, serial_only.firmware),
            (identity.serial, None)
        );
        t.close().await;
        sim.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gx_older_than_list_366_has_a_serial_and_no_firmware() {
    let ledger = embedded().expect("ledger");
    let sim = start(Scenario::bundled("pre-3.66").expect("scenario")).await;
    let t = transport(sim.addr().port());
    let identity = identify(&t, ledger, true).await.expect("identify");
    assert_eq!(identity.serial.as_deref(), Some("0c1c57a0b29f"));
    assert_eq!(identity.firmware, None);
    // The firmware read is the one refused (0x02: no register 834).
    let stats = sim.stats();
    assert_eq!((stats.requests, stats.exceptions), (2, 1));
    let result = scan(&t, ledger, ScanMode::Units(vec![100]), Arc::new(|_| {}))
        .await
        .expect("scan");
    assert_eq!(
        (result.gx.serial, result.gx.firmware),
        (identity.serial, None)
    );
    t.close().await;
    sim.stop().await;
}

/// The minimal scenario with its system device changed by `edit`.
fn minimal_with(edit: impl FnOnce(&mut serde_json::Value)) -> Scenario {
    let text = include_str!("../src/sim/scenarios/minimal.json");
    let mut json: serde_json::Value = serde_json::from_str(text).expect("json");
    edit(&mut json);
    Scenario::from_json("edited", &json.to_string()).expect("scenario")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_100_that_is_not_a_gx_is_not_a_gx() {
    let ledger = embedded().expect("ledger");
    // A system service without a serial reads it as zeros: an empty serial.
    let no_serial = minimal_with(|json| {
        if let Some(gx) = json["devices"][0].as_object_mut() {
            gx.remove("serial");
        }
    });
    // No system service at unit 100: the read is refused (0x0A).
    let no_system = minimal_with(|json| {
        if let Some(devices) = json["devices"].as_array_mut() {
            devices.retain(|d| d["service"] != "system");
        }
    });
    for (what, scenario) in [("empty serial", no_serial), ("exception", no_system)] {
        let sim = start(scenario).await;
        let t = transport(sim.addr().port());
        let outcome = identify(&t, ledger, true).await;
        assert!(
            matches!(&outcome, Err(ScanError::NotAGx(message)) if message.contains(what)),
            "{what}: {outcome:?}"
        );
        assert!(sim.stats().requests <= 2);
        t.close().await;
        sim.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_gx_is_a_connection_error_and_a_silent_gx_a_timeout() {
    let ledger = embedded().expect("ledger");
    let sim = start(Scenario::bundled("minimal").expect("scenario")).await;
    let port = sim.addr().port();
    let t = transport(port);
    sim.stall(2);
    let outcome = identify(&t, ledger, true).await;
    assert!(
        matches!(
            outcome,
            Err(ScanError::Transport(TransportError::Timeout(_)))
        ),
        "{outcome:?}"
    );
    sim.stop().await;
    let t = transport(port);
    let outcome = identify(&t, ledger, true).await;
    assert!(
        matches!(
            outcome,
            Err(ScanError::Transport(TransportError::Connect { .. }))
        ),
        "{outcome:?}"
    );
}
