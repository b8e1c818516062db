//! Background completion of a scan: every service type at every plausible
//! unit (0-63 and 204-247) that the scan did not find, probed one request at
//! a time at a gentle rate, so that a device the quick scan missed, or one
//! plugged in after it, is found without a deep scan. Pairs the scan saw
//! absent are probed again: a device connected since then is there now.
//! The transport is pipelined: polls on the same connection are not queued
//! behind the sweep's requests.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::RangeInclusive;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Mutex;

use super::candidates::{all_service_types, GX_SERVICES};
use super::validate::validate;
use super::{
    probe, probe_addresses, served, FoundDevice, Refused, ScanError, ScanPhase, ScanProgress,
    ScanResult, ScanStats, Tally,
};
use crate::ledger::Ledger;
use crate::poll::BlockResult;
use crate::transport::Transport;

/// The plausible unit space a sweep covers.
pub const SWEEP_UNITS: [RangeInclusive<u8>; 2] = [0..=63, 204..=247];

/// Probes in a row without a reply after which a sweep takes the GX as gone
/// and waits for it (see [`sweep`]).
pub const MAX_UNANSWERED_IN_A_ROW: u32 = 5;

/// The slowest sweep rate, in requests per second (one request per 100 s).
pub const MIN_RATE: f64 = 0.01;

/// How long a sweep's pace lets requests go one after another before it
/// waits: at 5 requests/s, five probes in a row once a second.
pub const PACE_PERIOD: Duration = Duration::from_secs(1);

/// Paces a sweep's requests to at most `rate` a second, in bursts: a budget
/// of what the rate allows in [`PACE_PERIOD`] (at least one request, over a
/// longer period at rates below one a second) goes at once, then the pace
/// waits for the next period. The sweep sends one request at a time, so a
/// burst is requests one after another, each after the reply to the one
/// before; the core wakes once per period for the pace, not once per request.
pub(super) struct Pace {
    /// Time per burst (zero: no pacing).
    period: Duration,
    /// Requests per burst.
    budget: u64,
    burst: Mutex<Burst>,
}

/// The current burst: when it began and the requests it sent.
struct Burst {
    started: Instant,
    sent: u64,
}

impl Pace {
    /// A pace of `rate` requests per second (infinite: no pacing); a rate
    /// below [`MIN_RATE`] (or NaN) is taken as [`MIN_RATE`].
    pub(super) fn new(rate: f64) -> Self {
        let rate = rate.max(MIN_RATE);
        let (period, budget) = if rate.is_finite() {
            let budget = (rate * PACE_PERIOD.as_secs_f64()).floor().max(1.0);
            (Duration::from_secs_f64(budget / rate), budget as u64)
        } else {
            (Duration::ZERO, u64::MAX)
        };
        Self {
            period,
            budget,
            burst: Mutex::new(Burst {
                started: Instant::now(),
                sent: 0,
            }),
        }
    }

    /// Waits until the next request may go.
    pub(super) async fn wait(&self) {
        let mut burst = self.burst.lock().await;
        let now = Instant::now();
        if now >= burst.started + self.period {
            // A new burst begins with this request.
            *burst = Burst {
                started: now,
                sent: 0,
            };
        } else if burst.sent >= self.budget {
            let next = burst.started + self.period;
            tokio::time::sleep_until(next.into()).await;
            *burst = Burst {
                started: next,
                sent: 0,
            };
        }
        burst.sent += 1;
    }
}

/// The first pause of a sweep waiting for a GX that stopped answering.
pub const FIRST_PAUSE: Duration = Duration::from_secs(1);

/// The longest pause between two looks at a GX that stopped answering.
pub const LONGEST_PAUSE: Duration = Duration::from_secs(30);

/// Waits until the GX answers again (a read of its firmware registers, with
/// pauses that double up to [`LONGEST_PAUSE`]); `last` when `deadline` passes first.
async fn wait_for_gx(
    transport: &Transport,
    tally: &Tally,
    deadline: Instant,
    mut last: ScanError,
) -> Result<(), ScanError> {
    let mut pause = FIRST_PAUSE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(last);
        }
        tokio::time::sleep(pause.min(left)).await;
        match served::read_firmware(transport, tally).await {
            Err(ScanError::Transport(err)) => last = ScanError::Transport(err),
            answered => return answered.map(|_| ()),
        }
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// A tally paced at `rate` requests per second, and what this GX's server
/// serves, learnt as a scan learns it (the firmware in a stored scan result
/// may come from MQTT, not from 834): how a sweep or a search begins.
pub(super) async fn paced_start(
    transport: &Transport,
    ledger: &Ledger,
    rate: f64,
) -> Result<(Arc<Tally>, served::Served), ScanError> {
    let tally = Arc::new(Tally {
        pace: Some(Pace::new(rate)),
        ..Tally::default()
    });
    let serves_firmware = served::read_firmware(transport, &tally).await?.is_some();
    let served = served::learn(transport, &tally, ledger, serves_firmware).await?;
    Ok((tally, served))
}

/// What a sweep found and what it cost.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepResult {
    /// The scan result with the new devices merged in: store it.
    pub result: ScanResult,
    /// The devices the sweep found, validated.
    pub found: Vec<FoundDevice>,
    /// What the sweep alone cost (`probes`: pairs probed).
    pub stats: ScanStats,
}

/// The (unit, service) pairs a sweep probes: every type at every unit of
/// [`SWEEP_UNITS`], minus what `base` found; by unit, then type.
fn pending(base: &ScanResult, ledger: &Ledger) -> Vec<(u8, String)> {
    let known: HashSet<(u8, &str)> = base
        .devices
        .iter()
        .map(|d| (d.unit, d.service.as_str()))
        .collect();
    let types = all_service_types(ledger);
    SWEEP_UNITS
        .iter()
        .flat_map(|units| units.clone())
        .flat_map(|unit| types.iter().map(move |&service| (unit, service)))
        .filter(|pair| !known.contains(pair))
        .map(|(unit, service)| (unit, service.to_owned()))
        .collect()
}

/// Sweeps the rest of the plausible unit space at most `rate` requests per
/// second (validation included; infinite: unpaced), then validates what it
/// found exactly as a scan does. A probe without a reply is skipped (counted
/// in `unanswered`); after [`MAX_UNANSWERED_IN_A_ROW`] of them in a row the
/// GX is taken as gone (rebooting, unplugged): the sweep waits for it
/// (backing off from [`FIRST_PAUSE`] to [`LONGEST_PAUSE`]), probes those pairs
/// again once it answers, and goes on where it was. It ends with the
/// transport error when the GX has not answered for `patience`. `progress`
/// gets phase `sweeping` per probe (`waiting` while the GX is gone). Dropping
/// the future cancels the sweep.
pub async fn sweep(
    transport: &Transport,
    ledger: &'static Ledger,
    base: &ScanResult,
    rate: f64,
    patience: Duration,
    progress: Arc<dyn Fn(ScanProgress) + Send + Sync>,
) -> Result<SweepResult, ScanError> {
    let started = Instant::now();
    let (tally, served) = paced_start(transport, ledger, rate).await?;
    let refused = Refused::default();
    // The probe registers of every type this GX serves, found once.
    let probes: HashMap<&str, Vec<u16>> = all_service_types(ledger)
        .into_iter()
        .filter_map(|name| {
            let service = ledger
                .service(name)
                .filter(|s| served.unsupported(s).len() < s.registers.len())?;
            Some((name, probe_addresses(service)))
        })
        .collect();
    let mut queue: VecDeque<(u8, String)> = pending(base, ledger).into();
    let total = queue.len();
    let mut done = 0;
    let mut found = Vec::new();
    let mut absent_code = base.gx.absent_exception;
    // The pairs probed without a reply since the last reply, and when that began.
    let mut streak: Vec<(u8, String)> = Vec::new();
    let mut silent_since = Instant::now();
    while let Some((unit, service)) = queue.pop_front() {
        let addresses = probes.get(service.as_str()).map_or(&[][..], Vec::as_slice);
        // `None`: the firmware refused every probe register (no such type here).
        match probe(transport, &tally, &refused, &service, addresses, unit).await {
            Some(BlockResult::Failed(err)) => {
                if streak.is_empty() {
                    silent_since = Instant::now();
                }
                streak.push((unit, service));
                if streak.len() >= MAX_UNANSWERED_IN_A_ROW as usize {
                    let waiting = ScanProgress {
                        phase: ScanPhase::Waiting.name(),
                        done,
                        total,
                        found: found.len(),
                    };
                    progress(waiting);
                    wait_for_gx(transport, &tally, silent_since + patience, err.into()).await?;
                    // Those probes were lost to the outage: send them again.
                    done -= streak.len() - 1;
                    for pair in streak.drain(..).rev() {
                        queue.push_front(pair);
                    }
                    continue;
                }
            }
            outcome => {
                streak.clear();
                match outcome {
                    Some(BlockResult::Words(_)) => found.push(FoundDevice::new(unit, &service)),
                    Some(BlockResult::Exception(code)) => absent_code = Some(code),
                    _ => {}
                }
            }
        }
        done += 1;
        progress(ScanProgress {
            phase: ScanPhase::Sweeping.name(),
            done,
            total,
            found: found.len(),
        });
    }
    let mut gx = base.gx.clone();
    validate(transport, &tally, ledger, &mut found, &mut gx, served).await?;
    gx.absent_exception = absent_code;
    let mut result = base.clone();
    result.gx = gx;
    result.devices.extend(found.iter().cloned());
    result.devices.sort_by_key(|d| {
        let gx_rank = GX_SERVICES.iter().position(|s| *s == d.service);
        (gx_rank.is_none(), gx_rank, d.unit, d.service.clone())
    });
    progress(ScanProgress {
        phase: ScanPhase::Done.name(),
        done: total,
        total,
        found: found.len(),
    });
    Ok(SweepResult {
        result,
        found,
        stats: ScanStats {
            probes: total,
            requests: tally.requests.load(Ordering::Relaxed),
            failed_requests: tally.failed.load(Ordering::Relaxed),
            unanswered: tally.unanswered.load(Ordering::Relaxed),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pace_sends_a_burst_per_period() {
        let pace = Pace::new(20.0);
        assert_eq!((pace.budget, pace.period), (20, PACE_PERIOD));
        let start = Instant::now();
        for _ in 0..20 {
            pace.wait().await;
        }
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "a burst goes at once"
        );
        pace.wait().await;
        assert!(
            start.elapsed() >= PACE_PERIOD,
            "the next one waits a period"
        );
    }

    #[test]
    fn pace_bursts_what_the_rate_allows() {
        let slowest = Pace::new(MIN_RATE);
        assert_eq!(
            (slowest.budget, slowest.period),
            (1, Duration::from_secs(100))
        );
        for rate in [1e-21, 0.0, -1.0, f64::NAN] {
            let pace = Pace::new(rate);
            assert_eq!(
                (pace.budget, pace.period),
                (1, slowest.period),
                "rate {rate}"
            );
        }
        // Below one a second: one request per 1/rate.
        let slow = Pace::new(0.5);
        assert_eq!((slow.budget, slow.period), (1, Duration::from_secs(2)));
        // The budget is whole requests; the period keeps the rate.
        let uneven = Pace::new(2.5);
        assert_eq!(
            (uneven.budget, uneven.period),
            (2, Duration::from_millis(800))
        );
        assert_eq!(Pace::new(5.0).budget, 5);
        assert_eq!(Pace::new(f64::INFINITY).period, Duration::ZERO);
    }
}
