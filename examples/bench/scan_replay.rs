//! Discovery over each client under test, with the same requests for all.
//!
//! A scan's later requests depend on earlier replies (the quick scan follows
//! evidence; every scan validates what it found before it goes on), so the
//! scan is first recorded on the wire: it runs through a small proxy in
//! front of the simulator with an unbounded window and no rate cap, so that
//! every request the scan can send at a moment is sent at once. A request
//! that reaches the proxy while no other is pending starts a new wave: the
//! scan waited for every reply before it. Then each client replays the waves
//! in order, every read of a wave at once (within the client's own bound on
//! requests in flight) and a wave only after the previous one ended, as the
//! scan does. A request that depends on a reply within the same wave (a
//! block split after a refusal) stays in that wave when other reads were
//! still pending: the same for every client.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use victron_gx_modbus::discovery::{scan, ScanMode};
use victron_gx_modbus::frame::{function, read_frame};
use victron_gx_modbus::ledger::Ledger;
use victron_gx_modbus::sim::Simulator;
use victron_gx_modbus::transport::{Transport, TransportConfig};

use super::clients::{Client, ClientKind, Outcome, Read, CLIENTS};

/// An error of the benchmark.
type Error = Box<dyn std::error::Error>;
/// An error of a spawned task (sent between threads).
type TaskError = Box<dyn std::error::Error + Send + Sync>;

/// Requests in flight while recording: more than any wave holds.
const RECORDING_WINDOW: usize = 1 << 16;

/// The requests of one scan, wave by wave.
struct Recording {
    waves: Vec<Vec<Read>>,
    pending: usize,
}

impl Recording {
    /// Notes a request on its way to the GX.
    fn request(&mut self, pdu: &[u8], unit: u8) -> Result<(), String> {
        let read = match pdu {
            [function::READ_HOLDING, a, b, c, d] => (
                unit,
                u16::from_be_bytes([*a, *b]),
                u16::from_be_bytes([*c, *d]),
            ),
            _ => return Err(format!("the scan sent a request that is not FC3: {pdu:?}")),
        };
        if self.pending == 0 {
            self.waves.push(Vec::new());
        }
        self.waves.last_mut().ok_or("no wave")?.push(read);
        self.pending += 1;
        Ok(())
    }
}

/// Forwards one connection's requests to the simulator and its replies back,
/// recording the requests. A reply is counted before it is passed on, so
/// a request sent in answer to it always finds it counted.
async fn proxy_one(
    listener: TcpListener,
    upstream: std::net::SocketAddr,
    recording: Arc<Mutex<Recording>>,
) -> Result<(), TaskError> {
    let (client, _) = listener.accept().await?;
    let server = TcpStream::connect(upstream).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let mut directions: JoinSet<Result<(), TaskError>> = JoinSet::new();
    let requests = Arc::clone(&recording);
    directions.spawn(async move {
        while let Some(frame) = read_frame(&mut from_client).await? {
            requests
                .lock()
                .map_err(|_| "recording poisoned")?
                .request(&frame.pdu, frame.unit)?;
            to_server.write_all(&frame.encode()).await?;
        }
        Ok(())
    });
    directions.spawn(async move {
        while let Some(frame) = read_frame(&mut from_server).await? {
            recording.lock().map_err(|_| "recording poisoned")?.pending -= 1;
            to_client.write_all(&frame.encode()).await?;
        }
        Ok(())
    });
    // The scan's transport closing its end ends the client direction.
    if let Some(direction) = directions.join_next().await {
        direction??;
    }
    Ok(())
}

/// Runs a scan through the recording proxy and returns its requests in waves.
async fn record(
    sim: &Simulator,
    ledger: &'static Ledger,
    mode: ScanMode,
) -> Result<Vec<Vec<Read>>, Error> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let recording = Arc::new(Mutex::new(Recording {
        waves: Vec::new(),
        pending: 0,
    }));
    let proxy = tokio::spawn(proxy_one(listener, sim.addr(), Arc::clone(&recording)));
    let mut config = TransportConfig::new("127.0.0.1", port);
    config.max_in_flight = RECORDING_WINDOW;
    config.max_rate = 0.0;
    let transport = Transport::new(config);
    let result = scan(&transport, ledger, mode, Arc::new(|_| {})).await?;
    transport.close().await;
    drop(transport);
    proxy.await?.map_err(|err| err.to_string())?;
    let waves = std::mem::take(&mut recording.lock().map_err(|_| "recording poisoned")?.waves);
    let recorded: usize = waves.iter().map(Vec::len).sum();
    if recorded as u64 != result.stats.requests {
        return Err(format!(
            "recorded {recorded} requests, the scan counted {}",
            result.stats.requests
        )
        .into());
    }
    Ok(waves)
}

/// Wall time of the scan itself on our transport with the replay's bounds
/// (default window, no rate cap): how close the replay comes to the scan.
async fn time_scan(
    sim: &Simulator,
    ledger: &'static Ledger,
    mode: ScanMode,
) -> Result<Duration, Error> {
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    config.max_rate = 0.0;
    let transport = Transport::new(config);
    transport.connect().await?;
    let started = Instant::now();
    scan(&transport, ledger, mode, Arc::new(|_| {})).await?;
    let elapsed = started.elapsed();
    transport.close().await;
    Ok(elapsed)
}

/// One run of a recorded scan over one client.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayRun {
    /// Wall time from the first wave's start to the last wave's end.
    pub wall_ms: f64,
    /// Requests, exception replies, errors and reconnects of the run.
    pub outcome: Outcome,
}

/// A recorded scan over one client, several runs.
#[derive(Debug, Clone, Serialize)]
pub struct ScanOverClient {
    /// Which client.
    pub client: &'static str,
    /// TCP connections it keeps open to the GX.
    pub connections: usize,
    /// Median wall time of the runs.
    pub wall_ms_median: f64,
    /// Every run.
    pub runs: Vec<ReplayRun>,
}

/// One scan mode's comparison of the clients on a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScanComparison {
    /// `quick` or `deep`.
    pub scan: &'static str,
    /// Requests of the recorded scan (every client sends exactly these).
    pub requests: usize,
    /// Waves: groups of requests the scan sends before it waits for all replies.
    pub waves: usize,
    /// Requests of each wave, in order.
    pub wave_sizes: Vec<usize>,
    /// The recorded scan's exception replies by code: 0x0A/0x0B answer a
    /// probe of an absent pair; 0x02 (a probe retried at another register,
    /// a block split) marks a request that depended on a reply of its wave.
    pub exceptions_by_code: BTreeMap<u8, u64>,
    /// Median wall time of the scan itself on our transport (default window,
    /// no rate cap), beside which the replay over ours should land.
    pub scan_itself_ms_median: f64,
    /// The replay over each client.
    pub clients: Vec<ScanOverClient>,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Replays the waves over one freshly connected client.
async fn replay(kind: ClientKind, port: u16, waves: &[Vec<Read>]) -> Result<ReplayRun, Error> {
    let mut client = Client::connect(kind, port).await?;
    let mut outcome = Outcome::default();
    let started = Instant::now();
    for wave in waves {
        outcome.add(&client.read_batch(wave).await?);
    }
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    client.close().await;
    Ok(ReplayRun { wall_ms, outcome })
}

/// Records a scan of `sim` and replays it `runs` times over every client,
/// the clients taking turns within each run.
pub async fn compare(
    sim: &Simulator,
    ledger: &'static Ledger,
    mode: ScanMode,
    runs: usize,
) -> Result<ScanComparison, Error> {
    let scan_name = match mode {
        ScanMode::Deep => "deep",
        _ => "quick",
    };
    sim.reset_stats();
    let waves = record(sim, ledger, mode.clone()).await?;
    let exceptions_by_code = sim.stats().exceptions_by_code;
    let port = sim.addr().port();
    let mut by_client: Vec<Vec<ReplayRun>> = vec![Vec::new(); CLIENTS.len()];
    let mut scan_itself = Vec::new();
    for _ in 0..runs.max(1) {
        scan_itself.push(time_scan(sim, ledger, mode.clone()).await?.as_secs_f64() * 1000.0);
        for (kind, runs) in CLIENTS.iter().zip(&mut by_client) {
            runs.push(replay(*kind, port, &waves).await?);
        }
    }
    let clients = CLIENTS
        .iter()
        .zip(by_client)
        .map(|(kind, runs)| {
            let mut walls: Vec<f64> = runs.iter().map(|r| r.wall_ms).collect();
            ScanOverClient {
                client: kind.label(),
                connections: kind.connections(),
                wall_ms_median: median(&mut walls),
                runs,
            }
        })
        .collect();
    Ok(ScanComparison {
        scan: scan_name,
        requests: waves.iter().map(Vec::len).sum(),
        waves: waves.len(),
        wave_sizes: waves.iter().map(Vec::len).collect(),
        exceptions_by_code,
        scan_itself_ms_median: median(&mut scan_itself),
        clients,
    })
}
