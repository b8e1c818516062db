//! A raw dump of the registers found devices serve, for diagnostics.
//!
//! The planner's full-cycle blocks (every served register, in the fewest
//! reads the GX answers without an exception) are read concurrently on the
//! pipelined connection, each as it is, within one deadline. A block the GX
//! refuses or that does not answer in time carries its error; the others are
//! still dumped. Words of registers the caller names (identity, location) are
//! blanked in the core, so they never leave it.

use std::collections::HashSet;

use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::{timeout_at, Instant};

use crate::frame::Reply;
use crate::plan::{plan_all, Block, Plan, PlanDevice};
use crate::transport::{Transport, TransportError};

/// One read of the dump: its words (`None` where redacted), or the error it met.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpedBlock {
    /// First address.
    pub start: u16,
    /// Number of registers.
    pub count: u16,
    /// The words read, `None` for a redacted one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<Option<u16>>>,
    /// Why the block was not read: `exception 0x02` (the GX's reply), a
    /// connection error's text, or that the time limit passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One device's part of the dump.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpedDevice {
    /// Unit ID.
    pub unit: u8,
    /// Service type.
    pub service: String,
    /// Its blocks, by address.
    pub blocks: Vec<DumpedBlock>,
}

/// The error text of a block that was not read in time.
pub const TOO_LATE: &str = "not read within the diagnostics time limit";

/// A failed read as the dump shows it: what kind of failure, then its details.
fn describe(error: &TransportError) -> String {
    let kind = match error {
        TransportError::Timeout(_) => "GX timeout",
        TransportError::Malformed(_) | TransportError::Protocol(_) => "GX protocol error",
        TransportError::Connect { .. }
        | TransportError::ConnectionLost(_)
        | TransportError::Closed => "GX connection error",
    };
    format!("{kind}: {error}")
}

/// Offsets in `block` of the words of registers whose key is in `redact`.
fn redacted_offsets(plan: &Plan, block: &Block, redact: &HashSet<String>) -> HashSet<u16> {
    block
        .placements
        .iter()
        .filter_map(|placement| {
            let register = &plan.slots.get(placement.slot)?.register;
            let words = u16::try_from(register.span().len()).ok()?;
            redact
                .contains(&register.key)
                .then(|| placement.offset..placement.offset.saturating_add(words))
        })
        .flatten()
        .collect()
}

/// The dumped block from what its read gave.
fn dumped(
    block: &Block,
    read: Option<Result<Reply, String>>,
    hidden: &HashSet<u16>,
) -> DumpedBlock {
    let (words, error) = match read {
        Some(Ok(Reply::Words(words))) => {
            let shown = (0u16..)
                .zip(words)
                .map(|(offset, word)| (!hidden.contains(&offset)).then_some(word));
            (Some(shown.collect()), None)
        }
        Some(Ok(Reply::Exception(code))) => (None, Some(format!("exception 0x{code:02X}"))),
        Some(Ok(Reply::WriteAck)) => (None, Some("write acknowledgement to a read".to_owned())),
        Some(Err(error)) => (None, Some(error)),
        None => (None, Some(TOO_LATE.to_owned())),
    };
    DumpedBlock {
        start: block.start,
        count: block.quantity,
        words,
        error,
    }
}

/// Reads every served register of `devices` by the plan's blocks before `deadline`.
pub async fn dump(
    transport: &Transport,
    devices: &[PlanDevice<'_>],
    redact: &HashSet<String>,
    deadline: Instant,
) -> Vec<DumpedDevice> {
    let plan = plan_all(devices);
    let mut reads = JoinSet::new();
    for &index in &plan.full {
        let (transport, block) = (transport.clone(), &plan.blocks[index]);
        let (unit, start, quantity) = (block.unit, block.start, block.quantity);
        reads.spawn(async move {
            let read = timeout_at(deadline, transport.read(unit, start, quantity)).await;
            (
                index,
                read.ok()
                    .map(|reply| reply.map_err(|error| describe(&error))),
            )
        });
    }
    let mut results = vec![None; plan.blocks.len()];
    while let Some(joined) = reads.join_next().await {
        if let Ok((index, read)) = joined {
            results[index] = read;
        }
    }
    let mut dumped_devices: Vec<DumpedDevice> = devices
        .iter()
        .map(|device| DumpedDevice {
            unit: device.unit,
            service: device.service.service_type().to_owned(),
            blocks: Vec::new(),
        })
        .collect();
    for &index in &plan.full {
        let block = &plan.blocks[index];
        let hidden = redacted_offsets(&plan, block, redact);
        if let Some(device) = dumped_devices.get_mut(block.device) {
            device
                .blocks
                .push(dumped(block, results[index].take(), &hidden));
        }
    }
    for device in &mut dumped_devices {
        device.blocks.sort_by_key(|block| block.start);
    }
    dumped_devices
}
