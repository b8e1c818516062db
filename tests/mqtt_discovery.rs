//! Exact discovery over the GX's MQTT: the simulator's broker publishes the
//! GX's Modbus TCP service list, the client reads it over loopback TCP, and
//! a scan of exactly those units finds every device the deep scan finds
//! with zero failed requests, on every bundled scenario.

mod common;

use common::{expected, found};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use victron_gx_modbus::discovery::{scan, ScanMode, ScanResult};
use victron_gx_modbus::ledger::embedded;
use victron_gx_modbus::mqtt::{
    read_services, scan_listed, scan_with_mqtt, ListedUnits, MqttError, MqttOptions, Security,
    ServiceList,
};
use victron_gx_modbus::sim::{MqttConfig, Simulator, BUNDLED};
use victron_gx_modbus::transport::{Transport, TransportConfig};

/// Failed requests an older GX still costs over MQTT, where its MQTT cannot
/// tell: the Modbus server publishes no version of its own (no
/// `/Mgmt/ProcessVersion` in `com.victronenergy.modbustcp`), so what it
/// serves is learnt with reads whose refusal is the answer. `old-firmware`:
/// the read of a plugged system gap (847: 0x02 before dbus-modbustcp
/// v1.0.95). `pre-3.66`: the firmware registers (834) and the first
/// revision of its list it lacks (rev 50). The MQTT list makes every probe
/// succeed, and validation and polling refuse nothing.
fn allowed_failures(scenario: &str) -> u64 {
    match scenario {
        "old-firmware" => 1,
        "pre-3.66" => 2,
        _ => 0,
    }
}

async fn exact_scan(sim: &Simulator, list: &ServiceList) -> ScanResult {
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    config.max_rate = 0.0;
    let t = Transport::new(config);
    let ledger = embedded().expect("ledger");
    let result = scan(&t, ledger, ScanMode::Exact(list.active()), Arc::new(|_| {}))
        .await
        .expect("scan");
    t.close().await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_discovery_finds_every_device_without_a_failed_request() {
    let mut problems = Vec::new();
    for (name, _) in BUNDLED {
        let sim = common::start_with_mqtt(name, None).await;
        let started = Instant::now();
        let list = read_services(&common::plaintext_mqtt(&sim))
            .await
            .expect("service list");
        let mqtt_ms = started.elapsed().as_secs_f64() * 1000.0;
        let result = exact_scan(&sim, &list).await;
        let (all, got) = (expected(&sim).await, found(&result));
        if all != got {
            let missed: Vec<_> = all.difference(&got).collect();
            let extra: Vec<_> = got.difference(&all).collect();
            problems.push(format!("{name}: missed {missed:?}, not there {extra:?}"));
        }
        let allowed = allowed_failures(name);
        if result.stats.failed_requests != allowed || sim.stats().exceptions != allowed {
            problems.push(format!("{name}: {:?}", result.stats));
        }
        assert_eq!(result.mode, "mqtt");
        // The platform service's version is what 834-835 hold.
        if result.gx.firmware.is_some() {
            assert_eq!(list.firmware, result.gx.firmware, "{name}");
        }
        eprintln!(
            "{name}: {}/{} devices, {} requests, {} failed, MQTT {mqtt_ms:.1} ms, scan {:.1} ms",
            got.len(),
            all.len(),
            result.stats.requests,
            result.stats.failed_requests,
            result.stats.duration_ms
        );
        sim.stop().await;
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gx_password_is_required_when_set() {
    let sim = common::start_with_mqtt("single-phase-ess", Some("s3cret")).await;
    let mut opts = common::plaintext_mqtt(&sim);
    let err = read_services(&opts).await.expect_err("no password");
    assert!(matches!(err, MqttError::BadCredentials(_)), "{err:?}");
    opts.password = Some("wrong".to_owned());
    let err = read_services(&opts).await.expect_err("wrong password");
    assert!(matches!(err, MqttError::BadCredentials(_)), "{err:?}");
    opts.password = Some("s3cret".to_owned());
    let list = read_services(&opts).await.expect("right password");
    assert_eq!(list.portal_id, "c0619ab1e2f4");
    assert!(list.active().contains(&(100, "system".to_owned())));
    // A known portal ID skips learning it.
    opts.portal_id = Some(list.portal_id.clone());
    assert_eq!(read_services(&opts).await.expect("known portal"), list);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unplugged_device_is_listed_inactive_and_not_scanned() {
    let sim = common::start_with_mqtt("single-phase-ess", None).await;
    let before = read_services(&common::plaintext_mqtt(&sim))
        .await
        .expect("list")
        .active();
    let tank = sim
        .devices()
        .await
        .expect("devices")
        .into_iter()
        .find(|d| d.service == "tank")
        .expect("tank");
    sim.set_present(&tank.id, false).await.expect("unplug");
    let list = read_services(&common::plaintext_mqtt(&sim))
        .await
        .expect("list");
    assert_eq!(list.services.len(), before.len());
    assert_eq!(list.active().len(), before.len() - 1);
    let result = exact_scan(&sim, &list).await;
    assert!(result.devices.iter().all(|d| d.service != "tank"));
    assert_eq!(result.stats.failed_requests, 0);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_broker_fails_fast() {
    // A simulator without its MQTT face has no MQTT port; try a port nothing
    // listens on: the connection is refused at once.
    let plain = common::start("minimal").await;
    assert_eq!(plain.mqtt_addr(), None);
    plain.stop().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let mut opts = MqttOptions::new("127.0.0.1");
    opts.port = port;
    opts.security = Security::Plaintext;
    let started = Instant::now();
    let err = read_services(&opts).await.expect_err("nothing there");
    let elapsed = started.elapsed();
    assert!(matches!(err, MqttError::Unreachable { .. }), "{err:?}");
    assert!(elapsed < Duration::from_millis(100), "{elapsed:?}");
    eprintln!("refused connection reported after {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_broker_is_bounded_by_the_timeout() {
    // Accepts the TCP connection and never answers the CONNECT.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let mut opts = MqttOptions::new("127.0.0.1");
    opts.port = port;
    opts.security = Security::Plaintext;
    opts.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = read_services(&opts).await.expect_err("silent");
    let elapsed = started.elapsed();
    assert_eq!(err, MqttError::Timeout(opts.timeout));
    assert!(elapsed < Duration::from_millis(600), "{elapsed:?}");
    hold.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_without_this_portal_is_bounded_by_the_timeout() {
    // The simulator's broker with a portal ID no GX uses: it never publishes
    // that portal's service list, so the quiet period never starts and the
    // bound applies.
    let sim = common::start_with_mqtt("minimal", None).await;
    let mut opts = common::plaintext_mqtt(&sim);
    opts.portal_id = Some("nobody".to_owned());
    opts.timeout = Duration::from_millis(300);
    let err = read_services(&opts).await.expect_err("no list");
    assert_eq!(err, MqttError::Timeout(opts.timeout));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_falls_back_to_the_quick_scan_and_says_why() {
    let sim = common::start("single-phase-ess").await;
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    config.max_rate = 0.0;
    let t = Transport::new(config);
    let ledger = embedded().expect("ledger");
    // The simulator's Modbus port speaks no MQTT: a protocol failure, at once.
    let mut opts = MqttOptions::new("127.0.0.1");
    opts.port = sim.addr().port();
    opts.security = Security::Plaintext;
    let (result, discovery) = scan_with_mqtt(&t, ledger, &opts, Arc::new(|_| {}))
        .await
        .expect("scan");
    assert_eq!(result.mode, "quick");
    assert_eq!(discovery.used, "quick");
    assert!(discovery.fallback.is_some(), "{discovery:?}");
    assert_eq!(discovery.phases.len(), 2);
    assert_eq!(discovery.phases[0].name, "mqtt");
    assert!(discovery.phases[0].duration_ms < 100.0, "{discovery:?}");
    assert_eq!(found(&result), expected(&sim).await);
    t.close().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_without_an_active_service_is_no_list() {
    let sim = common::start_with_mqtt("minimal", None).await;
    for device in sim.devices().await.expect("devices") {
        sim.set_present(&device.id, false).await.expect("unplug");
    }
    let err = read_services(&common::plaintext_mqtt(&sim))
        .await
        .expect_err("nothing active");
    assert_eq!(err, MqttError::NoServiceList);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_already_read_is_scanned_as_given_without_another_mqtt_session() {
    let sim = common::start_with_mqtt("three-phase", None).await;
    let list = read_services(&common::plaintext_mqtt(&sim))
        .await
        .expect("list");
    assert_eq!(sim.stats().mqtt_connections, 1);
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    config.max_rate = 0.0;
    let t = Transport::new(config);
    let ledger = embedded().expect("ledger");
    let whole = ListedUnits::from(&list);
    // A part of the list: the GX's own services and one device at a unit of
    // its own (a device of instance 0 is listed at 100 and found at 0).
    let own = |service: &str| ["system", "settings", "hub4", "platform"].contains(&service);
    let elsewhere = whole
        .active
        .iter()
        .find(|(unit, _)| *unit != 100)
        .cloned()
        .expect("a device at another unit");
    let mut part = whole.clone();
    part.active
        .retain(|pair| own(&pair.1) || *pair == elsewhere);
    assert!(part.active.len() < whole.active.len());
    for (listed, want) in [
        (&part, part.active.iter().cloned().collect()),
        (&whole, expected(&sim).await),
    ] {
        sim.reset_stats();
        let (result, discovery) = scan_listed(&t, ledger, listed, Arc::new(|_| {}))
            .await
            .expect("scan");
        assert_eq!(found(&result), want);
        assert_eq!(result.mode, "mqtt");
        assert_eq!(result.stats.failed_requests, 0);
        let stats = sim.stats();
        assert_eq!((stats.exceptions, stats.mqtt_connections), (0, 0));
        assert!(stats.requests > 0);
        assert_eq!(discovery.used, "mqtt");
        assert_eq!(discovery.fallback, None);
        assert_eq!(discovery.phases.len(), 1);
        assert_eq!(discovery.phases[0].listed, Some(list.services.len()));
        assert_eq!(result.gx.firmware, list.firmware);
    }
    t.close().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gx_without_834_gets_its_firmware_from_mqtt() {
    let sim = common::start_with_mqtt("pre-3.66", None).await;
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    config.max_rate = 0.0;
    let t = Transport::new(config);
    let ledger = embedded().expect("ledger");
    let (result, _) = scan_with_mqtt(&t, ledger, &common::plaintext_mqtt(&sim), Arc::new(|_| {}))
        .await
        .expect("scan");
    assert_eq!(result.mode, "mqtt");
    assert_eq!(result.gx.firmware.as_deref(), Some("v2.60"));
    // Over Modbus alone it stays unknown.
    let quick = scan(&t, ledger, ScanMode::Quick, Arc::new(|_| {}))
        .await
        .expect("scan");
    assert_eq!(quick.gx.firmware, None);
    t.close().await;
    sim.stop().await;
}

#[test]
fn the_simulator_config_does_not_show_its_password() {
    let mut config = MqttConfig {
        bind: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        tls_bind: None,
        password: Some("s3cret-pw".to_owned()),
    };
    let shown = format!("{config:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(shown.contains(r#"password: Some("***")"#), "{shown}");
    config.password = None;
    assert!(format!("{config:?}").contains("password: None"));
}
