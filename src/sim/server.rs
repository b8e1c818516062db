//! The simulator's Modbus TCP server.
//!
//! Like the GX, one single-threaded service answers the requests of every
//! client in turn (`service_time` each), while network latency (with jitter)
//! is spent per request in parallel: concurrency hides latency, not service
//! time. Pipelined requests on one socket are all answered, possibly out of
//! order. Faults (stalls, cut or spoiled replies, reboots, devices unplugged)
//! are injected through the handle.

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep, sleep_until, Instant};

use super::faults::{Faults, ReplyFault};
use super::gx::{Gx, Outcome};
use super::mqtt::{self, MqttFace};
use super::scenario::{DeviceIdentity, Scenario, ScenarioError};
use super::stats::Stats;
use super::tls::Certificate;
use crate::discovery::gx_firmware;
use crate::frame::{read_frame, Frame};
use crate::ledger::{self, LedgerError};
use crate::mqtt::Fingerprint;
use crate::rng::Rng;
use crate::sync::lock;

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The site to simulate.
    pub scenario: Scenario,
    /// Address to listen on (loopback in tests).
    pub bind: SocketAddr,
    /// Round-trip network latency per request.
    pub latency: Duration,
    /// Extra random latency, up to this much, per request.
    pub jitter: Duration,
    /// Time the single-threaded server spends on each request.
    pub service_time: Duration,
    /// Most connections at once (more are accepted and closed at once).
    pub max_connections: Option<usize>,
    /// Seed of value noise and jitter.
    pub seed: u64,
    /// Serve the GX's MQTT topics too (discovery's service list).
    pub mqtt: Option<MqttConfig>,
}

/// The simulator's MQTT face (see [`crate::mqtt`] for the topics; `Debug`
/// hides the password): plaintext, TLS with a self-signed certificate made
/// at start (as a GX's), or both.
#[derive(Clone)]
pub struct MqttConfig {
    /// Address of plaintext MQTT (loopback; port 0 picks one); `None`: no
    /// plaintext, as on a GX whose interface offers TLS only.
    pub bind: Option<SocketAddr>,
    /// Address of MQTT over TLS (port 0 picks one); `None`: no TLS.
    pub tls_bind: Option<SocketAddr>,
    /// Password clients must send (`None`: none asked).
    pub password: Option<String>,
}

impl std::fmt::Debug for MqttConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttConfig")
            .field("bind", &self.bind)
            .field("tls_bind", &self.tls_bind)
            .field("password", &crate::mqtt::redacted(self.password.as_deref()))
            .finish()
    }
}

impl SimConfig {
    /// A configuration for a scenario on 127.0.0.1 with an ephemeral port and no latency.
    pub fn new(scenario: Scenario) -> Self {
        Self {
            scenario,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            service_time: Duration::from_micros(200),
            max_connections: None,
            seed: 1,
            mqtt: None,
        }
    }
}

/// Why a simulator could not start or a control failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The embedded ledger is unusable.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The scenario is unusable.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// The MQTT face's certificate could not be made, or the face has no TLS.
    #[error("MQTT over TLS: {0}")]
    Tls(String),
    /// A control named something the scenario does not have.
    #[error("{0}")]
    Control(String),
    /// The simulator has stopped.
    #[error("the simulator has stopped")]
    Stopped,
}

/// A device as the simulator reports it.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(rename = "SimulatedDevice"))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    /// Scenario id.
    pub id: String,
    /// Service type.
    pub service: String,
    /// Device instance.
    pub instance: u16,
    /// Unit ID that reaches it.
    pub unit: Option<u8>,
    /// Connected now.
    pub present: bool,
    /// Registers of its service type.
    pub registers: usize,
    /// What its service publishes about it over MQTT.
    pub identity: DeviceIdentity,
}

/// Work for the single-threaded service.
pub(super) enum Job {
    Request {
        unit: u8,
        pdu: Vec<u8>,
        reply: oneshot::Sender<Outcome>,
    },
    SetPresent {
        device: String,
        present: bool,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Hold {
        device: String,
        key: String,
        value: f64,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Devices {
        reply: oneshot::Sender<Vec<DeviceInfo>>,
    },
}

struct Shared {
    stats: Mutex<Stats>,
    faults: Mutex<Faults>,
    rng: Mutex<Rng>,
    jobs: mpsc::UnboundedSender<Job>,
    latency: Duration,
    jitter: Duration,
    max_connections: Option<usize>,
    generation: watch::Sender<u64>,
    reboot: Notify,
    /// Set by a reboot until the server listens again: a connection that
    /// reached the listener before it closed is not served.
    rebooting: AtomicBool,
    down_for: Mutex<Duration>,
    open: AtomicU64,
    /// Connections the MQTT face accepted (kept by the face, shown in the stats).
    mqtt_connections: Arc<AtomicU64>,
}

impl Shared {
    /// One-way network delay: half the round trip plus random jitter.
    fn one_way_delay(&self) -> Duration {
        let jitter = self.jitter.mul_f64(lock(&self.rng).unit());
        self.latency / 2 + jitter / 2
    }
}

/// A running simulator; stops when dropped or on [`Simulator::stop`].
pub struct Simulator {
    addr: SocketAddr,
    mqtt_addr: Option<SocketAddr>,
    mqtt_tls_addr: Option<SocketAddr>,
    /// The MQTT face's TLS certificate, when it serves TLS.
    certificate: Option<Arc<Certificate>>,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// A listener on `addr` (a bind error names the address).
async fn bind(addr: SocketAddr) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })
}

impl Simulator {
    /// Starts a simulator on the current tokio runtime.
    pub async fn start(config: SimConfig) -> Result<Self, SimError> {
        let ledger = ledger::embedded()?;
        let gx = Gx::new(&config.scenario, ledger, config.seed)?;
        let listener = bind(config.bind).await?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.bind,
            source,
        })?;
        let (jobs, job_rx) = mpsc::unbounded_channel();
        let mqtt_connections = Arc::new(AtomicU64::new(0));
        let mqtt = match &config.mqtt {
            Some(mqtt) => Some(
                mqtt_listener(
                    mqtt,
                    &config.scenario,
                    jobs.clone(),
                    Arc::clone(&mqtt_connections),
                )
                .await?,
            ),
            None => None,
        };
        let (generation, _) = watch::channel(0);
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            stats: Mutex::new(Stats::default()),
            faults: Mutex::new(Faults::default()),
            rng: Mutex::new(Rng::new(config.seed ^ 0x5EED)),
            jobs,
            latency: config.latency,
            jitter: config.jitter,
            max_connections: config.max_connections,
            generation,
            reboot: Notify::new(),
            rebooting: AtomicBool::new(false),
            down_for: Mutex::new(Duration::ZERO),
            open: AtomicU64::new(0),
            mqtt_connections,
        });
        let service = tokio::spawn(service_loop(
            gx,
            job_rx,
            config.service_time,
            Arc::clone(&shared),
        ));
        let accept = tokio::spawn(accept_loop(
            listener,
            addr,
            Arc::clone(&shared),
            shutdown.subscribe(),
        ));
        let mut tasks = vec![service, accept];
        let (mut mqtt_addr, mut mqtt_tls_addr, mut certificate) = (None, None, None);
        if let Some(face) = mqtt {
            mqtt_addr = face.plain.as_ref().and_then(|l| l.local_addr().ok());
            if let Some((listener, cert)) = &face.tls {
                mqtt_tls_addr = listener.local_addr().ok();
                certificate = Some(Arc::clone(cert));
            }
            if let Some(listener) = face.plain {
                tasks.push(tokio::spawn(mqtt::accept_loop(
                    listener,
                    None,
                    Arc::clone(&face.face),
                    shutdown.subscribe(),
                )));
            }
            if let Some((listener, cert)) = face.tls {
                tasks.push(tokio::spawn(mqtt::accept_loop(
                    listener,
                    Some(cert),
                    face.face,
                    shutdown.subscribe(),
                )));
            }
        }
        log::info!(
            "GX simulator '{}' listening on {addr} (MQTT: {mqtt_addr:?}, over TLS: {mqtt_tls_addr:?})",
            config.scenario.name
        );
        Ok(Self {
            addr,
            mqtt_addr,
            mqtt_tls_addr,
            certificate,
            shared,
            shutdown,
            tasks: Mutex::new(tasks),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of its plaintext MQTT face, when it has one.
    pub fn mqtt_addr(&self) -> Option<SocketAddr> {
        self.mqtt_addr
    }

    /// The address of its MQTT face over TLS, when it has one.
    pub fn mqtt_tls_addr(&self) -> Option<SocketAddr> {
        self.mqtt_tls_addr
    }

    /// The SHA-256 fingerprint of the certificate its MQTT over TLS shows.
    pub fn mqtt_fingerprint(&self) -> Option<Fingerprint> {
        self.certificate.as_ref().map(|c| c.fingerprint())
    }

    /// Makes its MQTT over TLS show a new certificate from now on (as a
    /// reset or replaced GX would); returns the new fingerprint.
    /// [`SimError::Tls`] when it serves no TLS.
    pub fn rotate_mqtt_certificate(&self) -> Result<Fingerprint, SimError> {
        match &self.certificate {
            Some(certificate) => certificate.rotate(),
            None => Err(SimError::Tls(
                "the simulator serves no MQTT over TLS".to_owned(),
            )),
        }
    }

    /// A copy of the request statistics.
    pub fn stats(&self) -> Stats {
        let mut stats = lock(&self.shared.stats).clone();
        stats.connections_open = self.shared.open.load(Ordering::Relaxed);
        stats.mqtt_connections = self.shared.mqtt_connections.load(Ordering::Relaxed);
        stats
    }

    /// Clears the request statistics (not the site's state).
    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = Stats::default();
        self.shared.mqtt_connections.store(0, Ordering::Relaxed);
    }

    /// Injects a fault into the next `count` replies.
    pub fn inject(&self, fault: ReplyFault, count: u32) {
        lock(&self.shared.faults).queue(fault, count);
    }

    /// The next `count` requests are never answered.
    pub fn stall(&self, count: u32) {
        lock(&self.shared.faults).stall(count);
    }

    /// From now on every `n`-th reply is cut and its connection closed (0: stop).
    pub fn drop_every(&self, n: u32) {
        lock(&self.shared.faults).drop_every(n);
    }

    /// Drops every pending fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Simulates a GX reboot: every connection is closed and new ones are
    /// refused for `down_for`, then the server listens again on the same port.
    pub fn reboot(&self, down_for: Duration) {
        *lock(&self.shared.down_for) = down_for;
        self.shared.rebooting.store(true, Ordering::Release);
        self.shared
            .generation
            .send_modify(|generation| *generation += 1);
        self.shared.reboot.notify_one();
        lock(&self.shared.stats).reboots += 1;
    }

    /// Unplugs (or plugs back) a device by scenario id.
    pub async fn set_present(&self, device: &str, present: bool) -> Result<(), SimError> {
        let (reply, answer) = oneshot::channel();
        self.shared
            .jobs
            .send(Job::SetPresent {
                device: device.to_owned(),
                present,
                reply,
            })
            .map_err(|_| SimError::Stopped)?;
        answer
            .await
            .map_err(|_| SimError::Stopped)?
            .map_err(SimError::Control)
    }

    /// Holds a device's register (by scenario id and register key) at `value`
    /// from now on, as if the site had changed; what derives from it follows.
    pub async fn hold(&self, device: &str, key: &str, value: f64) -> Result<(), SimError> {
        let (reply, answer) = oneshot::channel();
        self.shared
            .jobs
            .send(Job::Hold {
                device: device.to_owned(),
                key: key.to_owned(),
                value,
                reply,
            })
            .map_err(|_| SimError::Stopped)?;
        answer
            .await
            .map_err(|_| SimError::Stopped)?
            .map_err(SimError::Control)
    }

    /// The devices of the scenario and whether each is connected.
    pub async fn devices(&self) -> Result<Vec<DeviceInfo>, SimError> {
        let (reply, answer) = oneshot::channel();
        self.shared
            .jobs
            .send(Job::Devices { reply })
            .map_err(|_| SimError::Stopped)?;
        answer.await.map_err(|_| SimError::Stopped)
    }

    /// Stops serving, closes every connection and releases the port.
    pub async fn stop(&self) {
        self.shutdown_now();
        let tasks = mem::take(&mut *lock(&self.tasks));
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }

    fn shutdown_now(&self) {
        self.shutdown.send_replace(true);
        self.shared
            .generation
            .send_modify(|generation| *generation += 1);
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shutdown_now();
        for task in lock(&self.tasks).iter() {
            task.abort();
        }
    }
}

/// The MQTT face's listeners and what they serve.
struct MqttListeners {
    plain: Option<TcpListener>,
    tls: Option<(TcpListener, Arc<Certificate>)>,
    face: Arc<MqttFace>,
}

/// Binds the MQTT face; its portal ID is the GX's serial, as on a GX.
async fn mqtt_listener(
    config: &MqttConfig,
    scenario: &Scenario,
    jobs: mpsc::UnboundedSender<Job>,
    connections: Arc<AtomicU64>,
) -> Result<MqttListeners, SimError> {
    let plain = match config.bind {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    let tls = match config.tls_bind {
        Some(addr) => Some((bind(addr).await?, Arc::new(Certificate::generate()?))),
        None => None,
    };
    let system = scenario.devices.iter().find(|d| d.service == "system");
    let portal = system
        .and_then(|d| d.serial.clone())
        .unwrap_or_else(|| "000000000000".to_owned());
    // What the GX firmware registers 834-835 hold, as Venus OS writes it.
    let firmware = system.and_then(|d| d.firmware).map(|raw| {
        let version = u16::try_from((raw >> 8) & 0xFFFF).unwrap_or(0);
        let beta = u16::try_from(raw & 0xFF).unwrap_or(0);
        gx_firmware(version, beta)
    });
    let face = MqttFace {
        portal,
        firmware,
        password: config.password.clone(),
        jobs,
        connections,
    };
    Ok(MqttListeners {
        plain,
        tls,
        face: Arc::new(face),
    })
}

async fn service_loop(
    mut gx: Gx,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    service_time: Duration,
    shared: Arc<Shared>,
) {
    let mut free_at = Instant::now();
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Request { unit, pdu, reply } => {
                // One request at a time; debt accumulates below timer resolution.
                free_at = free_at.max(Instant::now()) + service_time;
                if free_at > Instant::now() + Duration::from_millis(1) {
                    sleep_until(free_at).await;
                }
                let outcome = gx.handle(unit, &pdu, Instant::now().into_std());
                {
                    let mut stats = lock(&shared.stats);
                    stats.record(unit, pdu.first().copied().unwrap_or(0), outcome.exception);
                    stats.record_writes(outcome.writes.clone());
                }
                let _ = reply.send(outcome);
            }
            Job::SetPresent {
                device,
                present,
                reply,
            } => {
                let index = gx.site().devices().iter().position(|d| d.id == device);
                let result = match index {
                    Some(index) => {
                        gx.site_mut().set_present(index, present);
                        Ok(())
                    }
                    None => Err(format!("no device {device:?} in the scenario")),
                };
                let _ = reply.send(result);
            }
            Job::Hold {
                device,
                key,
                value,
                reply,
            } => {
                let index = gx.site().devices().iter().position(|d| d.id == device);
                let result = match index {
                    Some(index) => gx.site_mut().hold(index, &key, value),
                    None => Err(format!("no device {device:?} in the scenario")),
                };
                let _ = reply.send(result);
            }
            Job::Devices { reply } => {
                let ledger = gx.ledger();
                let site = gx.site();
                let infos = site
                    .devices()
                    .iter()
                    .enumerate()
                    .map(|(index, device)| {
                        let service = &ledger.services[device.service];
                        DeviceInfo {
                            id: device.id.clone(),
                            service: service.service_type().to_owned(),
                            instance: device.instance,
                            unit: device.unit,
                            present: device.present,
                            registers: service.registers.len(),
                            identity: site.identity(index),
                        }
                    })
                    .collect();
                let _ = reply.send(infos);
            }
        }
    }
}

async fn accept_loop(
    mut listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        // The reboot generation before accepting: a reboot that lands between
        // an accept and the connection's start still closes that connection.
        let epoch = *shared.generation.borrow();
        // Biased: a pending reboot closes the listener before another accept.
        tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            () = shared.reboot.notified() => {
                drop(listener);
                let down_for = *lock(&shared.down_for);
                log::info!("GX simulator rebooting: refusing connections for {down_for:?}");
                tokio::select! {
                    _ = shutdown.changed() => break,
                    () = sleep(down_for) => {}
                }
                listener = match rebind(addr, &mut shutdown).await {
                    Some(listener) => listener,
                    None => break,
                };
                shared.rebooting.store(false, Ordering::Release);
            }
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                if shared.rebooting.load(Ordering::Acquire) {
                    continue; // dropped: the GX is going down
                }
                let open = shared.open.load(Ordering::Relaxed);
                let full = shared.max_connections.is_some_and(|max| open >= max as u64);
                let mut stats = lock(&shared.stats);
                if full {
                    stats.connections_rejected += 1;
                    drop(stream);
                    continue;
                }
                stats.connections_accepted += 1;
                drop(stats);
                let _ = stream.set_nodelay(true);
                let generation = shared.generation.subscribe();
                connections.spawn(serve_connection(stream, Arc::clone(&shared), generation, epoch));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn rebind(addr: SocketAddr, shutdown: &mut watch::Receiver<bool>) -> Option<TcpListener> {
    loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Some(listener),
            Err(err) => log::warn!("GX simulator cannot listen again on {addr} yet: {err}"),
        }
        tokio::select! {
            _ = shutdown.changed() => return None,
            () = sleep(Duration::from_millis(50)) => {}
        }
    }
}

/// A reply on its way to the socket.
struct Outgoing {
    bytes: Vec<u8>,
    cut: bool,
}

async fn serve_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut generation: watch::Receiver<u64>,
    epoch: u64,
) {
    if *generation.borrow_and_update() != epoch {
        return;
    }
    shared.open.fetch_add(1, Ordering::Relaxed);
    let (mut reader, mut writer) = stream.into_split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outgoing>();
    let write_task = async move {
        while let Some(outgoing) = out_rx.recv().await {
            if outgoing.cut {
                let half = outgoing.bytes.len() / 2;
                let _ = writer.write_all(&outgoing.bytes[..half]).await;
                let _ = writer.shutdown().await;
                return;
            }
            if writer.write_all(&outgoing.bytes).await.is_err() {
                return;
            }
        }
    };
    let mut requests = JoinSet::new();
    let read_task = async {
        loop {
            match read_frame(&mut reader).await {
                Ok(Some(frame)) => {
                    // Reap finished requests so a long-lived connection holds no garbage.
                    while requests.try_join_next().is_some() {}
                    requests.spawn(answer(frame, Arc::clone(&shared), out_tx.clone()));
                }
                Ok(None) => break,
                Err(err) => {
                    lock(&shared.stats).malformed_requests += 1;
                    log::debug!("GX simulator dropping a connection: {err}");
                    break;
                }
            }
        }
    };
    // The connection ends when the client closes it (or sends garbage), when a
    // reply cuts it, or at a reboot or shutdown.
    tokio::select! {
        _ = generation.changed() => {}
        () = write_task => {}
        () = read_task => {}
    }
    requests.shutdown().await;
    shared.open.fetch_sub(1, Ordering::Relaxed);
}

async fn answer(request: Frame, shared: Arc<Shared>, out: mpsc::UnboundedSender<Outgoing>) {
    if lock(&shared.faults).take_stall() {
        lock(&shared.stats).faults_injected += 1;
        return;
    }
    sleep(shared.one_way_delay()).await;
    let (reply, outcome) = oneshot::channel();
    let job = Job::Request {
        unit: request.unit,
        pdu: request.pdu,
        reply,
    };
    if shared.jobs.send(job).is_err() {
        return;
    }
    let Ok(outcome) = outcome.await else { return };
    sleep(shared.one_way_delay()).await;
    let mut bytes = Frame {
        transaction: request.transaction,
        unit: request.unit,
        pdu: outcome.reply,
    }
    .encode();
    let fault = lock(&shared.faults).take_reply_fault();
    let cut = match fault {
        Some(ReplyFault::DropMidReply) => true,
        Some(ReplyFault::Malformed(kind)) => {
            kind.apply(&mut bytes);
            false
        }
        None => false,
    };
    if fault.is_some() {
        lock(&shared.stats).faults_injected += 1;
    }
    let _ = out.send(Outgoing { bytes, cut });
}
