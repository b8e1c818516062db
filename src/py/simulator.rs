//! The GX simulator on the Python side: started and controlled from asyncio,
//! running on the core's own tokio runtime and delivered through a bridge.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use super::bridge::{spawn, BridgeCore, TaskGroup};
use super::errors::{CoreError, SimulatorError};
use crate::sim::{
    Malformation, MqttConfig, ReplyFault, Scenario, SimConfig, Simulator, Site, BUNDLED,
};

fn load_scenario(scenario: &str) -> PyResult<Scenario> {
    let path = Path::new(scenario);
    if path.extension().is_some_and(|ext| ext == "json") {
        let text = std::fs::read_to_string(path).map_err(|err| {
            SimulatorError::new_err(format!("cannot read scenario {scenario}: {err}"))
        })?;
        return Ok(Scenario::from_json(scenario, &text)?);
    }
    Ok(Scenario::bundled(scenario)?)
}

fn duration_ms(name: &str, ms: f64) -> PyResult<Duration> {
    if !ms.is_finite() || !(0.0..=60_000.0).contains(&ms) {
        return Err(SimulatorError::new_err(format!(
            "{name} must be 0-60000 ms, got {ms}"
        )));
    }
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

/// Names of the bundled scenarios.
#[pyfunction]
pub fn bundled_scenarios() -> Vec<&'static str> {
    BUNDLED.iter().map(|(name, _)| *name).collect()
}

/// A scenario's site run fast-forward over its last `seconds` (ending where a
/// freshly started simulator begins), sampled every `step_seconds` and
/// bucketed by `bucket_seconds`, as JSON text (see `Site::history`).
#[pyfunction]
pub fn site_history(
    scenario: &str,
    seconds: f64,
    step_seconds: f64,
    bucket_seconds: f64,
    seed: u64,
) -> PyResult<String> {
    let scenario = load_scenario(scenario)?;
    let ledger =
        crate::ledger::embedded().map_err(|err| SimulatorError::new_err(err.to_string()))?;
    let history = Site::history(
        &scenario,
        ledger,
        seed,
        seconds,
        step_seconds,
        bucket_seconds,
    )?;
    serde_json::to_string(&history).map_err(|err| SimulatorError::new_err(err.to_string()))
}

/// Starts a simulator; delivers a `SimulatorCore`.
#[pyfunction]
#[pyo3(signature = (bridge, scenario, host, port, latency_ms, jitter_ms, service_time_ms, max_connections, seed, mqtt_port=None, mqtt_password=None, mqtt_tls_port=None))]
#[allow(clippy::too_many_arguments)]
pub fn start_simulator(
    bridge: &BridgeCore,
    scenario: &str,
    host: &str,
    port: u16,
    latency_ms: f64,
    jitter_ms: f64,
    service_time_ms: f64,
    max_connections: Option<usize>,
    seed: u64,
    mqtt_port: Option<u16>,
    mqtt_password: Option<String>,
    mqtt_tls_port: Option<u16>,
) -> PyResult<u64> {
    let ip: IpAddr = host
        .parse()
        .map_err(|_| SimulatorError::new_err(format!("{host:?} is not an IP address")))?;
    let mut config = SimConfig::new(load_scenario(scenario)?);
    config.bind = SocketAddr::new(ip, port);
    config.latency = duration_ms("latency_ms", latency_ms)?;
    config.jitter = duration_ms("jitter_ms", jitter_ms)?;
    config.service_time = duration_ms("service_time_ms", service_time_ms)?;
    config.max_connections = max_connections;
    config.seed = seed;
    if mqtt_port.is_some() || mqtt_tls_port.is_some() {
        config.mqtt = Some(MqttConfig {
            bind: mqtt_port.map(|port| SocketAddr::new(ip, port)),
            tls_bind: mqtt_tls_port.map(|port| SocketAddr::new(ip, port)),
            password: mqtt_password,
        });
    }
    Ok(spawn(bridge, None, move |_| async move {
        let simulator = Simulator::start(config).await?;
        Ok(SimulatorCore {
            addr: simulator.addr(),
            inner: Arc::new(simulator),
            tasks: TaskGroup::new(),
        })
    })?)
}

/// A running simulator (the Rust side of `victron_gx_modbus.Simulator`).
#[pyclass(module = "victron_gx_modbus._core", frozen)]
pub struct SimulatorCore {
    addr: SocketAddr,
    inner: Arc<Simulator>,
    tasks: TaskGroup,
}

#[pymethods]
impl SimulatorCore {
    /// The IP address it listens on.
    #[getter]
    fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    /// The TCP port it listens on.
    #[getter]
    fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The TCP port of its plaintext MQTT face (`None` without one).
    #[getter]
    fn mqtt_port(&self) -> Option<u16> {
        self.inner.mqtt_addr().map(|addr| addr.port())
    }

    /// The TCP port of its MQTT face over TLS (`None` without one).
    #[getter]
    fn mqtt_tls_port(&self) -> Option<u16> {
        self.inner.mqtt_tls_addr().map(|addr| addr.port())
    }

    /// The SHA-256 fingerprint of the certificate its MQTT over TLS shows
    /// (`AB:CD:...`; `None` without TLS).
    #[getter]
    fn mqtt_fingerprint(&self) -> Option<String> {
        self.inner.mqtt_fingerprint().map(|f| f.to_string())
    }

    /// Shows a new certificate on MQTT over TLS from now on; returns its
    /// fingerprint (`SimulatorError` without TLS).
    fn rotate_mqtt_certificate(&self) -> PyResult<String> {
        Ok(self.inner.rotate_mqtt_certificate()?.to_string())
    }

    /// Request statistics and the write log as JSON text.
    fn stats_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner.stats())
            .map_err(|err| SimulatorError::new_err(err.to_string()))
    }

    /// Clears the statistics.
    fn reset_stats(&self) {
        self.inner.reset_stats();
    }

    /// The next `count` requests get no reply.
    fn stall(&self, count: u32) {
        self.inner.stall(count);
    }

    /// The next `count` replies are cut in half and the connection closed.
    fn drop_next_replies(&self, count: u32) {
        self.inner.inject(ReplyFault::DropMidReply, count);
    }

    /// The next `count` replies are malformed (`bad_length`, `wrong_transaction`,
    /// `wrong_unit`, `bad_protocol`).
    fn malform_next_replies(&self, kind: &str, count: u32) -> PyResult<()> {
        let kind: Malformation = kind.parse().map_err(SimulatorError::new_err)?;
        self.inner.inject(ReplyFault::Malformed(kind), count);
        Ok(())
    }

    /// From now on every `n`-th reply is cut and its connection closed (0: stop).
    fn drop_every(&self, n: u32) {
        self.inner.drop_every(n);
    }

    /// Drops pending faults.
    fn clear_faults(&self) {
        self.inner.clear_faults();
    }

    /// Simulates a reboot: connections closed and refused for `seconds`.
    fn reboot(&self, seconds: f64) -> PyResult<()> {
        self.inner.reboot(duration_ms("reboot", seconds * 1000.0)?);
        Ok(())
    }

    /// Unplugs (or plugs back) a device by scenario id.
    fn set_present(&self, bridge: &BridgeCore, device: String, present: bool) -> PyResult<u64> {
        let inner = Arc::clone(&self.inner);
        Ok(spawn(bridge, Some(&self.tasks), move |_| async move {
            Ok(inner.set_present(&device, present).await?)
        })?)
    }

    /// Holds a device's register at `value` from now on (the site changed).
    fn hold(&self, bridge: &BridgeCore, device: String, key: String, value: f64) -> PyResult<u64> {
        let inner = Arc::clone(&self.inner);
        Ok(spawn(bridge, Some(&self.tasks), move |_| async move {
            Ok(inner.hold(&device, &key, value).await?)
        })?)
    }

    /// Delivers the scenario's devices as JSON text.
    fn devices_json(&self, bridge: &BridgeCore) -> PyResult<u64> {
        let inner = Arc::clone(&self.inner);
        Ok(spawn(bridge, Some(&self.tasks), move |_| async move {
            let devices = inner.devices().await?;
            serde_json::to_string(&devices).map_err(|err| CoreError::Simulator(err.to_string()))
        })?)
    }

    /// Ends this simulator's pending calls, stops it and releases its port.
    fn stop(&self, bridge: &BridgeCore) -> PyResult<u64> {
        let ended = self.tasks.close();
        let inner = Arc::clone(&self.inner);
        Ok(spawn(bridge, None, move |_| async move {
            ended.await;
            inner.stop().await;
            Ok(())
        })?)
    }
}
