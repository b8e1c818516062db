//! Reading the GX's Modbus TCP service list over its MQTT broker (rumqttc),
//! over TLS on 8883 when the GX offers it, else plaintext on 1883.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, Packet, QoS};
use serde::{Deserialize, Serialize};

use super::facts::{self, DeviceFacts, FactsCollector};
use super::tls::{client_config, Fingerprint, Seen};
use super::{
    payload_value, redacted, value_topic, ListedService, FIRMWARE_PATH, MQTT_PORT, MQTT_TLS_PORT,
};

/// How long the list may stay silent before it counts as complete, when the
/// GX does not announce the end of its full publish.
const QUIET: Duration = Duration::from_millis(300);

/// How long the DISCONNECT may take to leave.
const GOODBYE: Duration = Duration::from_millis(100);

/// How the connection to the GX's broker is made. Nothing is ever sent over
/// TLS to a certificate the caller has not named: the first contact with a
/// GX that offers TLS ends in [`MqttError::UntrustedCertificate`], whose
/// fingerprint the caller shows, and passes back as [`Security::Pinned`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plaintext on `port` only.
    Plaintext,
    /// TLS on `tls_port` when something accepts connections there (its
    /// certificate is reported, not used), else plaintext on `port`.
    Auto,
    /// TLS on `tls_port` only, with exactly this certificate: never
    /// plaintext, so a blocked TLS port cannot downgrade the connection.
    Pinned(Fingerprint),
}

/// Where and how to reach the GX's MQTT broker (`Debug` hides the password).
#[derive(Clone, PartialEq, Eq)]
pub struct MqttOptions {
    /// Host name or IP address (usually the GX's Modbus host).
    pub host: String,
    /// Plaintext port (1883).
    pub port: u16,
    /// TLS port (8883).
    pub tls_port: u16,
    /// Plaintext, TLS when offered, or TLS with a known certificate.
    pub security: Security,
    /// User name sent with a password (a GX ignores it; default empty).
    pub username: Option<String>,
    /// The GX's password, when its security profile asks for one.
    pub password: Option<String>,
    /// Portal ID of the topics; learnt from `N/+/system/0/Serial` when absent.
    pub portal_id: Option<String>,
    /// Bound on the whole exchange, connection included.
    pub timeout: Duration,
}

impl std::fmt::Debug for MqttOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls_port", &self.tls_port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &redacted(self.password.as_deref()))
            .field("portal_id", &self.portal_id)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl MqttOptions {
    /// TLS on 8883 when offered (reported, see [`Security::Auto`]), else
    /// plaintext on 1883; no password, portal ID learnt, 5 s bound.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port: MQTT_PORT,
            tls_port: MQTT_TLS_PORT,
            security: Security::Auto,
            username: None,
            password: None,
            portal_id: None,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Why the service list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MqttError {
    /// Nothing accepts connections there (MQTT on LAN is off, or a wrong host).
    #[error("cannot connect to the GX's MQTT at {addr}: {message}")]
    Unreachable {
        /// `host:port`.
        addr: String,
        /// The OS error.
        message: String,
    },
    /// The broker refused the password (or its absence).
    #[error("the GX's MQTT refused the credentials ({0})")]
    BadCredentials(String),
    /// The broker refused the connection for another reason.
    #[error("the GX's MQTT refused the connection ({0})")]
    Refused(String),
    /// The GX offers TLS with a certificate the caller has not named: check
    /// its fingerprint (the GX's own pages, or `openssl s_client`) and pass
    /// it as [`Security::Pinned`] to use it. Nothing was sent.
    #[error("the GX's MQTT offers TLS with a certificate not trusted yet (SHA-256 fingerprint {0}); pass that fingerprint to trust it")]
    UntrustedCertificate(Fingerprint),
    /// The GX showed another certificate than the one trusted: a new GX or
    /// a reset one, or someone in between. Nothing was sent.
    #[error("the GX's MQTT certificate changed: SHA-256 fingerprint {seen}, trusted {expected}")]
    CertificateChanged {
        /// The fingerprint that was trusted.
        expected: Fingerprint,
        /// The fingerprint of the certificate shown now.
        seen: Fingerprint,
    },
    /// Something accepts connections on the TLS port but the TLS handshake
    /// failed (not TLS, no common protocol version or cipher, a bad signature).
    #[error("TLS with the GX's MQTT failed: {0}")]
    Tls(String),
    /// The broker did not complete the exchange in time.
    #[error("the GX's MQTT did not deliver the service list within {0:?}")]
    Timeout(Duration),
    /// The broker answered but published no Modbus TCP service list (or
    /// none of its services is active).
    #[error("the GX's MQTT has no Modbus TCP service list (is its Modbus TCP server on?)")]
    NoServiceList,
    /// The connection broke or the broker spoke something else than MQTT.
    #[error("the GX's MQTT connection failed: {0}")]
    Protocol(String),
}

/// The GX's Modbus TCP service list, as its MQTT broker published it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceList {
    /// Portal ID of the topics (the GX's VRM id).
    pub portal_id: String,
    /// Every listed service, in the GX's order (active or not).
    pub services: Vec<ListedService>,
    /// The GX firmware (Venus OS version, e.g. `v3.60`), when published.
    #[serde(default)]
    pub firmware: Option<String>,
    /// What the listed services published about their devices (product,
    /// firmware, serial, custom name), read in the same full publish.
    #[serde(default)]
    pub published: Vec<DeviceFacts>,
    /// The fingerprint of the certificate of the TLS connection it came
    /// over; `None` over plaintext.
    #[serde(default)]
    pub fingerprint: Option<Fingerprint>,
}

impl ServiceList {
    /// (unit, service type) of every active service, as the GX lists them.
    pub fn active(&self) -> Vec<(u8, String)> {
        self.services
            .iter()
            .filter(|s| s.active)
            .filter_map(|s| Some((s.unit, s.service_type()?.to_owned())))
            .collect()
    }
}

/// Connects to the GX's broker (as `options.security` says), learns the
/// portal ID if needed, asks for a full publish (keepalive) and collects
/// `modbustcp/0/Services/#`, the firmware version and each device's product,
/// firmware, serial and custom name until the GX says the publish is complete
/// (or the list stays quiet for a moment).
pub async fn read_services(options: &MqttOptions) -> Result<ServiceList, MqttError> {
    match tokio::time::timeout(options.timeout, connect_and_read(options)).await {
        Ok(result) => result,
        Err(_) => Err(MqttError::Timeout(options.timeout)),
    }
}

/// One way to the broker: plaintext, or TLS trusting one certificate (or none).
enum Link {
    Plain,
    Tls {
        config: Arc<rustls::ClientConfig>,
        expected: Option<Fingerprint>,
        seen: Seen,
    },
}

impl Link {
    fn tls(expected: Option<Fingerprint>) -> Result<Self, MqttError> {
        let (config, seen) =
            client_config(expected).map_err(|err| MqttError::Tls(err.to_string()))?;
        Ok(Self::Tls {
            config,
            expected,
            seen,
        })
    }

    fn port(&self, options: &MqttOptions) -> u16 {
        match self {
            Self::Plain => options.port,
            Self::Tls { .. } => options.tls_port,
        }
    }

    /// What a failed TLS handshake means: the certificate was not trusted
    /// (and which one it was), or TLS itself failed.
    fn tls_failure(&self, message: String) -> MqttError {
        let Self::Tls { expected, seen, .. } = self else {
            return MqttError::Protocol(message);
        };
        match (seen.get(), *expected) {
            (Some(seen), None) => MqttError::UntrustedCertificate(seen),
            (Some(seen), Some(expected)) if seen != expected => {
                MqttError::CertificateChanged { expected, seen }
            }
            _ => MqttError::Tls(message),
        }
    }
}

/// TLS first when asked, falling back to plaintext only when nothing
/// accepts connections on the TLS port (see [`Security`]).
async fn connect_and_read(options: &MqttOptions) -> Result<ServiceList, MqttError> {
    match options.security {
        Security::Plaintext => exchange(options, &Link::Plain).await,
        Security::Pinned(fingerprint) => exchange(options, &Link::tls(Some(fingerprint))?).await,
        Security::Auto => match exchange(options, &Link::tls(None)?).await {
            Err(MqttError::Unreachable { addr: tls, .. }) => exchange(options, &Link::Plain)
                .await
                .map_err(|err| match err {
                    MqttError::Unreachable { addr, message } => MqttError::Unreachable {
                        addr: format!("{tls} (TLS) or {addr}"),
                        message,
                    },
                    other => other,
                }),
            other => other,
        },
    }
}

/// A client ID no other client of the GX uses (a broker drops the older of two).
fn client_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("victron-gx-modbus-{}-{nanos:08x}", std::process::id())
}

fn connection_error(options: &MqttOptions, link: &Link, err: ConnectionError) -> MqttError {
    match err {
        ConnectionError::ConnectionRefused(
            code @ (ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized),
        ) => MqttError::BadCredentials(format!("{code:?}")),
        ConnectionError::ConnectionRefused(code) => MqttError::Refused(format!("{code:?}")),
        ConnectionError::Io(io) => MqttError::Unreachable {
            addr: format!("{}:{}", options.host, link.port(options)),
            message: io.to_string(),
        },
        ConnectionError::Tls(tls) => link.tls_failure(tls.to_string()),
        ConnectionError::NetworkTimeout => MqttError::Timeout(options.timeout),
        other => MqttError::Protocol(other.to_string()),
    }
}

/// One list entry as it arrives: service name, unit ID, active.
type Entry = (Option<String>, Option<u8>, Option<bool>);

/// What the exchange has learnt so far.
#[derive(Default)]
struct Collected {
    /// Index -> (service name, unit ID, active), filled field by field.
    entries: BTreeMap<u32, Entry>,
}

impl Collected {
    /// Takes one `Services/<n>/<field>` message (other fields are ignored).
    fn take(&mut self, rest: &str, bytes: &[u8]) {
        let mut parts = rest.split('/');
        let (Some(index), Some(field), None) = (parts.next(), parts.next(), parts.next()) else {
            return;
        };
        let Ok(index) = index.parse::<u32>() else {
            return;
        };
        let value = payload_value(bytes);
        let entry = self.entries.entry(index).or_default();
        match field {
            "ServiceName" => entry.0 = value.and_then(|v| v.as_str().map(str::to_owned)),
            "UnitId" => entry.1 = value.and_then(|v| v.as_u64()?.try_into().ok()),
            "IsActive" => entry.2 = value.as_ref().and_then(active_flag),
            _ => {}
        }
    }

    /// Entries with a name and a unit (an entry without `IsActive` counts as active).
    fn services(&self) -> Vec<ListedService> {
        self.entries
            .values()
            .filter_map(|(name, unit, active)| {
                Some(ListedService {
                    name: name.clone()?,
                    unit: (*unit)?,
                    active: active.unwrap_or(true),
                })
            })
            .collect()
    }
}

/// `IsActive` as a flag: a boolean, a number or a numeric string (0: not
/// active); `None` for anything else.
fn active_flag(value: &serde_json::Value) -> Option<bool> {
    match value {
        serde_json::Value::Bool(flag) => Some(*flag),
        serde_json::Value::Number(number) => number.as_f64().map(|n| n != 0.0),
        serde_json::Value::String(text) => text.trim().parse::<f64>().ok().map(|n| n != 0.0),
        _ => None,
    }
}

/// Sleeps until `at` (forever when `None`; the caller guards that case).
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn exchange(options: &MqttOptions, link: &Link) -> Result<ServiceList, MqttError> {
    let mut mqtt = rumqttc::MqttOptions::new(client_id(), options.host.clone(), link.port(options));
    if let Link::Tls { config, .. } = link {
        mqtt.set_transport(rumqttc::Transport::tls_with_config(
            rumqttc::TlsConfiguration::Rustls(Arc::clone(config)),
        ));
    }
    mqtt.set_keep_alive(Duration::from_secs(30));
    mqtt.set_clean_session(true);
    mqtt.set_max_packet_size(1 << 20, 1 << 16);
    if let Some(password) = &options.password {
        mqtt.set_credentials(options.username.clone().unwrap_or_default(), password);
    }
    // The echo that marks the end of the full publish our keepalive asked
    // for (another client's keepalive ends its own, not ours).
    let echo = client_id();
    let (client, mut events) = AsyncClient::new(mqtt, 16);
    let send = |result: Result<(), rumqttc::ClientError>| {
        result.map_err(|err| MqttError::Protocol(err.to_string()))
    };
    let mut portal = options.portal_id.clone();
    let mut collected = Collected::default();
    let mut device_facts = FactsCollector::default();
    let mut firmware = None;
    let mut last_change: Option<Instant> = None;
    loop {
        let quiet = last_change.map(|at| tokio::time::Instant::from_std(at + QUIET));
        let event = tokio::select! {
            event = events.poll() => event.map_err(|err| connection_error(options, link, err))?,
            () = sleep_until(quiet), if quiet.is_some() => break,
        };
        let Event::Incoming(packet) = event else {
            continue;
        };
        match packet {
            Packet::ConnAck(_) => match &portal {
                Some(id) => send(ask_for_services(&client, id, &echo))?,
                None => send(client.try_subscribe("N/+/system/0/Serial", QoS::AtMostOnce))?,
            },
            Packet::Publish(publish) => {
                let mut levels = publish.topic.splitn(3, '/');
                let (Some("N"), Some(id), Some(rest)) =
                    (levels.next(), levels.next(), levels.next())
                else {
                    continue;
                };
                match &portal {
                    None if rest == "system/0/Serial" => {
                        portal = Some(id.to_owned());
                        send(ask_for_services(&client, id, &echo))?;
                    }
                    Some(known) if known == id => {
                        if rest == "full_publish_completed" && completes(&publish.payload, &echo) {
                            break;
                        }
                        if rest.strip_prefix("platform/0") == Some(FIRMWARE_PATH) {
                            firmware = payload_value(&publish.payload)
                                .and_then(|v| v.as_str().map(str::to_owned));
                        }
                        if let Some(entry) = rest.strip_prefix("modbustcp/0/Services/") {
                            collected.take(entry, &publish.payload);
                            last_change = Some(Instant::now());
                        } else if device_facts.take(rest, &publish.payload) {
                            last_change = Some(Instant::now());
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // Say goodbye (the GX's broker logs clients that just vanish), briefly.
    if client.try_disconnect().is_ok() {
        let goodbye = async {
            while let Ok(event) = events.poll().await {
                if matches!(event, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(GOODBYE, goodbye).await;
    }
    let services = collected.services();
    let portal_id = portal.ok_or(MqttError::NoServiceList)?;
    // A GX's own services are always active: a list without an active entry
    // is no list to scan by.
    if !services.iter().any(|s| s.active) {
        return Err(MqttError::NoServiceList);
    }
    let published = device_facts.of_listed(&services);
    let fingerprint = match link {
        Link::Plain => None,
        Link::Tls { seen, .. } => seen.get(),
    };
    Ok(ServiceList {
        portal_id,
        services,
        firmware,
        published,
        fingerprint,
    })
}

/// Whether a `full_publish_completed` notice ends the full publish that the
/// keepalive carrying `echo` asked for (dbus-flashmq echoes the
/// `full-publish-completed-echo` keepalive option).
fn completes(payload: &[u8], echo: &str) -> bool {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| {
            v.get(ECHO_OPTION)
                .and_then(serde_json::Value::as_str)
                .map(|e| e == echo)
        })
        .unwrap_or(false)
}

/// The keepalive option (and notice field) that pairs a full publish with
/// the keepalive that asked for it.
pub(crate) const ECHO_OPTION: &str = "full-publish-completed-echo";

/// Subscribes to the service list, the devices' facts and the end-of-publish
/// notice, then sends
/// the keepalive that makes the GX publish everything, asking it to echo
/// `echo` when done.
fn ask_for_services(
    client: &AsyncClient,
    portal: &str,
    echo: &str,
) -> Result<(), rumqttc::ClientError> {
    client.try_subscribe(
        format!("N/{portal}/modbustcp/0/Services/#"),
        QoS::AtMostOnce,
    )?;
    client.try_subscribe(
        value_topic(portal, "platform", 0, FIRMWARE_PATH),
        QoS::AtMostOnce,
    )?;
    client.try_subscribe_many(
        facts::filters(portal)
            .into_iter()
            .map(|filter| rumqttc::SubscribeFilter::new(filter, QoS::AtMostOnce)),
    )?;
    client.try_subscribe(
        format!("N/{portal}/full_publish_completed"),
        QoS::AtMostOnce,
    )?;
    let options = serde_json::json!({ "keepalive-options": [{ ECHO_OPTION: echo }] });
    client.try_publish(
        format!("R/{portal}/keepalive"),
        QoS::AtMostOnce,
        false,
        options.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_echo_ends_the_full_publish() {
        assert!(completes(
            br#"{"full-publish-completed-echo": "ours"}"#,
            "ours"
        ));
        assert!(!completes(
            br#"{"full-publish-completed-echo": "theirs"}"#,
            "ours"
        ));
        assert!(!completes(
            br#"{"full-publish-completed-echo": ""}"#,
            "ours"
        ));
        assert!(!completes(b"{}", "ours"));
        assert!(!completes(b"not json", "ours"));
    }

    #[test]
    fn entries_fill_field_by_field() {
        let mut collected = Collected::default();
        collected.take(
            "0/ServiceName",
            br#"{"value": "com.victronenergy.vebus.ttyS4"}"#,
        );
        collected.take("0/UnitId", br#"{"value": 227}"#);
        collected.take("0/IsActive", br#"{"value": 1}"#);
        collected.take(
            "1/ServiceName",
            br#"{"value": "com.victronenergy.tank.socketcan_can0_vi0_uc0"}"#,
        );
        collected.take("1/UnitId", br#"{"value": 20}"#);
        collected.take("1/IsActive", br#"{"value": 0}"#);
        collected.take("2/UnitId", br#"{"value": 999}"#);
        collected.take("x/UnitId", b"{}");
        collected.take("3/Other/Deeper", b"{}");
        let list = ServiceList {
            portal_id: "p".to_owned(),
            services: collected.services(),
            firmware: None,
            published: Vec::new(),
            fingerprint: None,
        };
        assert_eq!(list.services.len(), 2);
        assert_eq!(list.active(), vec![(227, "vebus".to_owned())]);
    }

    #[test]
    fn debug_hides_the_password() {
        let mut options = MqttOptions::new("gx.local");
        assert!(format!("{options:?}").contains("password: None"));
        options.password = Some("s3cret-pw".to_owned());
        let shown = format!("{options:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(shown.contains(r#"password: Some("***")"#), "{shown}");
        assert!(shown.contains("gx.local"), "{shown}");
    }

    #[test]
    fn is_active_takes_booleans_numbers_and_numeric_strings() {
        let cases: [(&[u8], Option<bool>); 9] = [
            (br#"{"value": false}"#, Some(false)),
            (br#"{"value": 0}"#, Some(false)),
            (br#"{"value": "0"}"#, Some(false)),
            (br#"{"value": true}"#, Some(true)),
            (br#"{"value": 1}"#, Some(true)),
            (br#"{"value": "1"}"#, Some(true)),
            (br#"{"value": 0.0}"#, Some(false)),
            (br#"{"value": null}"#, None),
            (br#"{"value": "yes"}"#, None),
        ];
        for (payload, expected) in cases {
            let mut collected = Collected::default();
            collected.take("0/IsActive", payload);
            let flag = collected.entries.get(&0).and_then(|entry| entry.2);
            assert_eq!(flag, expected, "{}", String::from_utf8_lossy(payload));
        }
        // An inactive entry is listed as inactive, not left out or active.
        let mut collected = Collected::default();
        collected.take("0/ServiceName", br#"{"value": "com.victronenergy.tank.x"}"#);
        collected.take("0/UnitId", br#"{"value": 20}"#);
        collected.take("0/IsActive", br#"{"value": false}"#);
        assert!(!collected.services()[0].active);
    }
}
