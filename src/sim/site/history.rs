//! The site run fast-forward: its recent past, bucketed (the demo's day of history).
//!
//! The run ends where a freshly built site of the same scenario starts: at
//! the scenario's start hour, with its energy counters and SoC at their start
//! values (a SoC that cannot get there, say one charged all day, ends nearest). So a simulator started right after
//! carries on from the history's last values, as a GX would.

use std::time::Duration;

use serde::Serialize;

use super::{Model, NodeValue, Site};
use crate::ledger::Ledger;
use crate::sim::scenario::{Scenario, ScenarioError};

/// One register's values over the buckets of a history.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(rename = "HistorySeries"))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Scenario id of the device.
    pub device: String,
    /// Service type of the device.
    pub service: String,
    /// The unit ID that reaches the device.
    pub unit: Option<u8>,
    /// Register key.
    pub key: String,
    /// Mean of each bucket's samples.
    pub mean: Vec<f64>,
    /// Smallest sample of each bucket.
    pub min: Vec<f64>,
    /// Largest sample of each bucket.
    pub max: Vec<f64>,
    /// The value at each bucket's end.
    pub last: Vec<f64>,
}

/// What the site did over a span of time, bucket by bucket.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(rename = "SiteHistory"))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    /// The span, in seconds; its end is the start of a fresh site.
    pub seconds: f64,
    /// Time between two samples.
    pub step_seconds: f64,
    /// Length of a bucket; the first starts at the span's start, the last may be shorter.
    pub bucket_seconds: f64,
    /// Every register whose value the scenario models as changing.
    pub series: Vec<Series>,
}

/// What a fast-forward run may be asked: at most a week, 1 s to 1 h steps,
/// buckets of at least one step.
fn check(seconds: f64, step: f64, bucket: f64) -> Result<(), String> {
    if !(seconds.is_finite() && (1.0..=7.0 * 86_400.0).contains(&seconds)) {
        return Err(format!("history of {seconds} s: 1 s to 7 days"));
    }
    if !(step.is_finite() && (1.0..=3600.0).contains(&step)) {
        return Err(format!("step of {step} s: 1 s to 1 h"));
    }
    if !(bucket.is_finite() && bucket >= step) {
        return Err(format!(
            "bucket of {bucket} s: at least one step ({step} s)"
        ));
    }
    Ok(())
}

impl Site {
    /// The site's last `seconds`, sampled every `step` seconds and bucketed
    /// by `bucket` seconds, ending where a fresh site of `scenario` starts.
    pub fn history(
        scenario: &Scenario,
        ledger: &'static Ledger,
        seed: u64,
        seconds: f64,
        step: f64,
        bucket: f64,
    ) -> Result<History, ScenarioError> {
        check(seconds, step, bucket).map_err(|message| ScenarioError::Invalid {
            name: scenario.name.clone(),
            message,
        })?;
        // A first run measures how far each counter moves; the second starts
        // that far behind its start value, so that it ends on it. Counters and
        // SoC follow powers and currents that do not depend on them; random
        // walks keep their start, as shifting them would change what they drive.
        let mut probe = Self::rewound(scenario, ledger, seed, seconds)?;
        let start = probe.values.clone();
        probe.run(seconds, step, |_, _| {});
        let socs = Self::soc_starts(scenario, ledger, seed, seconds, step, &start)?;
        let mut site = Self::rewound(scenario, ledger, seed, seconds)?;
        for (node, from) in start.iter().enumerate() {
            if let (Model::Counter { .. }, NodeValue::Number(from), NodeValue::Number(to)) =
                (&site.models[node], from, &probe.values[node])
            {
                // A counter never reads below 0 (one that counts today's yield and
                // would start below it then ends above its start value).
                site.values[node] = NodeValue::Number((from - (to - from)).max(0.0));
            }
        }
        for &(node, soc) in &socs {
            site.values[node] = NodeValue::Number(soc);
        }
        site.evaluate_derived();
        let recorded = site.recorded();
        let buckets = (seconds / bucket).ceil() as usize;
        let mut samples: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); buckets]; recorded.len()];
        let mut take = |site: &Site, at: f64| {
            // A sample on a boundary ends the bucket before it.
            let index = ((at / bucket).ceil() as usize)
                .saturating_sub(1)
                .min(buckets - 1);
            for (series, &(_, _, node)) in samples.iter_mut().zip(&recorded) {
                series[index].push(site.number(node));
            }
        };
        take(&site, 0.0);
        site.run(seconds, step, &mut take);
        let series = recorded
            .iter()
            .zip(samples)
            .map(|(&(device, index, _), buckets)| {
                let dev = &site.devices[device];
                let service = &site.ledger.services[dev.service];
                let stat = |f: fn(&[f64]) -> f64| buckets.iter().map(|b| f(b)).collect::<Vec<_>>();
                Series {
                    device: dev.id.clone(),
                    service: service.service_type().to_owned(),
                    unit: dev.unit,
                    key: service.registers[index].key.clone(),
                    mean: stat(|b| b.iter().sum::<f64>() / b.len().max(1) as f64),
                    min: stat(|b| b.iter().copied().fold(f64::INFINITY, f64::min)),
                    max: stat(|b| b.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
                    last: stat(|b| b.last().copied().unwrap_or(f64::NAN)),
                }
            })
            .collect();
        Ok(History {
            seconds,
            step_seconds: step,
            bucket_seconds: bucket,
            series,
        })
    }

    /// The start of each SoC from which a run of `seconds` ends on its start
    /// value in `start`: SoC stops at 0 and 100 %, so the start is searched
    /// by bisection (all SoCs at once; one that cannot get there ends nearest).
    fn soc_starts(
        scenario: &Scenario,
        ledger: &'static Ledger,
        seed: u64,
        seconds: f64,
        step: f64,
        start: &[NodeValue],
    ) -> Result<Vec<(usize, f64)>, ScenarioError> {
        let socs: Vec<(usize, f64)> = Self::build(scenario, ledger, seed)?
            .models
            .iter()
            .enumerate()
            .filter_map(|(node, model)| match (model, &start[node]) {
                (Model::Soc { .. }, NodeValue::Number(target)) => Some((node, *target)),
                _ => None,
            })
            .collect();
        let mut bounds = vec![(0.0_f64, 100.0_f64); socs.len()];
        for _ in 0..if socs.is_empty() { 0 } else { 24 } {
            let mut trial = Self::rewound(scenario, ledger, seed, seconds)?;
            for (&(node, _), (low, high)) in socs.iter().zip(&bounds) {
                trial.values[node] = NodeValue::Number((low + high) / 2.0);
            }
            trial.run(seconds, step, |_, _| {});
            for (&(node, target), (low, high)) in socs.iter().zip(bounds.iter_mut()) {
                let middle = (*low + *high) / 2.0;
                if trial.number(node) > target {
                    *high = middle;
                } else {
                    *low = middle;
                }
            }
        }
        Ok(socs
            .iter()
            .zip(&bounds)
            .map(|(&(node, _), (low, high))| (node, (low + high) / 2.0))
            .collect())
    }

    /// A fresh site whose simulated clock is `seconds` before the scenario's start hour.
    fn rewound(
        scenario: &Scenario,
        ledger: &'static Ledger,
        seed: u64,
        seconds: f64,
    ) -> Result<Self, ScenarioError> {
        let mut site = Self::build(scenario, ledger, seed)?;
        site.start_hour = (scenario.start_hour - seconds / 3600.0).rem_euclid(24.0);
        site.evaluate_curves();
        site.evaluate_derived();
        Ok(site)
    }

    /// Steps the site through `seconds` in steps of `step`, calling `sample` after each.
    fn run(&mut self, seconds: f64, step: f64, mut sample: impl FnMut(&Site, f64)) {
        let steps = (seconds / step).ceil() as u64;
        for k in 1..=steps {
            let at = (k as f64 * step).min(seconds);
            self.advance(self.started + Duration::from_secs_f64(at));
            sample(self, at);
        }
    }

    /// (device, register index, value node) of every register with a changing model.
    fn recorded(&self) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        for (device, dev) in self.devices.iter().enumerate() {
            let count = self.ledger.services[dev.service].registers.len();
            for index in 0..count {
                let node = self.holder[dev.first_node + index];
                let changing = self.modelled[node]
                    && !matches!(
                        self.models[node],
                        Model::Fixed | Model::Invalid | Model::Sentinel
                    );
                if changing && matches!(self.values[node], NodeValue::Number(_)) {
                    out.push((device, index, node));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger;

    fn history(seconds: f64) -> History {
        let scenario = Scenario::bundled("three-phase").expect("bundled");
        let ledger = ledger::embedded().expect("ledger");
        Site::history(&scenario, ledger, 1, seconds, 60.0, 3600.0).expect("history")
    }

    fn series<'a>(history: &'a History, device: &str, key: &str) -> &'a Series {
        history
            .series
            .iter()
            .find(|s| s.device == device && s.key == key)
            .expect("series")
    }

    #[test]
    fn a_day_ends_where_a_fresh_site_starts() {
        let day = history(86_400.0);
        let scenario = Scenario::bundled("three-phase").expect("bundled");
        let fresh = Site::build(&scenario, ledger::embedded().expect("ledger"), 1).expect("site");
        let counter = series(&day, "grid", "ac_l1_energy_forward");
        assert_eq!(counter.last.len(), 24);
        let node = fresh
            .recorded()
            .into_iter()
            .find(|&(d, i, _)| {
                fresh.devices[d].id == "grid"
                    && fresh.ledger.services[fresh.devices[d].service].registers[i].key
                        == "ac_l1_energy_forward"
            })
            .map(|(_, _, node)| node)
            .expect("node");
        let end = counter.last[23];
        assert!(
            (end - fresh.number(node)).abs() < 1e-6,
            "{end} vs {}",
            fresh.number(node)
        );
        assert!(
            counter.last.windows(2).all(|w| w[1] >= w[0]),
            "a counter only grows"
        );
        assert!(
            counter.last[23] - counter.last[0] > 1.0,
            "a day of grid import"
        );
    }

    #[test]
    fn the_sun_sets_in_the_history() {
        let day = history(86_400.0);
        let pv = series(&day, "mppt_east", "yield_power");
        let (dark, lit) = (
            pv.max.iter().filter(|&&w| w == 0.0).count(),
            pv.max.iter().filter(|&&w| w > 100.0).count(),
        );
        assert!(dark >= 6 && lit >= 6, "{:?}", pv.max);
        let today = series(&day, "mppt_east", "history_daily_0_yield");
        assert!(today.min.iter().all(|&kwh| kwh >= 0.0), "{:?}", today.min);
        let soc = series(&day, "lynx", "soc");
        // The three-phase battery charges at up to 180 A in the late morning: from
        // any start it is full by the scenario's 13:00, so it ends nearest its 64 %.
        assert!((soc.last[23] - 100.0).abs() < 1e-9, "{:?}", soc.last);
        assert!(soc.min.iter().any(|&p| p < 30.0), "{:?}", soc.mean);
        assert!(soc
            .min
            .iter()
            .zip(&soc.max)
            .all(|(lo, hi)| 0.0 <= *lo && lo <= hi && *hi <= 100.0));
    }

    #[test]
    fn a_partial_last_bucket_and_bad_spans() {
        let short = history(5400.0);
        assert_eq!(series(&short, "lynx", "soc").mean.len(), 2);
        let scenario = Scenario::bundled("three-phase").expect("bundled");
        let ledger = ledger::embedded().expect("ledger");
        for (seconds, step, bucket) in [
            (0.0, 60.0, 3600.0),
            (3600.0, 0.0, 3600.0),
            (3600.0, 60.0, 30.0),
            (f64::NAN, 60.0, 60.0),
            (1e9, 60.0, 60.0),
        ] {
            assert!(Site::history(&scenario, ledger, 1, seconds, step, bucket).is_err());
        }
    }
}
