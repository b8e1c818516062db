//! Rust `log` records on their way to Python logging, without a tokio thread
//! ever calling into Python: records wait in a bounded queue, the most recent
//! bridge's event loop is woken, and `victron_gx_modbus._bridge` hands them
//! to `logging` on the loop's thread (logger names follow the Rust module
//! path: `victron_gx_modbus.transport`, ...).

use std::collections::VecDeque;
use std::sync::{Mutex, Weak};

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;

use super::bridge::Shared;
use crate::sync::lock;

/// Records kept while nobody takes them; older ones are dropped first.
const CAPACITY: usize = 1024;
const CRATE: &str = "victron_gx_modbus";

struct Queue {
    records: VecDeque<(u8, String, String)>,
    dropped: u64,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    records: VecDeque::new(),
    dropped: 0,
});
static WAKER: Mutex<Option<Weak<Shared>>> = Mutex::new(None);

/// Python's level number of a Rust level.
fn python_level(level: Level) -> u8 {
    match level {
        Level::Error => 40,
        Level::Warn => 30,
        Level::Info => 20,
        Level::Debug | Level::Trace => 10,
    }
}

struct QueueLogger;

impl Log for QueueLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with(CRATE)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let name = record.target().replace("::", ".");
        {
            let mut queue = lock(&QUEUE);
            if queue.records.len() == CAPACITY {
                queue.records.pop_front();
                queue.dropped += 1;
            }
            queue.records.push_back((
                python_level(record.level()),
                name,
                record.args().to_string(),
            ));
        }
        let waker = lock(&WAKER).as_ref().and_then(Weak::upgrade);
        if let Some(shared) = waker {
            shared.wake();
        }
    }

    fn flush(&self) {}
}

static LOGGER: QueueLogger = QueueLogger;

/// Installs the queue as the `log` backend (once per process).
pub fn install() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(LevelFilter::Debug);
    }
}

/// The bridge to wake when a record arrives (the most recently created).
pub(super) fn wake_with(shared: Weak<Shared>) {
    *lock(&WAKER) = Some(shared);
}

/// Takes the waiting records as `(python level, logger name, message)`,
/// preceded by a warning when the queue overflowed.
#[pyfunction]
pub fn take_logs() -> Vec<(u8, String, String)> {
    let mut queue = lock(&QUEUE);
    let mut records: Vec<_> = Vec::with_capacity(queue.records.len() + 1);
    if queue.dropped > 0 {
        records.push((
            python_level(Level::Warn),
            CRATE.to_owned(),
            format!(
                "{} core log records were dropped (nobody took them in time)",
                queue.dropped
            ),
        ));
        queue.dropped = 0;
    }
    records.extend(queue.records.drain(..));
    records
}
