//! The transport's rate limit: at most `rate` requests per second on
//! average, of which up to `burst` may go at once (the generic cell rate
//! algorithm). A poll's requests then leave as fast as the in-flight window
//! lets them, with no timer wake-up each, and a long run of requests (a
//! scan) still goes out at one per `1 / rate` seconds once the burst is used.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::sync::lock;

/// Spaces requests to an average rate, allowing a bounded burst.
#[derive(Debug)]
pub(crate) struct Pacer {
    /// Time per request at the rate (`None`: no limit).
    gap: Option<Duration>,
    /// How far ahead of its theoretical time a request may go.
    tolerance: Duration,
    /// The theoretical time of the next request.
    next: Mutex<Instant>,
}

impl Pacer {
    /// A pacer of `rate` requests per second (0, negative, NaN or infinite:
    /// no limit) with bursts of up to `burst` requests (at least 1).
    pub(crate) fn new(rate: f64, burst: usize) -> Self {
        let gap = (rate.is_finite() && rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate));
        let extra = u32::try_from(burst.max(1) - 1).unwrap_or(u32::MAX);
        Self {
            gap,
            tolerance: gap.map_or(Duration::ZERO, |gap| gap.saturating_mul(extra)),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Takes the next slot: `None` when the request may go now, else the
    /// instant it may go.
    pub(crate) fn reserve(&self) -> Option<Instant> {
        let gap = self.gap?;
        let now = Instant::now();
        let mut next = lock(&self.next);
        let theoretical = (*next).max(now);
        *next = theoretical + gap;
        let allowed = theoretical.checked_sub(self.tolerance).unwrap_or(now);
        (allowed > now).then_some(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_and_the_rest_at_the_rate() {
        let pacer = Pacer::new(100.0, 4);
        let start = Instant::now();
        let slots: Vec<Option<Instant>> = (0..8).map(|_| pacer.reserve()).collect();
        assert!(slots[..4].iter().all(Option::is_none), "{slots:?}");
        // Then one request per 10 ms, counted from the first.
        for (index, slot) in slots.iter().enumerate().skip(4) {
            let at = slot.expect("a later slot");
            let due = start + Duration::from_millis(10 * (index as u64 - 3));
            assert!(
                at >= due - Duration::from_millis(1),
                "{index}: {at:?} {due:?}"
            );
            assert!(
                at <= due + Duration::from_millis(5),
                "{index}: {at:?} {due:?}"
            );
        }
    }

    #[test]
    fn over_any_second_the_rate_holds_within_the_burst() {
        let pacer = Pacer::new(50.0, 8);
        let start = Instant::now();
        // Simulate a caller that always sends as soon as allowed.
        let mut sent = Vec::new();
        for _ in 0..200 {
            sent.push(pacer.reserve().unwrap_or(start).max(start));
        }
        let last = *sent.last().expect("sent");
        // 200 requests at 50/s with a burst of 8: (200 - 8) gaps of 20 ms.
        let span = last.duration_since(start);
        assert!(span >= Duration::from_millis(192 * 20 - 5), "{span:?}");
        for (index, at) in sent.iter().enumerate() {
            let window_end = *at + Duration::from_secs(1);
            let in_window = sent[index..]
                .iter()
                .take_while(|t| **t < window_end)
                .count();
            assert!(in_window <= 50 + 8, "{in_window} requests in a second");
        }
    }

    #[test]
    fn no_rate_means_no_wait() {
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let pacer = Pacer::new(rate, 8);
            assert!((0..1000).all(|_| pacer.reserve().is_none()), "{rate}");
        }
    }
}
