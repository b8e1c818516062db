//! What TLS costs the GX's MQTT on loopback, against the simulator's broker:
//! the first contact (TCP connect and the TLS handshake up to the
//! certificate, which a client without a fingerprint stops at), reading the
//! service list over plaintext and over TLS (handshake, CONNECT, keepalive,
//! the list), and a whole MQTT scan (the list, then exactly those units
//! over Modbus) each way. Medians and 90th percentiles of `--runs` rounds.
//!
//! `cargo run --release --example mqtt_tls_bench [-- --runs N --scenario NAME]`

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use victron_gx_modbus::ledger::embedded;
use victron_gx_modbus::mqtt::{read_services, scan_with_mqtt, MqttError, MqttOptions, Security};
use victron_gx_modbus::sim::{MqttConfig, Scenario, SimConfig, Simulator};
use victron_gx_modbus::transport::{Transport, TransportConfig};

const LOOPBACK: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// Median and 90th percentile, in milliseconds.
fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| {
        let index = ((samples.len() - 1) as f64 * q).round() as usize;
        samples[index].as_secs_f64() * 1000.0
    };
    format!("median {:.2} ms, p90 {:.2} ms", at(0.5), at(0.9))
}

struct Args {
    runs: usize,
    scenario: String,
}

fn args() -> Result<Args, String> {
    let mut parsed = Args {
        runs: 200,
        scenario: "three-phase".to_owned(),
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let value = words.next().ok_or(format!("{word} needs a value"))?;
        match word.as_str() {
            "--runs" => {
                parsed.runs = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--runs takes a positive count")?;
            }
            "--scenario" => parsed.scenario = value,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(parsed)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let mut config = SimConfig::new(Scenario::bundled(&args.scenario)?);
    config.mqtt = Some(MqttConfig {
        bind: Some(LOOPBACK),
        tls_bind: Some(LOOPBACK),
        password: None,
    });
    let sim = Simulator::start(config).await?;
    let fingerprint = sim.mqtt_fingerprint().ok_or("no TLS face")?;
    let options = |security: Security| {
        let mut options = MqttOptions::new("127.0.0.1");
        options.port = sim.mqtt_addr().map_or(0, |a| a.port());
        options.tls_port = sim.mqtt_tls_addr().map_or(0, |a| a.port());
        options.security = security;
        options
    };
    let (probe, plain, tls) = (
        options(Security::Auto),
        options(Security::Plaintext),
        options(Security::Pinned(fingerprint)),
    );

    let mut first_contact = Vec::new();
    let mut plain_reads = Vec::new();
    let mut tls_reads = Vec::new();
    for _ in 0..args.runs {
        let started = Instant::now();
        match read_services(&probe).await {
            Err(MqttError::UntrustedCertificate(seen)) if seen == fingerprint => {}
            other => return Err(format!("first contact: {other:?}").into()),
        }
        first_contact.push(started.elapsed());
        let started = Instant::now();
        read_services(&plain).await?;
        plain_reads.push(started.elapsed());
        let started = Instant::now();
        read_services(&tls).await?;
        tls_reads.push(started.elapsed());
    }

    let mut transport = TransportConfig::new("127.0.0.1", sim.addr().port());
    transport.max_rate = 0.0;
    let transport = Transport::new(transport);
    let ledger = embedded()?;
    let scans = args.runs.div_ceil(10);
    let (mut plain_scans, mut tls_scans) = (Vec::new(), Vec::new());
    for _ in 0..scans {
        for (options, samples) in [(&plain, &mut plain_scans), (&tls, &mut tls_scans)] {
            let started = Instant::now();
            let (result, discovery) =
                scan_with_mqtt(&transport, ledger, options, Arc::new(|_| {})).await?;
            if result.mode != "mqtt" {
                return Err(format!("the scan fell back: {:?}", discovery.fallback).into());
            }
            samples.push(started.elapsed());
        }
    }
    transport.close().await;
    sim.stop().await;

    println!(
        "scenario {}, loopback, {} rounds ({} scans each way)",
        args.scenario, args.runs, scans
    );
    println!(
        "first contact (connect + TLS handshake to the certificate): {}",
        summary(first_contact)
    );
    println!(
        "service list over plaintext:                 {}",
        summary(plain_reads)
    );
    println!(
        "service list over TLS (pinned):              {}",
        summary(tls_reads)
    );
    println!(
        "MQTT scan over plaintext:                    {}",
        summary(plain_scans)
    );
    println!(
        "MQTT scan over TLS (pinned):                 {}",
        summary(tls_scans)
    );
    Ok(())
}
