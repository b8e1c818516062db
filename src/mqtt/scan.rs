//! A scan that asks the GX's MQTT first: the exact service list when the
//! broker answers, the quick Modbus scan at once when it does not.
//! A list read earlier (a check) is scanned as it is, without asking again.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::{
    apply_facts, read_services, DeviceFacts, Fingerprint, MqttError, MqttOptions, ServiceList,
};
use crate::discovery::{scan, ScanError, ScanMode, ScanProgress, ScanResult};
use crate::ledger::Ledger;
use crate::transport::Transport;

/// What one discovery phase found and cost.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(rename = "DiscoveryPhase"))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    /// `mqtt`, `quick`, `deep` or `units`.
    pub name: String,
    /// Devices found.
    pub devices: usize,
    /// Modbus requests sent.
    pub requests: u64,
    /// Modbus requests the GX refused (each an error in its log).
    pub failed_requests: u64,
    /// Wall time (for MQTT: reading the list plus scanning its units).
    pub duration_ms: f64,
    /// Services the GX's MQTT listed (active or not), for the MQTT phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed: Option<usize>,
    /// Why the phase did not finish (the MQTT phase when it fell back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Phase {
    /// The phase a finished scan was.
    pub fn of(result: &ScanResult) -> Self {
        Self {
            name: result.mode.clone(),
            devices: result.devices.len(),
            requests: result.stats.requests,
            failed_requests: result.stats.failed_requests,
            duration_ms: result.stats.duration_ms,
            listed: None,
            error: None,
        }
    }
}

/// How the devices were found.
///
/// The phases in order, and why MQTT was not used when it was asked for and
/// failed.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Discovery {
    /// The phase whose devices the result holds (`mqtt` when the list was used).
    pub used: String,
    /// Why the MQTT list was not used (`None` when it was, or not asked for).
    pub fallback: Option<String>,
    /// Every phase run.
    pub phases: Vec<Phase>,
    /// The fingerprint of the GX's MQTT certificate: of the TLS connection
    /// the list came over, or of the certificate not trusted yet that made
    /// the scan fall back (absent over plaintext or without MQTT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
}

impl Discovery {
    /// A scan of one phase, without MQTT.
    pub fn single(result: &ScanResult) -> Self {
        Self {
            used: result.mode.clone(),
            fallback: None,
            phases: vec![Phase::of(result)],
            fingerprint: None,
        }
    }
}

/// What a reading of the GX's MQTT list told, as a scan of exactly those
/// services needs it (no MQTT session of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedUnits {
    /// (unit, service type) of every active service, as the GX lists them.
    pub active: Vec<(u8, String)>,
    /// Services the list holds, active or not.
    pub listed: usize,
    /// The GX firmware its platform service published, if any.
    pub firmware: Option<String>,
    /// What the listed services published about their devices.
    pub published: Vec<DeviceFacts>,
}

impl From<&ServiceList> for ListedUnits {
    fn from(list: &ServiceList) -> Self {
        Self {
            active: list.active(),
            listed: list.services.len(),
            firmware: list.firmware.clone(),
            published: list.published.clone(),
        }
    }
}

/// Scans exactly the listed services over Modbus (`ScanMode::Exact`), with
/// no MQTT exchange: for a caller that has just read the list. A GX older
/// than list 3.66 has no firmware registers; its platform service still
/// says which Venus OS it runs, so the list's firmware fills that in. What
/// the services published about their devices (product name and ID,
/// firmware, serial, custom name) fills in the devices found.
pub async fn scan_listed(
    transport: &Transport,
    ledger: &'static Ledger,
    listed: &ListedUnits,
    progress: Arc<dyn Fn(ScanProgress) + Send + Sync>,
) -> Result<(ScanResult, Discovery), ScanError> {
    let mode = ScanMode::Exact(listed.active.clone());
    let mut result = scan(transport, ledger, mode, progress).await?;
    if result.gx.firmware.is_none() {
        result.gx.firmware.clone_from(&listed.firmware);
    }
    apply_facts(&mut result.devices, &listed.published);
    let mut phase = Phase::of(&result);
    phase.listed = Some(listed.listed);
    let discovery = Discovery {
        used: phase.name.clone(),
        fallback: None,
        phases: vec![phase],
        fingerprint: None,
    };
    Ok((result, discovery))
}

/// Why a scan that asked the GX's MQTT first stopped.
#[derive(Debug, thiserror::Error)]
pub enum MqttScanError {
    /// The scan over Modbus failed.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// The GX's MQTT showed another certificate than the trusted one
    /// ([`MqttError::CertificateChanged`]): not a reason to fall back
    /// quietly, the user must decide whether to trust the new one.
    #[error(transparent)]
    Certificate(MqttError),
}

/// Reads the GX's service list over MQTT and scans exactly those units; when
/// the broker cannot be reached, refuses the credentials, times out, has no
/// list or shows a certificate not trusted yet, runs the quick scan instead
/// and says why. A changed certificate stops the scan
/// ([`MqttScanError::Certificate`]).
pub async fn scan_with_mqtt(
    transport: &Transport,
    ledger: &'static Ledger,
    options: &MqttOptions,
    progress: Arc<dyn Fn(ScanProgress) + Send + Sync>,
) -> Result<(ScanResult, Discovery), MqttScanError> {
    let started = Instant::now();
    let listed = read_services(options).await;
    let mqtt_ms = started.elapsed().as_secs_f64() * 1000.0;
    match listed {
        Ok(list) => {
            let (result, mut discovery) =
                scan_listed(transport, ledger, &ListedUnits::from(&list), progress).await?;
            // The phase's time includes reading the list.
            if let Some(phase) = discovery.phases.first_mut() {
                phase.duration_ms += mqtt_ms;
            }
            discovery.fingerprint = list.fingerprint;
            Ok((result, discovery))
        }
        Err(err @ MqttError::CertificateChanged { .. }) => Err(MqttScanError::Certificate(err)),
        Err(err) => {
            log::info!("MQTT discovery unavailable, scanning over Modbus: {err}");
            let result = scan(transport, ledger, ScanMode::Quick, progress).await?;
            let failed = Phase {
                name: "mqtt".to_owned(),
                devices: 0,
                requests: 0,
                failed_requests: 0,
                duration_ms: mqtt_ms,
                listed: None,
                error: Some(err.to_string()),
            };
            let fingerprint = match err {
                MqttError::UntrustedCertificate(seen) => Some(seen),
                _ => None,
            };
            let discovery = Discovery {
                used: result.mode.clone(),
                fallback: Some(err.to_string()),
                phases: vec![failed, Phase::of(&result)],
                fingerprint,
            };
            Ok((result, discovery))
        }
    }
}
