//! What the simulated GX saw: requests by function code, unit and outcome,
//! exception replies (each one an ERROR line in a real GX's log), and writes.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use super::gx::WriteRecord;
use crate::codec::Value;

/// Most writes the log keeps (oldest dropped first).
pub const WRITE_LOG_CAPACITY: usize = 1000;

/// Counters of one unit ID.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnitStats {
    /// Requests addressed to the unit.
    pub requests: u64,
    /// Exception replies to them.
    pub exceptions: u64,
}

/// One accepted write.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriteLogEntry {
    /// Unit ID of the request.
    pub unit: u8,
    /// Scenario device id.
    pub device: String,
    /// Register key.
    pub key: String,
    /// Address of the first word written.
    pub address: u16,
    /// Words written.
    pub words: Vec<u16>,
    /// Value the register then held (None: not available).
    pub value: Option<f64>,
    /// Text, for string registers.
    pub text: Option<String>,
}

impl From<WriteRecord> for WriteLogEntry {
    fn from(record: WriteRecord) -> Self {
        let (value, text) = match record.value {
            Value::Int(int) => (Some(int as f64), None),
            Value::Float(float) => (Some(float), None),
            Value::Text(text) => (None, Some(text)),
            Value::NotAvailable => (None, None),
        };
        Self {
            unit: record.unit,
            device: record.device,
            key: record.key,
            address: record.address,
            words: record.words,
            value,
            text,
        }
    }
}

/// Request statistics of a simulator run (in JSON, codes and unit IDs as keys are text).
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(rename = "SimulatorStats"))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Requests answered or stalled.
    pub requests: u64,
    /// Requests by function code.
    pub by_function: BTreeMap<u8, u64>,
    /// Exception replies (the GX logs each at ERROR level).
    pub exceptions: u64,
    /// Exception replies by code.
    pub exceptions_by_code: BTreeMap<u8, u64>,
    /// Per unit ID.
    pub by_unit: BTreeMap<u8, UnitStats>,
    /// TCP connections accepted.
    pub connections_accepted: u64,
    /// Connections closed at once because of the connection limit.
    pub connections_rejected: u64,
    /// Connections open now.
    pub connections_open: u64,
    /// TCP connections the MQTT face accepted (each one MQTT client session).
    pub mqtt_connections: u64,
    /// Frames from clients that could not be parsed (the connection was dropped).
    pub malformed_requests: u64,
    /// Faults injected so far.
    pub faults_injected: u64,
    /// Simulated reboots so far.
    pub reboots: u64,
    /// Total writes accepted.
    pub writes_total: u64,
    /// The most recent writes.
    pub writes: VecDeque<WriteLogEntry>,
}

impl Stats {
    /// Counts one request and its outcome.
    pub fn record(&mut self, unit: u8, function: u8, exception: Option<u8>) {
        self.requests += 1;
        *self.by_function.entry(function).or_default() += 1;
        let per_unit = self.by_unit.entry(unit).or_default();
        per_unit.requests += 1;
        if let Some(code) = exception {
            self.exceptions += 1;
            per_unit.exceptions += 1;
            *self.exceptions_by_code.entry(code).or_default() += 1;
        }
    }

    /// Logs accepted writes.
    pub fn record_writes(&mut self, writes: Vec<WriteRecord>) {
        for write in writes {
            self.writes_total += 1;
            if self.writes.len() == WRITE_LOG_CAPACITY {
                self.writes.pop_front();
            }
            self.writes.push_back(write.into());
        }
    }
}
