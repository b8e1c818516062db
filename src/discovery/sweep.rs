//! Background completion of a scan: every service type at every plausible
//! unit (0-63 and 204-247) that the scan did not find, probed one request at
//! a time at a gentle rate, so that a device the quick scan missed, or one
//! plugged in after it, is found without a deep scan. Pairs the scan saw
//! absent are probed again: a device connected since then is there now.
//! The transport is pipelined: polls on the same connection are not queued
//! behind the sweep's requests.

use std::collections::{HashSet, VecDeque};
use std::ops::RangeInclusive;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Mutex;

use super::candidates::{all_service_types, GX_SERVICES};
use super::validate::validate;
use super::{
    new_device, probe, probe_addresses, served, FoundDevice, Refused, ScanError, ScanProgress,
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

/// Spaces requests: at most one per `gap`, whoever sends them.
pub(super) struct Pace {
    gap: Duration,
    next: Mutex<Instant>,
}

impl Pace {
    /// A pace of `rate` requests per second (infinite: no pacing); a rate
    /// below [`MIN_RATE`] (or NaN) is taken as [`MIN_RATE`].
    pub(super) fn new(rate: f64) -> Self {
        Self {
            gap: Duration::from_secs_f64(1.0 / rate.max(MIN_RATE)),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for the next free slot.
    pub(super) async fn wait(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until((*next).into()).await;
        }
        *next = (*next).max(now) + self.gap;
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

/// What a sweep found and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepResult {
    /// The scan result with the new devices merged in.
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
    let tally = Arc::new(Tally {
        pace: Some(Pace::new(rate)),
        ..Tally::default()
    });
    // What this GX's server serves, learnt as the scan learns it (the
    // firmware in the scan result may come from MQTT, not from 834).
    let serves_firmware = served::read_firmware(transport, &tally).await?.is_some();
    let served = served::learn(transport, &tally, ledger, serves_firmware).await?;
    let refused = Refused::default();
    let mut queue: VecDeque<(u8, String)> = pending(base, ledger).into();
    let total = queue.len();
    let mut done = 0;
    let mut found = Vec::new();
    let mut absent_code = base.gx.absent_exception;
    // The pairs probed without a reply since the last reply, and when that began.
    let mut streak: Vec<(u8, String)> = Vec::new();
    let mut silent_since = Instant::now();
    while let Some((unit, service)) = queue.pop_front() {
        let addresses = ledger
            .service(&service)
            .filter(|s| served.unsupported(s).len() < s.registers.len())
            .map(probe_addresses)
            .unwrap_or_default();
        // `None`: the firmware refused every probe register (no such type here).
        match probe(transport, &tally, &refused, &service, &addresses, unit).await {
            Some(BlockResult::Failed(err)) => {
                if streak.is_empty() {
                    silent_since = Instant::now();
                }
                streak.push((unit, service));
                if streak.len() >= MAX_UNANSWERED_IN_A_ROW as usize {
                    let waiting = ScanProgress {
                        phase: "waiting",
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
                    Some(BlockResult::Words(_)) => found.push(new_device(unit, &service)),
                    Some(BlockResult::Exception(code)) => absent_code = Some(code),
                    _ => {}
                }
            }
        }
        done += 1;
        progress(ScanProgress {
            phase: "sweeping",
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
        phase: "done",
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
    async fn pace_spaces_requests() {
        let pace = Pace::new(100.0);
        let start = Instant::now();
        for _ in 0..6 {
            pace.wait().await;
        }
        // The first slot is free; five gaps of 10 ms follow.
        assert!(start.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn pace_clamps_rates_below_the_minimum() {
        let slowest = Duration::from_secs(100);
        for rate in [1e-21, 0.0, -1.0, f64::NAN, MIN_RATE] {
            assert_eq!(Pace::new(rate).gap, slowest, "rate {rate}");
        }
        assert_eq!(Pace::new(f64::INFINITY).gap, Duration::ZERO);
    }
}
