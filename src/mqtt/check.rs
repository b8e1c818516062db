//! What a check of the GX's MQTT tells (`Client.mqtt_check`): the service
//! list's size and what a scan of it would report, or why it cannot be read.

use serde::Serialize;

use super::{DeviceFacts, Fingerprint, MqttError, ServiceList};
use crate::discovery::listed_devices;
use crate::ledger::Ledger;

/// Why the GX's MQTT list could not be read.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MqttErrorKind {
    /// Nothing listens (MQTT on LAN is off).
    Unreachable,
    /// The password was refused (or is missing).
    Credentials,
    /// Another refusal.
    Refused,
    /// No answer in time.
    Timeout,
    /// No Modbus TCP service list.
    NoList,
    /// A broken exchange.
    Protocol,
    /// TLS offered with a certificate not trusted yet (its `fingerprint` is in the check).
    Untrusted,
    /// Another certificate than the trusted one (raised as
    /// `MqttCertificateChanged` by the client).
    CertificateChanged,
    /// A failed TLS handshake (something else than TLS on the TLS port).
    Tls,
}

impl MqttErrorKind {
    /// The kind of an MQTT failure.
    pub fn of(err: &MqttError) -> Self {
        match err {
            MqttError::Unreachable { .. } => Self::Unreachable,
            MqttError::BadCredentials(_) => Self::Credentials,
            MqttError::Refused(_) => Self::Refused,
            MqttError::Timeout(_) => Self::Timeout,
            MqttError::NoServiceList => Self::NoList,
            MqttError::Protocol(_) => Self::Protocol,
            MqttError::UntrustedCertificate(_) => Self::Untrusted,
            MqttError::CertificateChanged { .. } => Self::CertificateChanged,
            MqttError::Tls(_) => Self::Tls,
        }
    }
}

/// Whether MQTT discovery works at a GX (`Client.mqtt_check`): the list's
/// size, or why not. The password is never part of it.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct MqttCheck {
    /// The portal ID (VRM id) of the GX's topics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portal_id: Option<String>,
    /// Services the GX lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed: Option<usize>,
    /// Listed services that are connected (what a scan over MQTT probes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<usize>,
    /// The connected services as (unit ID, service type) pairs, as the GX lists them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<(u8, String)>>,
    /// The devices a scan of that list reports, as (unit ID, service type)
    /// pairs: the GX's own services at unit 100, a device listed at unit 100
    /// at unit 0, only the service types this library knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<(u8, String)>>,
    /// The GX firmware (Venus OS version) its MQTT published; None when it published none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, schemars(extend("nullable" = true)))]
    pub firmware: Option<Option<String>>,
    /// What the listed services published about their devices (product,
    /// firmware, serial, custom name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<Vec<DeviceFacts>>,
    /// SHA-256 fingerprint of the GX's TLS certificate: of the connection
    /// (None over plaintext), or with error `untrusted`, of the certificate
    /// to show the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, schemars(extend("nullable" = true)))]
    pub fingerprint: Option<Option<Fingerprint>>,
    /// With error `certificate_changed`: the fingerprint that was trusted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Fingerprint>,
    /// Why the list could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<MqttErrorKind>,
    /// The failure as text, with its details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl MqttCheck {
    /// The check of an attempt to read the service list: the list's counts,
    /// the active `(unit, service type)` pairs as listed and as a scan of
    /// them reports the devices `ledger` knows, the firmware, what the
    /// services published and the certificate's fingerprint; or the error's
    /// kind and text, with the fingerprint shown (and the one expected) when
    /// the certificate was the reason.
    pub fn of(outcome: &Result<ServiceList, MqttError>, ledger: &Ledger) -> Self {
        match outcome {
            Ok(list) => {
                let active = list.active();
                let devices = listed_devices(&active)
                    .into_iter()
                    .filter(|(_, service)| ledger.service(service).is_some())
                    .collect();
                Self {
                    portal_id: Some(list.portal_id.clone()),
                    listed: Some(list.services.len()),
                    active: Some(active.len()),
                    services: Some(active),
                    devices: Some(devices),
                    firmware: Some(list.firmware.clone()),
                    published: Some(list.published.clone()),
                    fingerprint: Some(list.fingerprint),
                    ..Self::default()
                }
            }
            Err(err) => {
                let (fingerprint, expected) = match err {
                    MqttError::UntrustedCertificate(seen) => (Some(Some(*seen)), None),
                    MqttError::CertificateChanged { expected, seen } => {
                        (Some(Some(*seen)), Some(*expected))
                    }
                    _ => (None, None),
                };
                Self {
                    error: Some(MqttErrorKind::of(err)),
                    message: Some(err.to_string()),
                    fingerprint,
                    expected,
                    ..Self::default()
                }
            }
        }
    }
}
