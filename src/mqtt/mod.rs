//! The GX's MQTT face, used for discovery only: the Modbus TCP server's own
//! list of services (`com.victronenergy.modbustcp` `/Services/N/...`), which
//! names every unit ID and service type the GX serves, so a scan can probe
//! exactly those and cause no failed request, and what each device's
//! service publishes about it (product, firmware, serial, custom name), so
//! the scan can name the devices it finds.
//!
//! Topics follow Venus OS: values are published as
//! `N/<portal id>/<service type>/<instance>/<path>` with a JSON payload
//! `{"value": ...}` once a client publishes to `R/<portal id>/keepalive`;
//! `N/<portal id>/system/0/Serial` is published without a keepalive (it is
//! how a client learns the portal ID), and `N/<portal id>/full_publish_completed`
//! ends the full publish that a keepalive starts.

mod check;
mod discover;
mod facts;
mod scan;
mod tls;

pub use check::{MqttCheck, MqttErrorKind};
pub(crate) use discover::ECHO_OPTION;
pub use discover::{read_services, MqttError, MqttOptions, Security, ServiceList};
pub use facts::{apply_facts, instance_of_unit, DeviceFacts, FACT_PATHS};
pub use scan::{scan_listed, scan_with_mqtt, Discovery, ListedUnits, MqttScanError, Phase};
pub use tls::{tls_provider, Fingerprint, FingerprintError};

use serde::{Deserialize, Serialize};

/// The MQTT port of a GX (plaintext).
pub const MQTT_PORT: u16 = 1883;

/// The MQTT port of a GX over TLS (its self-signed certificate).
pub const MQTT_TLS_PORT: u16 = 8883;

/// Path of the installed Venus OS version in the GX's platform service
/// (`N/<portal>/platform/0/Firmware/Installed/Version`, e.g. `"v3.60"`).
pub const FIRMWARE_PATH: &str = "/Firmware/Installed/Version";

/// One entry of the GX's Modbus TCP service list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedService {
    /// D-Bus service name, e.g. `com.victronenergy.solarcharger.ttyO1`.
    pub name: String,
    /// Unit ID the GX lists for it.
    pub unit: u8,
    /// Whether the service is connected now.
    pub active: bool,
}

impl ListedService {
    /// The service type of its D-Bus name (`solarcharger`), if it is a Victron service.
    pub fn service_type(&self) -> Option<&str> {
        service_type(&self.name)
    }
}

/// The service type of a D-Bus service name:
/// `com.victronenergy.solarcharger.ttyO1` -> `solarcharger`.
pub fn service_type(name: &str) -> Option<&str> {
    let kind = name.strip_prefix("com.victronenergy.")?.split('.').next()?;
    (!kind.is_empty()).then_some(kind)
}

/// The topic of a Venus value: `N/<portal>/<service>/<instance><path>`.
pub fn value_topic(portal: &str, service: &str, instance: u16, path: &str) -> String {
    format!("N/{portal}/{service}/{instance}{path}")
}

/// A Venus payload: `{"value": ...}`.
pub fn payload(value: &serde_json::Value) -> Vec<u8> {
    serde_json::json!({ "value": value })
        .to_string()
        .into_bytes()
}

/// The `value` of a Venus payload (`None` when it is not one).
pub fn payload_value(bytes: &[u8]) -> Option<serde_json::Value> {
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(bytes).ok()?;
    object.remove("value")
}

/// Whether an MQTT topic filter (`+` and `#` wildcards) matches a topic.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let mut levels = topic.split('/');
    for part in filter.split('/') {
        match (part, levels.next()) {
            ("#", _) => return true,
            ("+", Some(_)) => {}
            (part, Some(level)) if part == level => {}
            _ => return false,
        }
    }
    levels.next().is_none()
}

/// A password as `Debug` shows it: `Some("***")` or `None`, never the text.
pub(crate) fn redacted(password: Option<&str>) -> Option<&'static str> {
    password.map(|_| "***")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_map_to_types() {
        assert_eq!(
            service_type("com.victronenergy.solarcharger.ttyO1"),
            Some("solarcharger")
        );
        assert_eq!(service_type("com.victronenergy.system"), Some("system"));
        assert_eq!(service_type("org.freedesktop.DBus"), None);
        assert_eq!(service_type("com.victronenergy."), None);
    }

    #[test]
    fn payloads_round_trip() {
        let bytes = payload(&serde_json::json!(227));
        assert_eq!(payload_value(&bytes), Some(serde_json::json!(227)));
        assert_eq!(payload_value(b"not json"), None);
        assert_eq!(payload_value(b"[1]"), None);
    }

    #[test]
    fn filters_match_like_a_broker() {
        assert!(topic_matches(
            "N/+/system/0/Serial",
            "N/abc/system/0/Serial"
        ));
        assert!(!topic_matches(
            "N/+/system/0/Serial",
            "N/abc/system/0/Serial/x"
        ));
        assert!(topic_matches(
            "N/abc/modbustcp/0/Services/#",
            "N/abc/modbustcp/0/Services/3/UnitId"
        ));
        assert!(topic_matches("N/abc/#", "N/abc"));
        assert!(!topic_matches("N/abc/x", "N/abc"));
    }
}
