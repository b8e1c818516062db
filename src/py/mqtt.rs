//! MQTT discovery options as Python passes them to a scan.

use std::time::Duration;

use pyo3::prelude::*;

use super::errors::CoreError;
use crate::ledger::Ledger;
use crate::mqtt::{
    Fingerprint, MqttCheck, MqttError, MqttOptions, Security, ServiceList, MQTT_TLS_PORT,
};

/// `(host, port, username, password, portal_id, timeout_s, tls_port,
/// fingerprint)`, from `victron_gx_modbus.MqttOptions`.
#[derive(FromPyObject)]
pub struct MqttArgs(
    String,
    u16,
    Option<String>,
    Option<String>,
    Option<String>,
    f64,
    Option<u16>,
    Option<String>,
);

/// Checks and converts the options (a bad value is a `ValueError`): no TLS
/// port is plaintext only, a TLS port TLS when offered, a fingerprint too
/// TLS with exactly that certificate.
pub fn mqtt_options(args: MqttArgs) -> PyResult<MqttOptions> {
    let MqttArgs(host, port, username, password, portal_id, timeout, tls_port, fingerprint) = args;
    let bad = |message: &str| Err(pyo3::exceptions::PyValueError::new_err(message.to_owned()));
    if host.trim().is_empty() {
        return bad("MQTT host must not be empty");
    }
    if port == 0 || tls_port == Some(0) {
        return bad("MQTT port must be 1-65535");
    }
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= 600.0) {
        return bad("MQTT timeout must be 0-600 s");
    }
    let security = match (tls_port, fingerprint) {
        (None, None) => Security::Plaintext,
        (Some(_), None) => Security::Auto,
        (Some(_), Some(text)) => match text.parse::<Fingerprint>() {
            Ok(fingerprint) => Security::Pinned(fingerprint),
            Err(err) => return bad(&err.to_string()),
        },
        (None, Some(_)) => return bad("an MQTT certificate fingerprint needs TLS (a TLS port)"),
    };
    Ok(MqttOptions {
        host,
        port,
        tls_port: tls_port.unwrap_or(MQTT_TLS_PORT),
        security,
        username,
        password,
        portal_id,
        timeout: Duration::from_secs_f64(timeout),
    })
}

/// The outcome of reading the service list as JSON (an [`MqttCheck`]; a
/// failure of MQTT is an outcome, not an error), its keys in order.
pub fn check_json(
    outcome: &Result<ServiceList, MqttError>,
    ledger: &Ledger,
) -> Result<String, CoreError> {
    Ok(serde_json::to_value(MqttCheck::of(outcome, ledger))?.to_string())
}
