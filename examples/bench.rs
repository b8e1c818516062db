//! Scan and poll benchmark: our engine against a brute-force baseline, side
//! by side in one process, on the simulator at a fixed latency per request.
//!
//! The baseline reproduces the strategy of the existing integration: a fixed
//! list of 83 unit IDs, one read per register group of the ledger (a run of
//! adjacent registers), one request after another; polling reads every group
//! found, one request per group per cycle.
//!
//! It also compares our pipelined transport with tokio-modbus (one request
//! in flight per context: one context, and a pool of 8) on the same requests:
//! the fast cycle's reads, and the quick scan's (the deep scan's too with
//! `--deep`), recorded and replayed wave by wave (`bench/scan_replay.rs`;
//! the median of `--runs` runs). And it reports, per scenario, the requests
//! per poll cycle of our plan for every register and for the default-enabled
//! entities only, beside the lower bound (the fewest reads of at most 125
//! served words that cover the registers each cycle is due to read, by
//! exhaustive search).
//!
//! First, per bundled scenario, the discovery rows: devices found / present,
//! requests, failed requests and wall time of the quick scan, of MQTT
//! discovery (the GX's service list, then exactly its units), of the deep
//! scan with `--deep` (about 15 s per scenario at 5 ms), and of the quick
//! scan plus the background sweep with `--background` (the sweep runs
//! unpaced here, and its wall time is the one at its rate, `--sweep-rate`
//! requests per second (5, as in Home Assistant), so about 10 minutes).
//!
//! `cargo run --release --example bench -- [--latency-ms 5] [--polls 10]
//! [--scenarios single-phase-ess,three-phase,large] [--scan-only] [--deep]
//! [--background] [--sweep-rate 5] [--runs 5] [--json]`

use std::collections::BTreeMap;
use std::env;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use victron_gx_modbus::discovery::{scan, sweep, ScanMode, ScanResult, ScanStats};
use victron_gx_modbus::frame::{Reply, MAX_READ_QUANTITY};
use victron_gx_modbus::ledger::{embedded, Ledger, Register};
use victron_gx_modbus::mqtt::{scan_with_mqtt, MqttOptions, Security};
use victron_gx_modbus::plan::{cycle_lower_bound, plan, plan_all, Cycle, Plan, PlanDevice};
use victron_gx_modbus::poll::{decode_block, BlockResult, Poller};
use victron_gx_modbus::sim::{MqttConfig, Scenario, SimConfig, Simulator, BUNDLED};
use victron_gx_modbus::transport::{Transport, TransportConfig};
use victron_gx_modbus::unit_ids::UNIT_ID_TABLE;

#[path = "bench/clients.rs"]
mod clients;
#[path = "bench/scan_replay.rs"]
mod scan_replay;

use clients::{Client, Read, CLIENTS};
use scan_replay::ScanComparison;

struct Options {
    latency_ms: f64,
    polls: usize,
    scenarios: Vec<String>,
    json: bool,
    /// Only the discovery rows.
    scan_only: bool,
    /// Discovery rows for the deep scan too.
    deep: bool,
    /// Discovery rows for the quick scan plus the background sweep too.
    background: bool,
    /// Requests per second of the background sweep.
    sweep_rate: f64,
    /// Runs of each scan replayed over each client (the median is reported).
    runs: usize,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        latency_ms: 5.0,
        polls: 10,
        scenarios: vec![
            "single-phase-ess".into(),
            "three-phase".into(),
            "large".into(),
        ],
        json: false,
        scan_only: false,
        deep: false,
        background: false,
        sweep_rate: 5.0,
        runs: 5,
    };
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => options.json = true,
            "--scan-only" => options.scan_only = true,
            "--deep" => options.deep = true,
            "--background" => options.background = true,
            "--sweep-rate" => {
                options.sweep_rate = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|rate: &f64| *rate > 0.0)
                    .ok_or("bad --sweep-rate")?
            }
            "--runs" => {
                options.runs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|runs: &usize| *runs > 0)
                    .ok_or("bad --runs")?
            }
            "--latency-ms" => {
                options.latency_ms = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("bad --latency-ms")?
            }
            "--polls" => {
                options.polls = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("bad --polls")?
            }
            "--scenarios" => {
                options.scenarios = args
                    .next()
                    .ok_or("bad --scenarios")?
                    .split(',')
                    .map(str::to_owned)
                    .collect();
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

#[derive(Debug, Default, Clone, Serialize)]
struct ScanFigures {
    requests: u64,
    failed_requests: u64,
    wall_ms: f64,
    devices: usize,
}

#[derive(Debug, Default, Clone, Serialize)]
struct PollFigures {
    requests_per_cycle: f64,
    wall_ms_per_cycle: f64,
    registers: usize,
    devices: usize,
}

/// One client's wall time for the fast cycle's reads (same blocks for every client).
#[derive(Debug, Clone, Serialize)]
struct ClientFigures {
    client: &'static str,
    requests_per_cycle: usize,
    wall_ms_per_cycle: f64,
}

/// Requests per cycle of one register selection, measured and its lower bound.
#[derive(Debug, Default, Clone, Serialize)]
struct SelectionFigures {
    selection: &'static str,
    registers: usize,
    requests_per_cycle: f64,
    lower_bound_per_cycle: f64,
}

#[derive(Debug, Serialize)]
struct ScenarioFigures {
    scenario: String,
    ours_scan: ScanFigures,
    baseline_scan: ScanFigures,
    ours_poll: PollFigures,
    baseline_poll: PollFigures,
    selections: Vec<SelectionFigures>,
    clients: Vec<ClientFigures>,
    scan_clients: Vec<ScanComparison>,
    decode_us_per_1000_registers: f64,
    ratios: BTreeMap<&'static str, f64>,
}

/// The 83 unit IDs of the brute-force scan: 0-39 and the GX's unit ID table.
fn baseline_units() -> Vec<u8> {
    let mut units: Vec<u8> = (0..=39).collect();
    units.extend(UNIT_ID_TABLE.iter().map(|&(unit, _)| unit));
    units
}

/// Register groups: runs of adjacent registers of one service, cut at 125.
fn register_groups(ledger: &Ledger) -> Vec<(u16, u16)> {
    let mut groups = Vec::new();
    for service in &ledger.services {
        let mut open: Option<(u32, u32)> = None;
        for register in &service.registers {
            let span = register.span();
            match open {
                Some((start, end))
                    if span.start == end && span.end - start <= u32::from(MAX_READ_QUANTITY) =>
                {
                    open = Some((start, span.end));
                }
                _ => {
                    groups.extend(open.take());
                    open = Some((span.start, span.end));
                }
            }
        }
        groups.extend(open);
    }
    groups
        .into_iter()
        .filter_map(|(start, end)| {
            Some((u16::try_from(start).ok()?, u16::try_from(end - start).ok()?))
        })
        .collect()
}

async fn start(name: &str, latency: Duration) -> Result<Simulator, Box<dyn std::error::Error>> {
    let mut config = SimConfig::new(Scenario::bundled(name)?);
    config.latency = latency;
    Ok(Simulator::start(config).await?)
}

fn transport(sim: &Simulator, sequential: bool) -> Transport {
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    if sequential {
        config.max_in_flight = 1;
        config.max_rate = 0.0;
    }
    Transport::new(config)
}

async fn ours(
    name: &str,
    ledger: &'static Ledger,
    options: &Options,
) -> Result<
    (
        ScanFigures,
        PollFigures,
        f64,
        Vec<SelectionFigures>,
        Vec<ClientFigures>,
    ),
    Box<dyn std::error::Error>,
> {
    let sim = start(name, Duration::from_secs_f64(options.latency_ms / 1000.0)).await?;
    let t = transport(&sim, false);
    let started = Instant::now();
    let result = scan(&t, ledger, ScanMode::Quick, Arc::new(|_| {})).await?;
    let scan_figures = ScanFigures {
        requests: result.stats.requests,
        failed_requests: result.stats.failed_requests,
        wall_ms: started.elapsed().as_secs_f64() * 1000.0,
        devices: result.devices.len(),
    };
    let selections = selection_figures(&sim, &t, ledger, &result).await?;
    // Poll the same devices the baseline polls: every device at its 83 units
    // (from a deep scan, so that the quick scan's choices do not matter).
    let mut everything = scan(&t, ledger, ScanMode::Deep, Arc::new(|_| {})).await?;
    let units = baseline_units();
    everything.devices.retain(|d| units.contains(&d.unit));
    let devices = everything.plan_devices(ledger);
    let plan = plan_all(&devices);
    let mut poller = Poller::new(plan.clone(), devices.len(), 6);
    poller.poll(&t).await;
    let stats_before = sim.stats().requests;
    let started = Instant::now();
    for _ in 0..options.polls {
        let report = poller.poll(&t).await;
        if report.failed > 0 {
            return Err(format!("{name}: {} failed requests in a poll", report.failed).into());
        }
    }
    let cycles = options.polls as f64;
    let poll_figures = PollFigures {
        requests_per_cycle: (sim.stats().requests - stats_before) as f64 / cycles,
        wall_ms_per_cycle: started.elapsed().as_secs_f64() * 1000.0 / cycles,
        registers: plan.slots.len(),
        devices: devices.len(),
    };
    let clients = client_figures(&sim, &plan, options.polls).await?;
    // Decoding: the words of every block once, decoded many times.
    let mut captured = Vec::new();
    for block in &plan.blocks {
        if let BlockResult::Words(words) = BlockResult::from_reply(
            t.read(block.unit, block.start, block.quantity).await,
            block.quantity,
        ) {
            captured.push((block.clone(), words));
        }
    }
    let mut values = vec![None; plan.slots.len()];
    let rounds = 2000;
    let started = Instant::now();
    for _ in 0..rounds {
        for (block, words) in &captured {
            decode_block(&plan, block, words, &mut values);
        }
    }
    let decoded: usize = captured.iter().map(|(b, _)| b.placements.len()).sum();
    let decode_us =
        started.elapsed().as_secs_f64() * 1e6 / (rounds as f64) / decoded as f64 * 1000.0;
    t.close().await;
    sim.stop().await;
    Ok((scan_figures, poll_figures, decode_us, selections, clients))
}

/// The fast cycle's blocks read by each client under test (see [`clients`]):
/// the same blocks, `polls` cycles. This keeps the choice of our own
/// framing a measured one.
async fn client_figures(
    sim: &Simulator,
    plan: &Plan,
    polls: usize,
) -> Result<Vec<ClientFigures>, Box<dyn std::error::Error>> {
    let blocks: Vec<Read> = plan
        .cycle(Cycle::Fast)
        .iter()
        .map(|&i| {
            (
                plan.blocks[i].unit,
                plan.blocks[i].start,
                plan.blocks[i].quantity,
            )
        })
        .collect();
    let cycles = polls.max(1);
    let mut figures = Vec::new();
    for kind in CLIENTS {
        let mut client = Client::connect(kind, sim.addr().port()).await?;
        let started = Instant::now();
        for _ in 0..cycles {
            let outcome = client.read_batch(&blocks).await?;
            if outcome.exceptions + outcome.errors > 0 {
                return Err(format!("{}: a poll cycle failed: {outcome:?}", kind.label()).into());
            }
        }
        figures.push(ClientFigures {
            client: kind.label(),
            requests_per_cycle: blocks.len(),
            wall_ms_per_cycle: started.elapsed().as_secs_f64() * 1000.0 / cycles as f64,
        });
        client.close().await;
    }
    Ok(figures)
}

/// Discovery over each client under test (see [`scan_replay`]): the quick
/// scan, and the deep scan with `--deep`, on a simulator of its own.
async fn scan_client_figures(
    name: &str,
    ledger: &'static Ledger,
    options: &Options,
) -> Result<Vec<ScanComparison>, Box<dyn std::error::Error>> {
    let sim = start(name, Duration::from_secs_f64(options.latency_ms / 1000.0)).await?;
    let mut modes = vec![ScanMode::Quick];
    if options.deep {
        modes.push(ScanMode::Deep);
    }
    let mut figures = Vec::new();
    for mode in modes {
        figures.push(scan_replay::compare(&sim, ledger, mode, options.runs).await?);
    }
    sim.stop().await;
    Ok(figures)
}

type Include = fn(&PlanDevice<'_>, &Register) -> bool;

/// Polls the quick scan's devices with every register and with the
/// default-enabled ones: requests per cycle the simulator received (two slow
/// periods after the first, full cycle) beside the lower bound of the same cycles.
async fn selection_figures(
    sim: &Simulator,
    t: &Transport,
    ledger: &'static Ledger,
    result: &ScanResult,
) -> Result<Vec<SelectionFigures>, Box<dyn std::error::Error>> {
    const SLOW_EVERY: u64 = 6;
    const SELECTIONS: [(&str, Include); 2] = [
        ("every register", |_, _| true),
        ("default-enabled entities", |_, r| r.ha.enabled_by_default),
    ];
    let devices = result.plan_devices(ledger);
    let mut figures = Vec::new();
    for (selection, include) in SELECTIONS {
        let planned = plan(&devices, &include);
        let bound = |cycle: Cycle| cycle_lower_bound(&devices, &include, cycle);
        let mut poller = Poller::new(planned.clone(), devices.len(), SLOW_EVERY);
        poller.poll(t).await;
        let before = sim.stats().requests;
        let polls = 2 * SLOW_EVERY;
        for _ in 0..polls {
            poller.poll(t).await;
        }
        let cycles = polls as f64;
        let slow_cycles = 2.0;
        figures.push(SelectionFigures {
            selection,
            registers: planned.slots.len(),
            requests_per_cycle: (sim.stats().requests - before) as f64 / cycles,
            lower_bound_per_cycle: (slow_cycles * bound(Cycle::Slow) as f64
                + (cycles - slow_cycles) * bound(Cycle::Fast) as f64)
                / cycles,
        });
    }
    Ok(figures)
}

async fn baseline(
    name: &str,
    ledger: &'static Ledger,
    options: &Options,
) -> Result<(ScanFigures, PollFigures), Box<dyn std::error::Error>> {
    let sim = start(name, Duration::from_secs_f64(options.latency_ms / 1000.0)).await?;
    let t = transport(&sim, true);
    let groups = register_groups(ledger);
    let mut found = Vec::new();
    let mut figures = ScanFigures::default();
    let started = Instant::now();
    for unit in baseline_units() {
        for &(start, quantity) in &groups {
            figures.requests += 1;
            match t.read(unit, start, quantity).await? {
                Reply::Words(_) => found.push((unit, start, quantity)),
                _ => figures.failed_requests += 1,
            }
        }
    }
    figures.wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut units: Vec<u8> = found.iter().map(|f| f.0).collect();
    units.dedup();
    figures.devices = units.len();
    let started = Instant::now();
    for _ in 0..options.polls {
        for &(unit, start, quantity) in &found {
            let _ = t.read(unit, start, quantity).await?;
        }
    }
    let cycles = options.polls as f64;
    let poll = PollFigures {
        requests_per_cycle: found.len() as f64,
        wall_ms_per_cycle: started.elapsed().as_secs_f64() * 1000.0 / cycles,
        registers: found.iter().map(|f| usize::from(f.2)).sum(),
        devices: figures.devices,
    };
    t.close().await;
    sim.stop().await;
    Ok((figures, poll))
}

fn ratio(baseline: f64, ours: f64) -> f64 {
    if ours > 0.0 {
        baseline / ours
    } else {
        f64::INFINITY
    }
}

/// One discovery row: a scan mode on a scenario.
#[derive(Debug, Serialize)]
struct DiscoveryRow {
    scenario: String,
    mode: &'static str,
    found: usize,
    present: usize,
    missed: Vec<String>,
    requests: u64,
    failed_requests: u64,
    wall_ms: f64,
}

/// (unit, service) of every device a client reaches on a running scenario.
async fn present(sim: &Simulator) -> Result<Vec<(u8, String)>, Box<dyn std::error::Error>> {
    let gx = ["system", "settings", "hub4", "platform"];
    let mut out: Vec<(u8, String)> = sim
        .devices()
        .await?
        .into_iter()
        .filter(|d| d.service != "platform" || d.present)
        .filter_map(|d| {
            let unit = if gx.contains(&d.service.as_str()) {
                Some(100)
            } else {
                d.unit
            };
            Some((unit?, d.service))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// What a discovery row does on a scenario.
#[derive(Clone, Copy, PartialEq)]
enum Discovery {
    Quick,
    Deep,
    /// The quick scan, then the background sweep.
    QuickBackground,
    /// The GX's MQTT service list, then exactly its units (the wall time
    /// includes reading the list from the simulator's MQTT face).
    Mqtt,
}

async fn discovery_row(
    name: &str,
    mode: Discovery,
    ledger: &'static Ledger,
    options: &Options,
) -> Result<DiscoveryRow, Box<dyn std::error::Error>> {
    let mut config = SimConfig::new(Scenario::bundled(name)?);
    config.latency = Duration::from_secs_f64(options.latency_ms / 1000.0);
    if mode == Discovery::Mqtt {
        config.mqtt = Some(MqttConfig {
            bind: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            tls_bind: None,
            password: None,
        });
    }
    let sim = Simulator::start(config).await?;
    let t = transport(&sim, false);
    let started = Instant::now();
    let (label, mut result) = match mode {
        Discovery::Quick | Discovery::QuickBackground => {
            let label = if mode == Discovery::Quick {
                "quick"
            } else {
                "quick+bg"
            };
            (
                label,
                scan(&t, ledger, ScanMode::Quick, Arc::new(|_| {})).await?,
            )
        }
        Discovery::Deep => (
            "deep",
            scan(&t, ledger, ScanMode::Deep, Arc::new(|_| {})).await?,
        ),
        Discovery::Mqtt => {
            let addr = sim.mqtt_addr().ok_or("no MQTT face")?;
            let mut mqtt = MqttOptions::new(addr.ip().to_string());
            mqtt.port = addr.port();
            mqtt.security = Security::Plaintext;
            let (result, discovery) = scan_with_mqtt(&t, ledger, &mqtt, Arc::new(|_| {})).await?;
            if let Some(reason) = discovery.fallback {
                return Err(format!("{name}: MQTT discovery fell back: {reason}").into());
            }
            ("mqtt", result)
        }
    };
    let mut wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    if mode == Discovery::QuickBackground {
        // Unpaced here; at its rate the sweep sends one request per 1/rate s.
        let swept = sweep(
            &t,
            ledger,
            &result,
            f64::INFINITY,
            Duration::ZERO,
            Arc::new(|_| {}),
        )
        .await?;
        wall_ms += swept.stats.requests as f64 * 1000.0 / options.sweep_rate;
        result = ScanResult {
            stats: ScanStats {
                requests: result.stats.requests + swept.stats.requests,
                failed_requests: result.stats.failed_requests + swept.stats.failed_requests,
                ..result.stats
            },
            ..swept.result
        };
    }
    let all = present(&sim).await?;
    let found: Vec<(u8, String)> = result
        .devices
        .iter()
        .map(|d| (d.unit, d.service.clone()))
        .collect();
    t.close().await;
    sim.stop().await;
    Ok(DiscoveryRow {
        scenario: name.to_owned(),
        mode: label,
        found: all.iter().filter(|d| found.contains(d)).count(),
        present: all.len(),
        missed: all
            .iter()
            .filter(|d| !found.contains(d))
            .map(|(unit, service)| format!("{service}@{unit}"))
            .collect(),
        requests: result.stats.requests,
        failed_requests: result.stats.failed_requests,
        wall_ms,
    })
}

fn print_discovery(rows: &[DiscoveryRow], latency_ms: f64) {
    println!("== discovery ({latency_ms} ms per request)");
    println!(
        "{:<17} {:<8} {:>13} {:>9} {:>7} {:>9}",
        "scenario", "scan", "found/present", "requests", "failed", "wall ms"
    );
    for r in rows {
        println!(
            "{:<17} {:<8} {:>13} {:>9} {:>7} {:>9.0}{}",
            r.scenario,
            r.mode,
            format!("{}/{}", r.found, r.present),
            r.requests,
            r.failed_requests,
            r.wall_ms,
            if r.missed.is_empty() {
                String::new()
            } else {
                format!("  missed {}", r.missed.join(" "))
            }
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    let ledger = embedded()?;
    let mut rows = Vec::new();
    for (name, _) in BUNDLED {
        rows.push(discovery_row(name, Discovery::Quick, ledger, &options).await?);
        rows.push(discovery_row(name, Discovery::Mqtt, ledger, &options).await?);
        if options.background {
            rows.push(discovery_row(name, Discovery::QuickBackground, ledger, &options).await?);
        }
        if options.deep {
            rows.push(discovery_row(name, Discovery::Deep, ledger, &options).await?);
        }
    }
    if options.json && options.scan_only {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if !options.json {
        print_discovery(&rows, options.latency_ms);
        if options.background {
            println!(
                "(quick+bg: the sweep's wall time is its requests at {} requests/s)",
                options.sweep_rate
            );
        }
    }
    if options.scan_only {
        return Ok(());
    }
    let mut all = Vec::new();
    for name in &options.scenarios {
        let (ours_scan, ours_poll, decode_us, selections, clients) =
            ours(name, ledger, &options).await?;
        let (baseline_scan, baseline_poll) = baseline(name, ledger, &options).await?;
        let scan_clients = scan_client_figures(name, ledger, &options).await?;
        let mut ratios = BTreeMap::new();
        ratios.insert(
            "scan_requests",
            ratio(baseline_scan.requests as f64, ours_scan.requests as f64),
        );
        ratios.insert(
            "scan_failed_requests",
            ratio(
                baseline_scan.failed_requests as f64,
                ours_scan.failed_requests as f64,
            ),
        );
        ratios.insert(
            "scan_wall_time",
            ratio(baseline_scan.wall_ms, ours_scan.wall_ms),
        );
        ratios.insert(
            "poll_requests_per_cycle",
            ratio(
                baseline_poll.requests_per_cycle,
                ours_poll.requests_per_cycle,
            ),
        );
        ratios.insert(
            "poll_wall_time",
            ratio(baseline_poll.wall_ms_per_cycle, ours_poll.wall_ms_per_cycle),
        );
        let figures = ScenarioFigures {
            scenario: name.clone(),
            ours_scan,
            baseline_scan,
            ours_poll,
            baseline_poll,
            selections,
            clients,
            scan_clients,
            decode_us_per_1000_registers: decode_us,
            ratios,
        };
        if !options.json {
            print_human(&figures, options.latency_ms);
        }
        all.push(figures);
    }
    if options.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(())
}

fn print_human(f: &ScenarioFigures, latency_ms: f64) {
    println!("== {} ({latency_ms} ms per request)", f.scenario);
    println!(
        "scan      ours: {:>5} requests, {:>5} failed, {:>8.0} ms, {} devices | baseline: {:>5} requests, {:>5} failed, {:>8.0} ms, {} units",
        f.ours_scan.requests,
        f.ours_scan.failed_requests,
        f.ours_scan.wall_ms,
        f.ours_scan.devices,
        f.baseline_scan.requests,
        f.baseline_scan.failed_requests,
        f.baseline_scan.wall_ms,
        f.baseline_scan.devices
    );
    println!(
        "poll      ours: {:>6.1} requests/cycle, {:>6.1} ms/cycle, {} registers of {} devices | baseline: {:>6.1} requests/cycle, {:>7.1} ms/cycle, {} registers",
        f.ours_poll.requests_per_cycle,
        f.ours_poll.wall_ms_per_cycle,
        f.ours_poll.registers,
        f.ours_poll.devices,
        f.baseline_poll.requests_per_cycle,
        f.baseline_poll.wall_ms_per_cycle,
        f.baseline_poll.registers
    );
    for s in &f.selections {
        println!(
            "plan      {:<25} {:>5} registers: {:>5.1} requests/cycle, lower bound {:>5.1} ({:+.1}%)",
            s.selection,
            s.registers,
            s.requests_per_cycle,
            s.lower_bound_per_cycle,
            (s.requests_per_cycle / s.lower_bound_per_cycle - 1.0) * 100.0
        );
    }
    for c in &f.clients {
        println!(
            "client    {:<33} {:>3} requests: {:>7.1} ms per fast cycle",
            c.client, c.requests_per_cycle, c.wall_ms_per_cycle
        );
    }
    for s in &f.scan_clients {
        println!(
            "{:<9} {} requests in {} waves {:?}, exceptions by code {:?}; the scan itself on ours without a rate cap: {:.1} ms",
            format!("{} scan", s.scan),
            s.requests,
            s.waves,
            s.wave_sizes,
            s.exceptions_by_code,
            s.scan_itself_ms_median
        );
        for c in &s.clients {
            let runs = c.runs.len() as u64;
            let total = c
                .runs
                .iter()
                .fold(clients::Outcome::default(), |mut sum, run| {
                    sum.add(&run.outcome);
                    sum
                });
            println!(
                "          {:<33} {} connection(s): {:>8.1} ms (median of {runs}), {} requests and {} failed per run, {} errors and {} reconnects in all runs",
                c.client,
                c.connections,
                c.wall_ms_median,
                total.requests / runs.max(1),
                total.exceptions / runs.max(1),
                total.errors,
                total.reconnects
            );
        }
    }
    println!(
        "decode    {:.2} us per 1,000 registers",
        f.decode_us_per_1000_registers
    );
    let ratios: Vec<String> = f
        .ratios
        .iter()
        .map(|(k, v)| format!("{k} {v:.1}x"))
        .collect();
    println!("baseline/ours: {}", ratios.join(", "));
}
