//! Load benchmark of the GX simulator: N clients, each on its own connection,
//! read every register of every device of a scenario once per second.
//!
//! `cargo run --release --example sim_load -- [--scenario large] [--clients 8]
//! [--seconds 30] [--latency-ms 5]` prints requests, errors, cycle times and
//! the process's resident memory at start, after warm-up and at the end.

use std::collections::BTreeMap;
use std::env;
use std::fs;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout};
use victron_gx_modbus::frame::{self, function, read_frame, Frame, Reply, MAX_READ_QUANTITY};
use victron_gx_modbus::ledger::{embedded, Service};
use victron_gx_modbus::sim::{Scenario, SimConfig, Simulator};
use victron_gx_modbus::unit_ids::unit_for_instance;

struct Options {
    scenario: String,
    clients: usize,
    seconds: u64,
    latency_ms: f64,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        scenario: "large".into(),
        clients: 8,
        seconds: 30,
        latency_ms: 5.0,
    };
    let args: Vec<String> = env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).ok_or("every option takes a value")?;
        match pair[0].as_str() {
            "--scenario" => options.scenario = value.clone(),
            "--clients" => options.clients = value.parse().map_err(|_| "bad --clients")?,
            "--seconds" => options.seconds = value.parse().map_err(|_| "bad --seconds")?,
            "--latency-ms" => options.latency_ms = value.parse().map_err(|_| "bad --latency-ms")?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

/// Contiguous spans of a service's registers and reserved blocks, cut at 125 words.
fn blocks(service: &Service) -> Vec<(u16, u16)> {
    let mut spans: Vec<(u32, u32)> = service
        .registers
        .iter()
        .map(|r| (r.span().start, r.span().end))
        .collect();
    spans.extend(
        service
            .reserved
            .iter()
            .map(|b| (u32::from(b[0]), u32::from(b[1]) + 1)),
    );
    spans.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::new();
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 && end - last.0 <= u32::from(MAX_READ_QUANTITY) => {
                last.1 = last.1.max(end)
            }
            _ => merged.push((start, end)),
        }
    }
    merged
        .into_iter()
        .filter_map(|(start, end)| {
            Some((u16::try_from(start).ok()?, u16::try_from(end - start).ok()?))
        })
        .collect()
}

fn rss_kib() -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Default)]
struct ClientResult {
    requests: u64,
    errors: u64,
    registers: u64,
    cycles: Vec<Duration>,
}

async fn client(
    addr: std::net::SocketAddr,
    plan: Vec<(u8, u16, u16)>,
    seconds: u64,
) -> ClientResult {
    let mut result = ClientResult::default();
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        result.errors += 1;
        return result;
    };
    let _ = stream.set_nodelay(true);
    let start = Instant::now();
    let mut transaction: u16 = 0;
    let mut tick = tokio::time::Instant::now();
    while start.elapsed() < Duration::from_secs(seconds) {
        let cycle = Instant::now();
        for &(unit, address, quantity) in &plan {
            transaction = transaction.wrapping_add(1);
            let pdu = frame::read_request(function::READ_HOLDING, address, quantity);
            let bytes = Frame {
                transaction,
                unit,
                pdu,
            }
            .encode();
            result.requests += 1;
            if stream.write_all(&bytes).await.is_err() {
                result.errors += 1;
                return result;
            }
            match timeout(Duration::from_secs(2), read_frame(&mut stream)).await {
                Ok(Ok(Some(reply))) if reply.transaction == transaction => {
                    match frame::parse_reply(function::READ_HOLDING, quantity, &reply.pdu) {
                        Ok(Reply::Words(words)) => result.registers += words.len() as u64,
                        _ => result.errors += 1,
                    }
                }
                _ => result.errors += 1,
            }
        }
        result.cycles.push(cycle.elapsed());
        tick += Duration::from_secs(1);
        sleep_until(tick).await;
    }
    result
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    let ledger = embedded()?;
    let scenario = Scenario::bundled(&options.scenario)?;
    let mut plan = Vec::new();
    for device in scenario.expanded_devices() {
        let Some(service) = ledger.service(&device.service) else {
            continue;
        };
        let unit = match unit_for_instance(device.instance) {
            Some(0) => 100,
            Some(unit) => unit,
            None => continue,
        };
        plan.extend(blocks(service).into_iter().map(|(a, q)| (unit, a, q)));
    }
    let rss_start = rss_kib();
    let mut config = SimConfig::new(scenario);
    config.latency = Duration::from_secs_f64(options.latency_ms / 1000.0);
    let simulator = Simulator::start(config).await?;
    let addr = simulator.addr();
    let tasks: Vec<_> = (0..options.clients)
        .map(|_| tokio::spawn(client(addr, plan.clone(), options.seconds)))
        .collect();
    tokio::time::sleep(Duration::from_secs(options.seconds.min(5))).await;
    let rss_warm = rss_kib();
    let mut totals = ClientResult::default();
    for task in tasks {
        let result = task.await?;
        totals.requests += result.requests;
        totals.errors += result.errors;
        totals.registers += result.registers;
        totals.cycles.extend(result.cycles);
    }
    let rss_end = rss_kib();
    let stats = simulator.stats();
    simulator.stop().await;
    totals.cycles.sort_unstable();
    let per_unit: BTreeMap<_, _> = stats
        .by_unit
        .iter()
        .map(|(u, s)| (*u, s.exceptions))
        .collect();
    println!(
        "scenario {}: {} clients x {} s, {} requests per poll cycle, {} ms latency",
        options.scenario,
        options.clients,
        options.seconds,
        plan.len(),
        options.latency_ms
    );
    println!(
        "requests {} ({:.0}/s), registers read {}, client errors {}, exception replies {}",
        totals.requests,
        totals.requests as f64 / options.seconds as f64,
        totals.registers,
        totals.errors,
        stats.exceptions
    );
    println!(
        "poll cycle p50 {:?}, p99 {:?}, max {:?}",
        percentile(&totals.cycles, 0.5),
        percentile(&totals.cycles, 0.99),
        totals.cycles.last().copied().unwrap_or_default()
    );
    println!(
        "resident memory: start {rss_start} KiB, after warm-up {rss_warm} KiB, end {rss_end} KiB"
    );
    if totals.errors > 0 || stats.exceptions > 0 {
        return Err(format!(
            "errors: {} client, exceptions by unit {per_unit:?}",
            totals.errors
        )
        .into());
    }
    Ok(())
}
