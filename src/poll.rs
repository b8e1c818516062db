//! Polling: executes a read plan, decodes every register and reports what
//! changed. One failing block (a timeout, an exception) makes only its
//! registers unavailable; a device that answers "no such service"
//! (0x0A/0x0B) with no block answering, or a lost connection, makes all the
//! device's registers unavailable; the transport reconnects by itself.
//!
//! A poll that finds the connection down tries to open it once (within the
//! transport's backoff) before reading anything, and blocks that failed only
//! because the connection was not up are read again in the same poll once a
//! new connection is up: the poll on which the GX comes back reads it whole.

use crate::codec::Value;
use crate::frame::Reply;
use crate::join::join_all;
use crate::ledger::decode_reading;
use crate::plan::{tier_of, Block, Cycle, Placement, Plan, PlanDevice, Tier};
use crate::transport::{Transport, TransportError};
use serde::Serialize;

/// How a block read ended.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockResult {
    /// The words of the block.
    Words(Vec<u16>),
    /// A Modbus exception reply.
    Exception(u8),
    /// No reply (timeout, connection trouble).
    Failed(TransportError),
}

impl BlockResult {
    /// Turns a transport outcome into a block result.
    pub fn from_reply(outcome: Result<Reply, TransportError>, quantity: u16) -> Self {
        match outcome {
            Ok(Reply::Words(words)) if words.len() == usize::from(quantity) => Self::Words(words),
            Ok(Reply::Words(words)) => Self::Failed(TransportError::Malformed(format!(
                "{} words for a read of {quantity}",
                words.len()
            ))),
            Ok(Reply::Exception(code)) => Self::Exception(code),
            Ok(Reply::WriteAck) => {
                Self::Failed(TransportError::Malformed("write ack to a read".into()))
            }
            Err(err) => Self::Failed(err),
        }
    }

    /// Whether the block failed only because no connection was up (it never
    /// reached the GX, or its connection ended under it): a read worth
    /// repeating on a new connection. Timeouts and exceptions are not.
    pub fn lost_to_connection(&self) -> bool {
        matches!(
            self,
            Self::Failed(TransportError::Connect { .. } | TransportError::ConnectionLost(_))
        )
    }

    /// Whether the request went out on a connection (the GX may have seen it).
    fn sent(&self) -> bool {
        !matches!(
            self,
            Self::Failed(TransportError::Connect { .. } | TransportError::Closed)
        )
    }
}

/// Reads blocks of a plan concurrently (the transport bounds the
/// concurrency) within the calling task; results in plan order.
async fn read_blocks(
    plan: &Plan,
    transport: &Transport,
    indices: &[usize],
) -> Vec<(usize, BlockResult)> {
    let reads = indices.iter().filter_map(|&index| {
        let block = plan.blocks.get(index)?;
        let (unit, start, quantity) = (block.unit, block.start, block.quantity);
        Some(async move {
            let outcome = transport.read(unit, start, quantity).await;
            (index, BlockResult::from_reply(outcome, quantity))
        })
    });
    let mut results = join_all(reads).await;
    results.sort_by_key(|(index, _)| *index);
    results
}

/// Reads the due blocks: first makes sure a connection is up (one attempt
/// within the backoff; none up: nothing is sent), then reads every block,
/// then reads again, once, the blocks lost to the connection if a new one
/// is up by then. Returns the results and the requests sent.
async fn read_due(
    plan: &Plan,
    transport: &Transport,
    due: &[usize],
) -> (Vec<(usize, BlockResult)>, usize) {
    if let Err(err) = transport.connect().await {
        let failed = due
            .iter()
            .map(|&index| (index, BlockResult::Failed(err.clone())))
            .collect();
        return (failed, 0);
    }
    let opened = transport.connections_opened();
    let mut results = read_blocks(plan, transport, due).await;
    let mut sent = results.iter().filter(|(_, r)| r.sent()).count();
    let lost: Vec<usize> = results
        .iter()
        .filter(|(_, result)| result.lost_to_connection())
        .map(|(index, _)| *index)
        .collect();
    if !lost.is_empty()
        && transport.connect().await.is_ok()
        && transport.connections_opened() != opened
    {
        let again = read_blocks(plan, transport, &lost).await;
        sent += again.iter().filter(|(_, r)| r.sent()).count();
        results.retain(|(_, result)| !result.lost_to_connection());
        results.extend(again);
        results.sort_by_key(|(index, _)| *index);
    }
    (results, sent)
}

/// Decodes one register of a block's words (`None`: the words do not fit it).
fn decode_placement(plan: &Plan, placement: &Placement, words: &[u16]) -> Option<Value> {
    let register = &plan.slots[placement.slot].register;
    let start = usize::from(placement.offset);
    let end = start + usize::from(register.register_type.words());
    words
        .get(start..end)
        .and_then(|slice| decode_reading(register, slice).ok())
}

/// Decodes the registers of one block into `values` (by slot).
pub fn decode_block(plan: &Plan, block: &Block, words: &[u16], values: &mut [Option<Value>]) {
    for placement in &block.placements {
        if let Some(slot) = values.get_mut(placement.slot) {
            *slot = decode_placement(plan, placement, words);
        }
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PollReport {
    /// Slots whose value (or availability) changed.
    pub changed: Vec<usize>,
    /// Requests sent (retries included; none when no connection could be opened).
    pub requests: usize,
    /// Blocks that got an exception or no reply (after any retry).
    pub failed: usize,
    /// Devices (by plan index) that could not be read at all this poll.
    pub unavailable_devices: Vec<usize>,
    /// Whether the GX could not be reached at all.
    pub connection_lost: bool,
}

/// What one poll gives a client: the values by plan index and what changed.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(feature = "python", derive(pyo3::IntoPyObject))]
#[derive(Debug, Clone, PartialEq)]
pub struct PollOutput {
    /// Every register's value, in plan order (None: not read, or not available).
    pub values: Vec<Option<Value>>,
    /// The plan indexes of the registers without a value.
    pub unavailable: Vec<usize>,
    /// The plan indexes of the registers whose value (or availability) changed.
    pub changed: Vec<usize>,
    /// Devices (by plan index) that could not be read at all this poll.
    pub unavailable_devices: Vec<usize>,
    /// Whether the GX could not be reached at all.
    pub connection_lost: bool,
    /// Requests sent (retries included).
    pub requests: usize,
    /// Blocks that got an exception or no reply (after any retry).
    pub failed: usize,
}

/// A register the client polls.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedRegister<'a> {
    /// Its device's index in the plan.
    pub device: usize,
    /// Unit ID of its device.
    pub unit: u8,
    /// Service type of its device.
    pub service: &'a str,
    /// Register key.
    pub key: &'a str,
    /// How often it is read.
    pub tier: Tier,
}

/// A client's read plan: the registers it polls, in value order, and what
/// reading them costs.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanView<'a> {
    /// The registers, in the order of a poll's values.
    pub registers: Vec<PlannedRegister<'a>>,
    /// Requests of a full cycle (every register).
    pub requests: usize,
    /// Requests of one poll cycle on average (the first, full cycle excluded).
    pub requests_per_cycle: f64,
}

/// Reads a plan repeatedly, keeping the latest value of every register.
#[derive(Debug)]
pub struct Poller {
    plan: Plan,
    devices: usize,
    values: Vec<Option<Value>>,
    static_pending: bool,
    slow_pending: bool,
    cycle: u64,
    slow_every: u64,
}

/// An unavailable register: `None`; a "not available" reading: `Some(NotAvailable)`.
type Reading = Option<Value>;

impl Poller {
    /// A poller for a plan over `devices` devices; slow blocks are read every
    /// `slow_every` polls (at least 1).
    pub fn new(plan: Plan, devices: usize, slow_every: u64) -> Self {
        let slots = plan.slots.len();
        Self {
            plan,
            devices,
            values: vec![None; slots],
            static_pending: true,
            slow_pending: true,
            cycle: 0,
            slow_every: slow_every.max(1),
        }
    }

    /// The plan being polled.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The latest value per slot (`None`: unavailable).
    pub fn values(&self) -> &[Reading] {
        &self.values
    }

    /// The kind of cycle the next poll is.
    fn due(&self) -> Cycle {
        if self.static_pending {
            Cycle::Full
        } else if self.slow_pending || self.cycle % self.slow_every == 0 {
            Cycle::Slow
        } else {
            Cycle::Fast
        }
    }

    /// Requests of one poll cycle on average (the first, full cycle excluded).
    pub fn requests_per_cycle(&self) -> f64 {
        let fast = self.plan.requests(Cycle::Fast) as f64;
        let slow = self.plan.requests(Cycle::Slow) as f64;
        let every = self.slow_every as f64;
        (slow + fast * (every - 1.0)) / every
    }

    /// What a client reports of a poll: every value in plan order, and the
    /// `report`'s account of it.
    pub fn output(&self, report: PollReport) -> PollOutput {
        let values = self.values();
        PollOutput {
            unavailable: values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_none())
                .map(|(i, _)| i)
                .collect(),
            values: values.to_vec(),
            changed: report.changed,
            unavailable_devices: report.unavailable_devices,
            connection_lost: report.connection_lost,
            requests: report.requests,
            failed: report.failed,
        }
    }

    /// What a client reports of its plan: every register in value order
    /// (`devices`: the plan's devices, by plan index) and the request counts.
    pub fn view<'a>(&'a self, devices: &[PlanDevice<'a>]) -> PlanView<'a> {
        PlanView {
            registers: self
                .plan
                .slots
                .iter()
                .map(|slot| PlannedRegister {
                    device: slot.device,
                    unit: devices[slot.device].unit,
                    service: devices[slot.device].service.service_type(),
                    key: &slot.register.key,
                    tier: tier_of(&slot.register),
                })
                .collect(),
            requests: self.plan.requests(Cycle::Full),
            requests_per_cycle: self.requests_per_cycle(),
        }
    }

    /// Reads every due block concurrently (the transport bounds the
    /// concurrency), decodes them and reports what changed.
    pub async fn poll(&mut self, transport: &Transport) -> PollReport {
        let due = self.plan.cycle(self.due()).to_vec();
        let (results, sent) = read_due(&self.plan, transport, &due).await;
        self.cycle += 1;
        let mut report = self.apply(results);
        report.requests = sent;
        report
    }

    /// Applies block results (in plan order) to the values; the report counts
    /// one request per result. Values are updated in place: only the slots
    /// of the blocks read (or of a device lost) are looked at.
    pub fn apply(&mut self, results: Vec<(usize, BlockResult)>) -> PollReport {
        let mut report = PollReport {
            requests: results.len(),
            ..PollReport::default()
        };
        let mut read_ok = vec![false; self.devices];
        let mut read_failed = vec![false; self.devices];
        let mut connection_errors = 0;
        let mut static_failed = false;
        let mut slow_failed = false;
        for (index, result) in &results {
            let Some(block) = self.plan.blocks.get(*index) else {
                continue;
            };
            if matches!(result, BlockResult::Words(_)) {
                read_ok[block.device] = true;
                continue;
            }
            report.failed += 1;
            // No Modbus conversation at all: unreachable, lost, closed,
            // or something other than a Modbus server on the port.
            let connection = matches!(
                result,
                BlockResult::Failed(
                    TransportError::Connect { .. }
                        | TransportError::ConnectionLost(_)
                        | TransportError::Protocol(_)
                        | TransportError::Closed
                )
            );
            connection_errors += usize::from(connection);
            // The device is gone (unplugged, or no connection); a timeout
            // or another exception concerns only this block.
            let gone = connection || matches!(result, BlockResult::Exception(0x0A | 0x0B));
            read_failed[block.device] |= gone;
            static_failed |= block.tier == Tier::Static;
            slow_failed |= block.tier != Tier::Fast;
        }
        report.connection_lost = report.requests > 0 && connection_errors == report.requests;
        let lost: Vec<bool> = (0..self.devices)
            .map(|device| read_failed[device] && !read_ok[device])
            .collect();
        report.unavailable_devices = (0..self.devices).filter(|&d| lost[d]).collect();
        // Whatever was lost is read again in full once the device answers.
        let resync = !report.unavailable_devices.is_empty();
        self.static_pending = static_failed || resync;
        self.slow_pending = slow_failed || resync;
        let mut changed = Vec::new();
        let mut set = |slot: usize, value: Reading| {
            if let Some(current) = self.values.get_mut(slot) {
                if *current != value {
                    changed.push(slot);
                    *current = value;
                }
            }
        };
        for (index, result) in results {
            let Some(block) = self.plan.blocks.get(index) else {
                continue;
            };
            if lost[block.device] {
                continue;
            }
            for placement in &block.placements {
                let value = match &result {
                    BlockResult::Words(words) => decode_placement(&self.plan, placement, words),
                    _ => None,
                };
                set(placement.slot, value);
            }
        }
        for (slot, planned) in self.plan.slots.iter().enumerate() {
            if lost[planned.device] {
                set(slot, None);
            }
        }
        changed.sort_unstable();
        changed.dedup();
        report.changed = changed;
        report
    }
}
