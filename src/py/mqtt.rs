//! MQTT discovery options as Python passes them to a scan.

use std::time::Duration;

use pyo3::prelude::*;

use crate::mqtt::MqttOptions;

/// `(host, port, username, password, portal_id, timeout_s)`, from
/// `victron_gx_modbus.MqttOptions`.
#[derive(FromPyObject)]
pub struct MqttArgs(
    String,
    u16,
    Option<String>,
    Option<String>,
    Option<String>,
    f64,
);

/// Checks and converts the options (a bad value is a `ValueError`).
pub fn mqtt_options(args: MqttArgs) -> PyResult<MqttOptions> {
    let MqttArgs(host, port, username, password, portal_id, timeout) = args;
    let bad = |message: &str| Err(pyo3::exceptions::PyValueError::new_err(message.to_owned()));
    if host.trim().is_empty() {
        return bad("MQTT host must not be empty");
    }
    if port == 0 {
        return bad("MQTT port must be 1-65535");
    }
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= 600.0) {
        return bad("MQTT timeout must be 0-600 s");
    }
    Ok(MqttOptions {
        host,
        port,
        username,
        password,
        portal_id,
        timeout: Duration::from_secs_f64(timeout),
    })
}
