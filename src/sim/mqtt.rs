//! The simulator's MQTT face: a small MQTT 3.1.1 broker (QoS 0 out, QoS 0
//! and 1 in) that publishes what a GX's broker publishes for discovery:
//! `N/<portal>/system/0/Serial` (retained, no keepalive needed) and, after a
//! keepalive on `R/<portal>/keepalive`, the Modbus TCP service list
//! `N/<portal>/modbustcp/0/Services/<n>/{ServiceName,UnitId,IsActive}` of
//! every device of the scenario and the GX firmware as Venus OS's platform
//! service has it (`N/<portal>/platform/0/Firmware/Installed/Version`, the
//! same version as registers 834-835), each device's identity as its
//! service publishes it (`N/<portal>/<service>/<instance>/ProductName`,
//! `ProductId`, `FirmwareVersion`, `Serial`, `CustomName`: what the scenario
//! gives), then `N/<portal>/full_publish_completed`.
//! With a password set, a connection without it is refused (CONNACK 4/5),
//! as on a GX whose security profile asks for one. The same broker serves
//! plaintext and, on its own port, TLS with the face's certificate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use std::time::Duration;

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{ConnAck, Packet, Publish, SubAck, UnsubAck};
use rumqttc::mqttbytes::{Error as CodecError, QoS};
use rumqttc::{ConnectReturnCode, SubscribeReasonCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::server::{DeviceInfo, Job};
use super::tls::Certificate;
use crate::mqtt::{payload, topic_matches, value_topic, ECHO_OPTION, FIRMWARE_PATH};
use crate::unit_ids::UNIT_ID_TABLE;

/// Largest packet accepted from a client.
const MAX_PACKET: usize = 1 << 16;

/// How long a client may take over the TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The GX's own services: their D-Bus names carry no suffix.
const GX_SERVICES: &[&str] = &["system", "settings", "hub4", "platform"];

/// What the MQTT face serves (`Debug` hides the password).
#[derive(Clone)]
pub(super) struct MqttFace {
    /// Portal ID of the topics.
    pub portal: String,
    /// The GX firmware (`v2.60`), when the scenario's system has one.
    pub firmware: Option<String>,
    /// Password a client must send (`None`: none asked).
    pub password: Option<String>,
    /// Requests for the scenario's devices go to the simulator's service.
    pub jobs: mpsc::UnboundedSender<Job>,
    /// Connections accepted so far (the simulator's stats show and reset it).
    pub connections: Arc<AtomicU64>,
}

impl std::fmt::Debug for MqttFace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttFace")
            .field("portal", &self.portal)
            .field("firmware", &self.firmware)
            .field("password", &crate::mqtt::redacted(self.password.as_deref()))
            .field("jobs", &self.jobs)
            .field("connections", &self.connections)
            .finish()
    }
}

/// The unit ID a GX lists for a device instance: its unit ID table first
/// (instance 0 is listed as 100), else the instance itself.
pub(super) fn listed_unit(instance: u16) -> Option<u8> {
    UNIT_ID_TABLE
        .iter()
        .find(|(_, listed)| *listed == instance)
        .map(|&(unit, _)| unit)
        .or_else(|| u8::try_from(instance).ok().filter(|&u| u <= 247))
}

/// The D-Bus service name of a simulated device.
fn service_name(device: &DeviceInfo) -> String {
    if GX_SERVICES.contains(&device.service.as_str()) {
        format!("com.victronenergy.{}", device.service)
    } else {
        format!("com.victronenergy.{}.sim_{}", device.service, device.id)
    }
}

/// The identity topics of one device, as its service publishes them (the
/// system service's serial is the portal ID, published on its own).
fn identity_topics(portal: &str, device: &DeviceInfo) -> Vec<(String, Vec<u8>)> {
    let identity = &device.identity;
    let text = |value: &Option<String>| value.clone().map(serde_json::Value::from);
    let serial = if device.service == "system" {
        None
    } else {
        text(&identity.serial)
    };
    let facts = [
        ("/ProductName", text(&identity.product_name)),
        (
            "/ProductId",
            identity.product_id.map(serde_json::Value::from),
        ),
        (
            "/FirmwareVersion",
            identity.firmware.map(serde_json::Value::from),
        ),
        ("/Serial", serial),
        ("/CustomName", text(&identity.custom_name)),
    ];
    facts
        .into_iter()
        .filter_map(|(path, value)| {
            let topic = value_topic(portal, &device.service, device.instance, path);
            Some((topic, payload(&value?)))
        })
        .collect()
}

impl MqttFace {
    /// Every topic of a full publish, in order, ending with the completion
    /// notice that echoes the keepalive's `echo` option (empty without one).
    async fn full_publish(&self, echo: &str) -> Vec<(String, Vec<u8>)> {
        let (reply, answer) = oneshot::channel();
        let devices = match self.jobs.send(Job::Devices { reply }) {
            Ok(()) => answer.await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let portal = &self.portal;
        let mut out = vec![self.serial()];
        if let Some(firmware) = &self.firmware {
            out.push((
                value_topic(portal, "platform", 0, FIRMWARE_PATH),
                payload(&firmware.clone().into()),
            ));
        }
        let listed = devices
            .iter()
            .filter_map(|d| Some((d, listed_unit(d.instance)?)));
        for (index, (device, unit)) in listed.enumerate() {
            let base = format!("N/{portal}/modbustcp/0/Services/{index}");
            out.push((
                format!("{base}/ServiceName"),
                payload(&service_name(device).into()),
            ));
            out.push((format!("{base}/UnitId"), payload(&unit.into())));
            out.push((
                format!("{base}/IsActive"),
                payload(&u8::from(device.present).into()),
            ));
        }
        for device in &devices {
            out.extend(identity_topics(portal, device));
        }
        out.push((
            format!("N/{portal}/full_publish_completed"),
            serde_json::json!({ ECHO_OPTION: echo })
                .to_string()
                .into_bytes(),
        ));
        out
    }

    /// The topic a GX publishes without a keepalive.
    fn serial(&self) -> (String, Vec<u8>) {
        (
            value_topic(&self.portal, "system", 0, "/Serial"),
            payload(&self.portal.clone().into()),
        )
    }
}

/// Accepts MQTT clients until shutdown: plaintext, or over TLS with the
/// certificate shown at the time of the connection.
pub(super) async fn accept_loop(
    listener: TcpListener,
    tls: Option<Arc<Certificate>>,
    face: Arc<MqttFace>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                face.connections.fetch_add(1, Ordering::Relaxed);
                let face = Arc::clone(&face);
                match &tls {
                    None => connections.spawn(serve(stream, face)),
                    Some(certificate) => connections.spawn(serve_tls(stream, certificate.acceptor(), face)),
                };
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

/// One client over TLS: the handshake (bounded), then the packet loop. A
/// client that refuses the certificate or speaks no TLS is just dropped.
async fn serve_tls(stream: TcpStream, acceptor: tokio_rustls::TlsAcceptor, face: Arc<MqttFace>) {
    match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => serve(stream, face).await,
        Ok(Err(err)) => log::debug!("GX simulator MQTT: TLS handshake failed: {err}"),
        Err(_) => log::debug!("GX simulator MQTT: TLS handshake timed out"),
    }
}

/// One client connection: a packet loop until it disconnects or misbehaves.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, face: Arc<MqttFace>) {
    let mut input = BytesMut::with_capacity(4096);
    let mut filters: Vec<String> = Vec::new();
    let mut connected = false;
    loop {
        let packet = match Packet::read(&mut input, MAX_PACKET) {
            Ok(packet) => packet,
            Err(CodecError::InsufficientBytes(_)) => match stream.read_buf(&mut input).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            },
            Err(err) => {
                log::debug!("GX simulator MQTT: dropping a client: {err}");
                return;
            }
        };
        let mut out: Vec<Packet> = Vec::new();
        match packet {
            Packet::Connect(connect) if !connected => {
                let sent = connect.login.as_ref().map(|login| login.password.as_str());
                let code = match (&face.password, sent) {
                    (None, _) => ConnectReturnCode::Success,
                    (Some(wanted), Some(sent)) if wanted == sent => ConnectReturnCode::Success,
                    (Some(_), Some(_)) => ConnectReturnCode::BadUserNamePassword,
                    (Some(_), None) => ConnectReturnCode::NotAuthorized,
                };
                connected = code == ConnectReturnCode::Success;
                out.push(Packet::ConnAck(ConnAck::new(code, false)));
                if !connected {
                    let _ = send(&mut stream, &out).await;
                    return;
                }
            }
            _ if !connected => return,
            Packet::Subscribe(subscribe) => {
                let codes = subscribe
                    .filters
                    .iter()
                    .map(|_| SubscribeReasonCode::Success(QoS::AtMostOnce))
                    .collect();
                out.push(Packet::SubAck(SubAck::new(subscribe.pkid, codes)));
                let (topic, bytes) = face.serial();
                if subscribe
                    .filters
                    .iter()
                    .any(|f| topic_matches(&f.path, &topic))
                {
                    let mut retained = Publish::new(topic, QoS::AtMostOnce, bytes);
                    retained.retain = true;
                    out.push(Packet::Publish(retained));
                }
                filters.extend(subscribe.filters.into_iter().map(|f| f.path));
            }
            Packet::Unsubscribe(unsubscribe) => {
                filters.retain(|f| !unsubscribe.topics.contains(f));
                out.push(Packet::UnsubAck(UnsubAck::new(unsubscribe.pkid)));
            }
            Packet::Publish(publish) => {
                if publish.qos == QoS::AtLeastOnce {
                    out.push(Packet::PubAck(rumqttc::PubAck::new(publish.pkid)));
                }
                if publish.topic == format!("R/{}/keepalive", face.portal) {
                    for (topic, bytes) in face.full_publish(&keepalive_echo(&publish.payload)).await
                    {
                        if filters.iter().any(|f| topic_matches(f, &topic)) {
                            out.push(Packet::Publish(Publish::new(topic, QoS::AtMostOnce, bytes)));
                        }
                    }
                }
            }
            Packet::PingReq => out.push(Packet::PingResp),
            Packet::Disconnect => return,
            // A second CONNECT, or packets only a broker sends.
            _ => return,
        }
        if send(&mut stream, &out).await.is_err() {
            return;
        }
    }
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, packets: &[Packet]) -> std::io::Result<()> {
    let mut buffer = BytesMut::new();
    for packet in packets {
        packet
            .write(&mut buffer, MAX_PACKET)
            .map_err(|err| std::io::Error::other(err.to_string()))?;
    }
    stream.write_all(&buffer).await?;
    // TLS holds what it has not sent yet until flushed.
    stream.flush().await
}

/// The `full-publish-completed-echo` option of a keepalive's payload, e.g.
/// `{"keepalive-options": [{"full-publish-completed-echo": "id"}]}` (empty
/// when absent or unreadable, as a GX answers a bare keepalive).
fn keepalive_echo(payload: &[u8]) -> String {
    let options = serde_json::from_slice::<serde_json::Value>(payload).ok();
    options
        .as_ref()
        .and_then(|v| v.get("keepalive-options"))
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|option| option.get(ECHO_OPTION).and_then(serde_json::Value::as_str))
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keepalive_echo_is_read_from_its_options() {
        let asked = br#"{"keepalive-options": ["suppress-republish", {"full-publish-completed-echo": "x1"}]}"#;
        assert_eq!(keepalive_echo(asked), "x1");
        assert_eq!(keepalive_echo(b""), "");
        assert_eq!(keepalive_echo(br#"{"keepalive-options": []}"#), "");
    }

    #[test]
    fn units_are_listed_like_the_gx_lists_them() {
        assert_eq!(listed_unit(0), Some(100));
        assert_eq!(listed_unit(276), Some(227));
        assert_eq!(listed_unit(20), Some(20));
        assert_eq!(listed_unit(300), None);
    }
}
