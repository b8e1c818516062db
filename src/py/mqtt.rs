//! MQTT discovery options as Python passes them to a scan.

use std::time::Duration;

use pyo3::prelude::*;

use crate::discovery::listed_devices;
use crate::ledger::Ledger;
use crate::mqtt::{Fingerprint, MqttError, MqttOptions, Security, ServiceList, MQTT_TLS_PORT};

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

/// Why the service list could not be read, as Python sees it.
fn error_kind(err: &MqttError) -> &'static str {
    match err {
        MqttError::Unreachable { .. } => "unreachable",
        MqttError::BadCredentials(_) => "credentials",
        MqttError::Refused(_) => "refused",
        MqttError::Timeout(_) => "timeout",
        MqttError::NoServiceList => "no_list",
        MqttError::Protocol(_) => "protocol",
        MqttError::UntrustedCertificate(_) => "untrusted",
        MqttError::CertificateChanged { .. } => "certificate_changed",
        MqttError::Tls(_) => "tls",
    }
}

/// The outcome of reading the service list as JSON: `portal_id`, `listed`
/// and `active` counts, the active `(unit, service type)` pairs as listed
/// (`services`) and as a scan of them reports the devices this library
/// knows (`devices`), the GX `firmware` (null when not published), what
/// the listed services published about their devices (`published`: product,
/// firmware, serial, custom name) and the TLS certificate's `fingerprint`
/// (null over plaintext); or `error` (its kind) and `message`, with the
/// `fingerprint` shown (and the `expected` one) when the certificate was the
/// reason. The password is never part of it.
pub fn check_json(outcome: &Result<ServiceList, MqttError>, ledger: &Ledger) -> String {
    match outcome {
        Ok(list) => {
            let active = list.active();
            let devices: Vec<(u8, String)> = listed_devices(&active)
                .into_iter()
                .filter(|(_, service)| ledger.service(service).is_some())
                .collect();
            serde_json::json!({
                "portal_id": list.portal_id,
                "listed": list.services.len(),
                "active": active.len(),
                "services": active,
                "devices": devices,
                "firmware": list.firmware,
                "published": list.published,
                "fingerprint": list.fingerprint,
            })
        }
        Err(err) => {
            let mut json = serde_json::json!({
                "error": error_kind(err),
                "message": err.to_string(),
            });
            match err {
                MqttError::UntrustedCertificate(seen) => {
                    json["fingerprint"] = seen.to_string().into();
                }
                MqttError::CertificateChanged { expected, seen } => {
                    json["fingerprint"] = seen.to_string().into();
                    json["expected"] = expected.to_string().into();
                }
                _ => {}
            }
            json
        }
    }
    .to_string()
}
