//! Helpers shared by the integration tests that scan the simulator (each
//! test crate uses some of them).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use victron_gx_modbus::discovery::ScanResult;
use victron_gx_modbus::mqtt::{MqttOptions, Security};
use victron_gx_modbus::sim::{MqttConfig, Scenario, SimConfig, Simulator};
use victron_gx_modbus::transport::{Transport, TransportConfig};

/// An unpaced transport to a simulator whose every request is answered: its
/// timeout only has to outlast a busy machine.
pub fn patient_transport(sim: &Simulator) -> Transport {
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    config.max_rate = 0.0;
    config.request_timeout = Duration::from_secs(3);
    Transport::new(config)
}

/// A bundled scenario's simulator with no service time and a plaintext MQTT
/// face on loopback, asking for `password` when given.
pub async fn start_with_mqtt(name: &str, password: Option<&str>) -> Simulator {
    let mut config = SimConfig::new(Scenario::bundled(name).expect("scenario"));
    config.service_time = Duration::ZERO;
    config.mqtt = Some(MqttConfig {
        bind: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        tls_bind: None,
        password: password.map(str::to_owned),
    });
    Simulator::start(config).await.expect("simulator")
}

/// A bundled scenario's simulator with no service time and its MQTT over TLS
/// only (as current GX firmware offers it), on loopback.
pub async fn start_with_mqtt_tls(name: &str) -> Simulator {
    let mut config = SimConfig::new(Scenario::bundled(name).expect("scenario"));
    config.service_time = Duration::ZERO;
    config.mqtt = Some(MqttConfig {
        bind: None,
        tls_bind: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        password: None,
    });
    Simulator::start(config).await.expect("simulator")
}

/// Options that read a simulator's TLS MQTT face with its certificate trusted.
pub fn pinned_mqtt(sim: &Simulator) -> MqttOptions {
    let addr = sim.mqtt_tls_addr().expect("TLS face");
    let mut options = MqttOptions::new(addr.ip().to_string());
    options.tls_port = addr.port();
    options.security = Security::Pinned(sim.mqtt_fingerprint().expect("certificate"));
    options
}

/// Options that read a simulator's plaintext MQTT face.
pub fn plaintext_mqtt(sim: &Simulator) -> MqttOptions {
    let addr = sim.mqtt_addr().expect("mqtt face");
    let mut options = MqttOptions::new(addr.ip().to_string());
    options.port = addr.port();
    options.security = Security::Plaintext;
    options
}

/// A bundled scenario's simulator with no service time (tests run fast).
pub async fn start(name: &str) -> Simulator {
    let mut config = SimConfig::new(Scenario::bundled(name).expect("scenario"));
    config.service_time = Duration::ZERO;
    Simulator::start(config).await.expect("simulator")
}

/// (unit, service) of every device of a running scenario, as a client
/// reaches them (the GX's own services at unit 100): what a deep scan finds.
pub async fn expected(sim: &Simulator) -> BTreeSet<(u8, String)> {
    sim.devices()
        .await
        .expect("devices")
        .into_iter()
        .filter(|d| d.service != "platform" || d.present)
        .map(|d| {
            let gx_service =
                ["system", "settings", "hub4", "platform"].contains(&d.service.as_str());
            let unit = if gx_service {
                100
            } else {
                d.unit.expect("unit")
            };
            (unit, d.service)
        })
        .collect()
}

/// (unit, service) of every device of a scan result.
pub fn found(result: &ScanResult) -> BTreeSet<(u8, String)> {
    result
        .devices
        .iter()
        .map(|d| (d.unit, d.service.clone()))
        .collect()
}
