//! MQTT over TLS (port 8883), trusted on first use, over real TCP on
//! loopback: the simulator's broker shows a self-signed certificate as a GX
//! does; the client reads the list only from the certificate whose
//! fingerprint it was given, reports the one it saw otherwise, refuses a
//! changed one, prefers TLS when both ports answer, still speaks plaintext
//! where TLS is not offered, and turns anything else on the TLS port into a
//! clear error.

mod common;

use common::{expected, found};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use victron_gx_modbus::ledger::embedded;
use victron_gx_modbus::mqtt::{
    read_services, scan_with_mqtt, Fingerprint, MqttError, MqttOptions, MqttScanError, Security,
};
use victron_gx_modbus::sim::{MqttConfig, Scenario, SimConfig, Simulator};
use victron_gx_modbus::transport::{Transport, TransportConfig};

const LOOPBACK: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// A simulator whose MQTT face serves plaintext and/or TLS.
async fn start(plain: bool, tls: bool, password: Option<&str>) -> Simulator {
    let mut config = SimConfig::new(Scenario::bundled("single-phase-ess").expect("scenario"));
    config.service_time = Duration::ZERO;
    config.mqtt = Some(MqttConfig {
        bind: plain.then_some(LOOPBACK),
        tls_bind: tls.then_some(LOOPBACK),
        password: password.map(str::to_owned),
    });
    Simulator::start(config).await.expect("simulator")
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind(LOOPBACK).expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Options for the simulator's ports (a closed port for a face it lacks).
fn options(sim: &Simulator, security: Security) -> MqttOptions {
    let mut options = MqttOptions::new("127.0.0.1");
    options.port = sim.mqtt_addr().map_or_else(closed_port, |a| a.port());
    options.tls_port = sim.mqtt_tls_addr().map_or_else(closed_port, |a| a.port());
    options.security = security;
    options
}

fn pinned(sim: &Simulator) -> Security {
    Security::Pinned(sim.mqtt_fingerprint().expect("TLS face"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trusted_certificate_gives_the_same_list_as_plaintext() {
    let sim = start(true, true, None).await;
    let over_tls = read_services(&options(&sim, pinned(&sim)))
        .await
        .expect("list over TLS");
    let plain = read_services(&options(&sim, Security::Plaintext))
        .await
        .expect("list over plaintext");
    assert_eq!(over_tls.fingerprint, sim.mqtt_fingerprint());
    assert_eq!(plain.fingerprint, None);
    assert_eq!(over_tls.services, plain.services);
    assert_eq!(over_tls.portal_id, plain.portal_id);
    assert!(!over_tls.active().is_empty());
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_contact_reports_the_fingerprint_and_uses_nothing() {
    // Plaintext is open too: a GX that offers TLS is still not read over
    // plaintext behind the user's back.
    let sim = start(true, true, None).await;
    let started = Instant::now();
    let err = read_services(&options(&sim, Security::Auto))
        .await
        .expect_err("not trusted yet");
    let elapsed = started.elapsed();
    let seen = sim.mqtt_fingerprint().expect("TLS face");
    assert_eq!(err, MqttError::UntrustedCertificate(seen));
    assert!(err.to_string().contains(&seen.to_string()), "{err}");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    // Passed back, it connects.
    let list = read_services(&options(&sim, Security::Pinned(seen)))
        .await
        .expect("trusted now");
    assert_eq!(list.fingerprint, Some(seen));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handshake_stops_at_an_untrusted_certificate() {
    // Our own TLS server: the client must abort the handshake, so that not
    // one byte of MQTT (a CONNECT with the password) reaches the server.
    let sim = start(false, true, None).await;
    let made = rcgen::generate_simple_self_signed(vec!["venus.local".to_owned()]).expect("cert");
    let der = made.cert.der().clone();
    let fingerprint = Fingerprint::of(der.as_ref());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        victron_gx_modbus::mqtt::tls_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![der], key)
    .expect("config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(LOOPBACK).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        match acceptor.accept(stream).await {
            Ok(mut tls) => {
                let mut byte = [0u8; 1];
                tls.read(&mut byte).await.map(|n| n > 0).unwrap_or(false)
            }
            Err(_) => false,
        }
    });
    let mut opts = options(&sim, Security::Auto);
    opts.tls_port = port;
    opts.password = Some("s3cret-pw".to_owned());
    let err = read_services(&opts).await.expect_err("untrusted");
    assert_eq!(err, MqttError::UntrustedCertificate(fingerprint));
    let received = server.await.expect("server");
    assert!(
        !received,
        "the server received data over an untrusted TLS connection"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_certificate_is_refused_and_named() {
    let sim = start(true, true, None).await;
    let trusted = sim.mqtt_fingerprint().expect("TLS face");
    read_services(&options(&sim, Security::Pinned(trusted)))
        .await
        .expect("trusted");
    let rotated = sim.rotate_mqtt_certificate().expect("rotate");
    assert_ne!(rotated, trusted);
    let err = read_services(&options(&sim, Security::Pinned(trusted)))
        .await
        .expect_err("changed");
    assert_eq!(
        err,
        MqttError::CertificateChanged {
            expected: trusted,
            seen: rotated,
        }
    );
    let shown = err.to_string();
    assert!(
        shown.contains(&rotated.to_string()) && shown.contains(&trusted.to_string()),
        "{shown}"
    );
    // The new one, once trusted, works.
    read_services(&options(&sim, Security::Pinned(rotated)))
        .await
        .expect("the new certificate trusted");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_still_works_where_tls_is_not_offered() {
    let sim = start(true, false, None).await;
    assert_eq!(sim.mqtt_tls_addr(), None);
    assert_eq!(sim.mqtt_fingerprint(), None);
    assert!(sim.rotate_mqtt_certificate().is_err());
    let list = read_services(&options(&sim, Security::Auto))
        .await
        .expect("plaintext list");
    assert_eq!(list.fingerprint, None);
    assert!(!list.active().is_empty());
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_certificate_never_falls_back_to_plaintext() {
    // Plaintext open, the TLS port closed (or blocked by someone in between):
    // the password does not go out in plaintext.
    let sim = start(true, false, None).await;
    let mut opts = options(&sim, Security::Pinned(Fingerprint::of(b"a GX")));
    opts.password = Some("s3cret-pw".to_owned());
    let err = read_services(&opts).await.expect_err("no TLS");
    match &err {
        MqttError::Unreachable { addr, .. } => {
            assert_eq!(addr, &format!("127.0.0.1:{}", opts.tls_port));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.stats().mqtt_connections, 0);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_on_either_port_names_both() {
    let mut opts = MqttOptions::new("127.0.0.1");
    opts.port = closed_port();
    opts.tls_port = closed_port();
    let err = read_services(&opts).await.expect_err("nothing there");
    let shown = err.to_string();
    assert!(matches!(err, MqttError::Unreachable { .. }), "{err:?}");
    assert!(
        shown.contains(&format!(
            ":{} (TLS) or 127.0.0.1:{}",
            opts.tls_port, opts.port
        )),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_goes_over_tls() {
    let sim = start(false, true, Some("s3cret-pw")).await;
    let mut opts = options(&sim, pinned(&sim));
    let err = read_services(&opts).await.expect_err("no password");
    assert!(matches!(err, MqttError::BadCredentials(_)), "{err:?}");
    opts.password = Some("wrong".to_owned());
    let err = read_services(&opts).await.expect_err("wrong password");
    assert!(matches!(err, MqttError::BadCredentials(_)), "{err:?}");
    opts.password = Some("s3cret-pw".to_owned());
    read_services(&opts).await.expect("the right password");
    sim.stop().await;
}

/// A server on the TLS port that answers every connection with `reply`
/// (then closes, or holds the connection when `hold`).
async fn impostor(reply: &'static [u8], hold: bool) -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind(LOOPBACK).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.write_all(reply).await;
            if hold {
                held.push(stream);
            }
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anything_but_tls_on_the_tls_port_is_a_clear_error() {
    let sim = start(true, false, None).await;
    let cases: [(&'static [u8], bool); 4] = [
        (
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
            false,
        ),
        (b"\x20\x02\x00\x00", true), // an MQTT CONNACK: a plaintext broker on 8883
        (b"\x16\x03\x03\xff\xff\x02\x00", false), // a handshake record that lies about its length
        (b"", false),                // accepts and closes
    ];
    for (reply, hold) in cases {
        let (port, task) = impostor(reply, hold).await;
        for security in [Security::Auto, Security::Pinned(Fingerprint::of(b"a GX"))] {
            let mut opts = options(&sim, security);
            opts.tls_port = port;
            opts.timeout = Duration::from_secs(2);
            let started = Instant::now();
            let err = read_services(&opts).await.expect_err("not TLS");
            assert!(
                matches!(err, MqttError::Tls(_)),
                "{:?} ({security:?}): {err:?}",
                String::from_utf8_lossy(reply)
            );
            assert!(
                err.to_string()
                    .starts_with("TLS with the GX's MQTT failed: "),
                "{err}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{:?}",
                started.elapsed()
            );
        }
        task.abort();
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_tls_port_is_bounded_by_the_timeout() {
    let (port, task) = impostor(b"", true).await;
    let mut opts = MqttOptions::new("127.0.0.1");
    opts.tls_port = port;
    opts.port = closed_port();
    opts.timeout = Duration::from_millis(300);
    // Holds without a byte: the client's hello is never answered.
    let err = read_services(&opts).await.expect_err("silent");
    assert_eq!(err, MqttError::Timeout(opts.timeout));
    task.abort();
}

fn transport(sim: &Simulator) -> Transport {
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    config.max_rate = 0.0;
    Transport::new(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_use_tls_report_an_untrusted_certificate_and_stop_at_a_changed_one() {
    let sim = start(true, true, None).await;
    let t = transport(&sim);
    let ledger = embedded().expect("ledger");
    let progress = || Arc::new(|_| {});
    let fingerprint = sim.mqtt_fingerprint().expect("TLS face");

    let (result, discovery) = scan_with_mqtt(&t, ledger, &options(&sim, pinned(&sim)), progress())
        .await
        .expect("scan over TLS");
    assert_eq!(result.mode, "mqtt");
    assert_eq!(discovery.fingerprint, Some(fingerprint));
    assert_eq!(result.stats.failed_requests, 0);
    assert_eq!(found(&result), expected(&sim).await);

    // Not trusted yet: the quick scan, with the fingerprint to show.
    let (result, discovery) =
        scan_with_mqtt(&t, ledger, &options(&sim, Security::Auto), progress())
            .await
            .expect("fallback");
    assert_eq!(result.mode, "quick");
    assert_eq!(discovery.fingerprint, Some(fingerprint));
    assert!(
        discovery
            .fallback
            .as_deref()
            .is_some_and(|f| f.contains("not trusted")),
        "{discovery:?}"
    );

    // Changed: no scan at all.
    let rotated = sim.rotate_mqtt_certificate().expect("rotate");
    sim.reset_stats();
    let err = scan_with_mqtt(
        &t,
        ledger,
        &options(&sim, Security::Pinned(fingerprint)),
        progress(),
    )
    .await
    .expect_err("changed");
    match err {
        MqttScanError::Certificate(MqttError::CertificateChanged { expected, seen }) => {
            assert_eq!((expected, seen), (fingerprint, rotated));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        sim.stats().requests,
        0,
        "a changed certificate scanned over Modbus"
    );
    t.close().await;
    sim.stop().await;
}
