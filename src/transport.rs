//! The connection to a GX: Modbus TCP over tokio with our own framing, so that
//! several requests can be pipelined on one socket and replies matched by
//! transaction id (the GX may answer out of order).
//!
//! Bounds protect the GX: at most `max_in_flight` requests at once and at
//! most `max_rate` requests per second on average: a burst of what the rate
//! allows in [`BURST`] (at least `max_in_flight`) may go at once, so a
//! poll's requests are not spaced one by one (see `pacing`). Frames queued
//! together go out in one write, and the reader takes every reply waiting
//! on the socket in one read. Every request has a timeout; a lost
//! connection fails its pending requests at once and the next request
//! reconnects, after an exponential backoff with jitter. A reply that is not
//! Modbus TCP at all (another server on the port, garbage) fails the pending
//! requests with [`TransportError::Protocol`] and the connection is replaced.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, Instant};

use crate::frame::{self, split_frame, Frame, Reply};
use crate::pacing::Pacer;
use crate::rng::Rng;
use crate::sync::lock;

/// How to reach a GX and how hard to press it.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Host name or IP address.
    pub host: String,
    /// TCP port (502 on a GX).
    pub port: u16,
    /// Time allowed to open the connection.
    pub connect_timeout: Duration,
    /// Time allowed for each reply.
    pub request_timeout: Duration,
    /// Most requests in flight at once (pipelined on one connection).
    pub max_in_flight: usize,
    /// Most requests per second on average (0: unlimited); a burst of
    /// what the rate allows in [`BURST`] may go at once.
    pub max_rate: f64,
    /// First reconnect delay; doubles per failure up to `backoff_max`.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
}

impl TransportConfig {
    /// Defaults suited to a GX on a LAN.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(3),
            max_in_flight: 8,
            max_rate: 500.0,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
        }
    }
}

/// Why a request got no Modbus reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The GX could not be reached (or we are waiting before retrying).
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// host:port.
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// No reply in time.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The connection closed while the request was pending.
    #[error("connection lost: {0}")]
    ConnectionLost(String),
    /// A reply that does not fit the request.
    #[error("malformed reply: {0}")]
    Malformed(String),
    /// What came back is not Modbus TCP at all (another protocol on the
    /// port, or garbage): the connection is dropped and replaced.
    #[error("not a Modbus TCP reply: {0}")]
    Protocol(String),
    /// The transport was closed.
    #[error("the client is closed")]
    Closed,
}

/// Request counters and latency of a transport.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Requests sent.
    pub requests: u64,
    /// Replies that carried data or an acknowledgement.
    pub replies: u64,
    /// Exception replies by code (in JSON, the code as text).
    pub exceptions: std::collections::BTreeMap<u8, u64>,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Replies that did not fit their request.
    pub malformed: u64,
    /// Replies that arrived for no pending request (late after a timeout).
    pub unmatched: u64,
    /// Failed connection attempts.
    pub connect_failures: u64,
    /// Connections opened after the first.
    pub reconnects: u64,
    /// Connections lost.
    pub disconnects: u64,
    /// Latency percentiles in milliseconds (recent requests).
    pub latency_ms: Latency,
}

/// Latency percentiles in milliseconds.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

const LATENCY_WINDOW: usize = 2048;
/// The rate limit lets through at once what the rate allows in this time
/// (and at least `max_in_flight` requests): at 500 requests/s, 50.
pub const BURST: Duration = Duration::from_millis(100);
/// Times a read is sent when the connection keeps dropping under it.
pub const READ_ATTEMPTS: u32 = 5;
/// Consecutive timeouts after which the connection is replaced.
const TIMEOUTS_BEFORE_RECONNECT: u32 = 2;

/// The requests waiting on one connection, and why it ended once it has.
#[derive(Default)]
struct Waiters {
    by_transaction: HashMap<u16, oneshot::Sender<Result<Frame, TransportError>>>,
    ended: Option<TransportError>,
}

type Pending = Arc<Mutex<Waiters>>;

/// One open connection. Frames are written whole by its writer task, so a
/// request cancelled by its caller never leaves half a frame on the wire.
struct Connection {
    outbox: mpsc::UnboundedSender<Vec<u8>>,
    pending: Pending,
    alive: Arc<AtomicBool>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

/// A pending request's entry, removed when the request ends in any way
/// (also when its caller drops it mid-flight).
struct PendingEntry<'a> {
    pending: &'a Pending,
    transaction: u16,
}

impl Drop for PendingEntry<'_> {
    fn drop(&mut self) {
        lock(self.pending).by_transaction.remove(&self.transaction);
    }
}

enum Link {
    Up(Arc<Connection>),
    Down { retry_at: Instant, failures: u32 },
    Closed,
}

#[derive(Default)]
struct Counters {
    metrics: Metrics,
    latencies: VecDeque<f64>,
    consecutive_timeouts: u32,
    connected_once: bool,
    losses: LossLog,
}

/// At most one warning about a lost connection per [`LOSS_WARNING_EVERY`]:
/// a flaky GX that resets the connection every few replies must not flood
/// the log (the others go to debug, and the next warning counts them).
const LOSS_WARNING_EVERY: Duration = Duration::from_secs(300);

struct LossLog {
    every: Duration,
    last_warning: Option<Instant>,
    since_warning: u64,
}

impl Default for LossLog {
    fn default() -> Self {
        Self {
            every: LOSS_WARNING_EVERY,
            last_warning: None,
            since_warning: 0,
        }
    }
}

impl LossLog {
    /// Logs one lost or dropped connection (`what`, e.g. "connection to … lost: …");
    /// whether that was a warning.
    fn log(&mut self, what: &str) -> bool {
        let now = Instant::now();
        if self
            .last_warning
            .is_some_and(|last| now.duration_since(last) < self.every)
        {
            self.since_warning += 1;
            log::debug!("{what}");
            return false;
        }
        match std::mem::take(&mut self.since_warning) {
            0 => log::warn!("{what}"),
            more => log::warn!(
                "{what} ({more} more connection losses since the last warning, logged at debug)"
            ),
        }
        self.last_warning = Some(now);
        true
    }
}

/// A connection to one GX, shared by every caller (cheap to clone).
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    config: TransportConfig,
    link: tokio::sync::Mutex<Link>,
    permits: Semaphore,
    pacer: Pacer,
    next_transaction: AtomicU16,
    /// Connections opened so far (a new one tells a caller it reconnected).
    opened: AtomicU64,
    counters: Arc<Mutex<Counters>>,
    jitter: Mutex<Rng>,
}

/// Requests the rate limit lets through at once.
fn burst(config: &TransportConfig) -> usize {
    let allowed = config.max_rate * BURST.as_secs_f64();
    let allowed = if allowed.is_finite() && allowed >= 1.0 {
        allowed as usize
    } else {
        1
    };
    allowed.max(config.max_in_flight)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

impl Transport {
    /// A transport; nothing connects until the first request.
    pub fn new(config: TransportConfig) -> Self {
        let permits = Semaphore::new(config.max_in_flight.max(1));
        Self {
            inner: Arc::new(Inner {
                link: tokio::sync::Mutex::new(Link::Down {
                    retry_at: Instant::now(),
                    failures: 0,
                }),
                permits,
                pacer: Pacer::new(config.max_rate, burst(&config)),
                next_transaction: AtomicU16::new(1),
                opened: AtomicU64::new(0),
                counters: Arc::new(Mutex::new(Counters::default())),
                jitter: Mutex::new(Rng::new(0x9E37_79B9_7F4A_7C15 ^ u64::from(config.port))),
                config,
            }),
        }
    }

    /// A copy of the counters with current latency percentiles.
    pub fn metrics(&self) -> Metrics {
        let counters = lock(&self.inner.counters);
        let mut metrics = counters.metrics.clone();
        let mut sorted: Vec<f64> = counters.latencies.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        metrics.latency_ms = Latency {
            p50: percentile(&sorted, 0.5),
            p90: percentile(&sorted, 0.9),
            p99: percentile(&sorted, 0.99),
            max: sorted.last().copied().unwrap_or(0.0),
        };
        metrics
    }

    /// Makes sure a connection is up: opens one if none is and the backoff
    /// allows an attempt now (one attempt; no request is sent).
    pub async fn connect(&self) -> Result<(), TransportError> {
        self.connection().await.map(|_| ())
    }

    /// How many connections have been opened so far; a caller that sees it
    /// change knows the connection was (re)established meanwhile.
    pub fn connections_opened(&self) -> u64 {
        self.inner.opened.load(Ordering::Relaxed)
    }

    /// Closes the connection; later requests fail with [`TransportError::Closed`].
    pub async fn close(&self) {
        let mut link = self.inner.link.lock().await;
        if let Link::Up(conn) = &*link {
            fail_all(&conn.pending, &TransportError::Closed);
        }
        *link = Link::Closed;
        self.inner.permits.close();
    }

    /// Sends one request PDU to a unit and waits for its reply.
    pub async fn request(&self, unit: u8, pdu: Vec<u8>) -> Result<Reply, TransportError> {
        let function = pdu.first().copied().unwrap_or(0);
        let quantity = match function {
            frame::function::READ_HOLDING | frame::function::READ_INPUT if pdu.len() >= 5 => {
                u16::from_be_bytes([pdu[3], pdu[4]])
            }
            _ => 1,
        };
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| TransportError::Closed)?;
        if let Some(slot) = self.inner.pacer.reserve() {
            sleep_until(slot).await;
        }
        let conn = self.connection().await?;
        let transaction = self.inner.next_transaction.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            // A connection that ended since it was handed out (the peer spoke
            // first, or closed) fails the request at once, with its reason.
            let mut waiters = lock(&conn.pending);
            if let Some(ended) = &waiters.ended {
                return Err(ended.clone());
            }
            waiters.by_transaction.insert(transaction, tx);
        }
        let _entry = PendingEntry {
            pending: &conn.pending,
            transaction,
        };
        let bytes = Frame {
            transaction,
            unit,
            pdu,
        }
        .encode();
        let started = Instant::now();
        lock(&self.inner.counters).metrics.requests += 1;
        if conn.outbox.send(bytes).is_err() {
            self.lose(&conn, "writer stopped").await;
            return Err(TransportError::ConnectionLost("writer stopped".into()));
        }
        let outcome = timeout(self.inner.config.request_timeout, rx).await;
        let reply = match outcome {
            Ok(Ok(Ok(frame))) => frame,
            Ok(Ok(Err(err))) => return Err(err),
            Ok(Err(_)) => return Err(TransportError::ConnectionLost("connection dropped".into())),
            Err(_) => return Err(self.timed_out(&conn).await),
        };
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let parsed = if reply.unit == unit {
            frame::parse_reply(function, quantity, &reply.pdu)
        } else {
            Err(format!("reply from unit {}, asked unit {unit}", reply.unit))
        };
        let mut counters = lock(&self.inner.counters);
        counters.consecutive_timeouts = 0;
        if counters.latencies.len() == LATENCY_WINDOW {
            counters.latencies.pop_front();
        }
        counters.latencies.push_back(elapsed_ms);
        match parsed {
            Ok(Reply::Exception(code)) => {
                *counters.metrics.exceptions.entry(code).or_default() += 1;
                Ok(Reply::Exception(code))
            }
            Ok(reply) => {
                counters.metrics.replies += 1;
                Ok(reply)
            }
            Err(reason) => {
                counters.metrics.malformed += 1;
                Err(TransportError::Malformed(reason))
            }
        }
    }

    /// Reads `quantity` holding registers.
    ///
    /// A read lost because the connection dropped under it is sent again on
    /// a new connection, up to [`READ_ATTEMPTS`] times in all (a read can be
    /// repeated safely), so a GX that resets connections now and then costs
    /// retries, not a failed scan.
    pub async fn read(&self, unit: u8, start: u16, quantity: u16) -> Result<Reply, TransportError> {
        let pdu = || frame::read_request(frame::function::READ_HOLDING, start, quantity);
        let mut attempt = 1;
        loop {
            match self.request(unit, pdu()).await {
                Err(TransportError::ConnectionLost(reason)) if attempt < READ_ATTEMPTS => {
                    log::debug!("read of unit {unit} at {start} lost ({reason}); sending it again");
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn timed_out(&self, conn: &Arc<Connection>) -> TransportError {
        let replace = {
            let mut counters = lock(&self.inner.counters);
            counters.metrics.timeouts += 1;
            counters.consecutive_timeouts += 1;
            counters.consecutive_timeouts >= TIMEOUTS_BEFORE_RECONNECT
        };
        if replace {
            self.lose(conn, "no replies: replacing the connection")
                .await;
        }
        TransportError::Timeout(self.inner.config.request_timeout)
    }

    /// Drops a connection that failed (if it is still the current one).
    async fn lose(&self, conn: &Arc<Connection>, reason: &str) {
        if conn.alive.swap(false, Ordering::Relaxed) {
            let mut counters = lock(&self.inner.counters);
            counters.metrics.disconnects += 1;
            counters.losses.log(&format!(
                "connection to {}:{} dropped: {reason}",
                self.inner.config.host, self.inner.config.port
            ));
        }
        fail_all(
            &conn.pending,
            &TransportError::ConnectionLost(reason.to_owned()),
        );
        let mut link = self.inner.link.lock().await;
        if matches!(&*link, Link::Up(current) if Arc::ptr_eq(current, conn)) {
            *link = Link::Down {
                retry_at: Instant::now(),
                failures: 0,
            };
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let config = &self.inner.config;
        let exponent = failures.saturating_sub(1).min(16);
        let base = config
            .backoff_min
            .saturating_mul(1 << exponent)
            .min(config.backoff_max);
        // Jitter of +-20 % so that many clients do not retry in step.
        base.mul_f64(0.8 + 0.4 * lock(&self.inner.jitter).unit())
    }

    /// The live connection, opening one when allowed.
    async fn connection(&self) -> Result<Arc<Connection>, TransportError> {
        let config = &self.inner.config;
        let mut link = self.inner.link.lock().await;
        let addr_text = || format!("{}:{}", config.host, config.port);
        let failures = match &*link {
            Link::Up(conn) if conn.alive.load(Ordering::Relaxed) => return Ok(Arc::clone(conn)),
            Link::Up(_) => 0,
            Link::Closed => return Err(TransportError::Closed),
            Link::Down { retry_at, failures } => {
                if Instant::now() < *retry_at {
                    return Err(TransportError::Connect {
                        addr: addr_text(),
                        reason: format!(
                            "waiting {:.1} s before retrying",
                            retry_at
                                .saturating_duration_since(Instant::now())
                                .as_secs_f64()
                        ),
                    });
                }
                *failures
            }
        };
        match timeout(config.connect_timeout, open(&config.host, config.port)).await {
            Ok(Ok((stream, addr))) => {
                let conn = Arc::new(spawn_connection(
                    stream,
                    Arc::clone(&self.inner.counters),
                    addr_text(),
                ));
                let mut counters = lock(&self.inner.counters);
                if counters.connected_once {
                    counters.metrics.reconnects += 1;
                    log::info!("reconnected to {addr}");
                }
                counters.connected_once = true;
                counters.consecutive_timeouts = 0;
                drop(counters);
                self.inner.opened.fetch_add(1, Ordering::Relaxed);
                *link = Link::Up(Arc::clone(&conn));
                Ok(conn)
            }
            outcome => {
                let reason = match outcome {
                    Ok(Err(err)) => err.to_string(),
                    _ => format!("no answer within {:?}", config.connect_timeout),
                };
                let (addr_text, failures) = (addr_text(), failures + 1);
                let delay = self.backoff(failures);
                lock(&self.inner.counters).metrics.connect_failures += 1;
                if failures == 1 {
                    log::warn!("cannot connect to {addr_text}: {reason}; retrying with backoff");
                }
                *link = Link::Down {
                    retry_at: Instant::now() + delay,
                    failures,
                };
                Err(TransportError::Connect {
                    addr: addr_text,
                    reason,
                })
            }
        }
    }
}

async fn open(host: &str, port: u16) -> std::io::Result<(TcpStream, SocketAddr)> {
    let stream = TcpStream::connect((host, port)).await?;
    stream.set_nodelay(true)?;
    let addr = stream.peer_addr()?;
    Ok((stream, addr))
}

/// Ends a connection's waiters: each pending request fails with `error`,
/// and so does any request that comes to it later.
fn fail_all(pending: &Pending, error: &TransportError) {
    let mut waiters = lock(pending);
    waiters.ended.get_or_insert_with(|| error.clone());
    for (_, waiter) in waiters.by_transaction.drain() {
        let _ = waiter.send(Err(error.clone()));
    }
}

/// Why reading a frame failed: a header that is not Modbus TCP is a
/// protocol error; a connection that ends mid-frame or fails is lost.
fn read_failure(err: &std::io::Error) -> TransportError {
    match err.kind() {
        std::io::ErrorKind::InvalidData => TransportError::Protocol(err.to_string()),
        std::io::ErrorKind::UnexpectedEof => {
            TransportError::ConnectionLost("closed in the middle of a reply".to_owned())
        }
        _ => TransportError::ConnectionLost(format!("read failed: {err}")),
    }
}

/// Marks a connection ended (once) and fails its pending requests.
fn connection_ended(
    alive: &AtomicBool,
    counters: &Mutex<Counters>,
    pending: &Pending,
    addr: &str,
    error: TransportError,
) {
    if alive.swap(false, Ordering::Relaxed) {
        let mut counters = lock(counters);
        counters.metrics.disconnects += 1;
        counters
            .losses
            .log(&format!("connection to {addr} lost: {error}"));
    }
    fail_all(pending, &error);
}

/// Bytes the reader asks for at once: every reply waiting on the socket
/// comes in one read (a short read also spares the read that would find
/// nothing more).
const READ_CHUNK: usize = 4096;

/// Hands each reply on the connection to its waiting request until the
/// connection ends; why it ended.
async fn read_replies(
    reader: &mut tokio::net::tcp::OwnedReadHalf,
    pending: &Pending,
    counters: &Mutex<Counters>,
) -> TransportError {
    let mut received: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    loop {
        let mut used = 0;
        loop {
            match split_frame(&received[used..]) {
                Ok(Some((frame, length))) => {
                    used += length;
                    let waiter = lock(pending).by_transaction.remove(&frame.transaction);
                    match waiter {
                        Some(waiter) => {
                            let _ = waiter.send(Ok(frame));
                        }
                        None => lock(counters).metrics.unmatched += 1,
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    lock(counters).metrics.malformed += 1;
                    return read_failure(&err);
                }
            }
        }
        received.drain(..used);
        received.reserve(READ_CHUNK);
        match reader.read_buf(&mut received).await {
            // Closed between frames (or within a header: nothing to parse).
            Ok(0) if received.len() < frame::HEADER => {
                return TransportError::ConnectionLost("closed by the GX".to_owned())
            }
            Ok(0) => {
                lock(counters).metrics.malformed += 1;
                return read_failure(&std::io::ErrorKind::UnexpectedEof.into());
            }
            Ok(_) => {}
            Err(err) => {
                lock(counters).metrics.malformed += 1;
                return read_failure(&err);
            }
        }
    }
}

/// Starts the reader and the writer of a new connection. They hold only the
/// counters, so a dropped transport drops its connection (and them with it).
fn spawn_connection(stream: TcpStream, counters: Arc<Mutex<Counters>>, addr: String) -> Connection {
    let (mut reader, mut writer) = stream.into_split();
    let pending: Pending = Arc::new(Mutex::new(Waiters::default()));
    let alive = Arc::new(AtomicBool::new(true));
    let (outbox, mut frames) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn({
        let (pending, alive, counters, addr) = (
            Arc::clone(&pending),
            Arc::clone(&alive),
            Arc::clone(&counters),
            addr.clone(),
        );
        async move {
            // Frames queued meanwhile go out in the same write.
            let mut batch = Vec::new();
            while let Some(bytes) = frames.recv().await {
                batch.clear();
                batch.extend_from_slice(&bytes);
                while let Ok(more) = frames.try_recv() {
                    batch.extend_from_slice(&more);
                }
                if let Err(err) = writer.write_all(&batch).await {
                    let error = TransportError::ConnectionLost(format!("write failed: {err}"));
                    connection_ended(&alive, &counters, &pending, &addr, error);
                    break;
                }
            }
        }
    });
    let reader_pending = Arc::clone(&pending);
    let reader_alive = Arc::clone(&alive);
    let reader = tokio::spawn(async move {
        let error = read_replies(&mut reader, &reader_pending, &counters).await;
        connection_ended(&reader_alive, &counters, &reader_pending, &addr, error);
    });
    Connection {
        outbox,
        pending,
        alive,
        reader,
        writer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connection_losses_warn_once_per_period() {
        let mut losses = LossLog {
            every: Duration::from_millis(100),
            ..LossLog::default()
        };
        assert!(losses.log("lost 1"), "the first loss is a warning");
        assert!(!losses.log("lost 2"));
        assert!(!losses.log("lost 3"));
        assert_eq!(losses.since_warning, 2);
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(losses.log("lost 4"), "a period later, a warning again");
        assert_eq!(losses.since_warning, 0, "counted in that warning");
    }
}
