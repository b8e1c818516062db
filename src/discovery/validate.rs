//! Validation of a scan: every block of every device read once, refused
//! blocks split until the registers (and reserved words) the GX lacks are
//! known, and the devices' identity filled in from what was read.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::codec::Value;
use crate::firmware::{firmware_text, FirmwareStyle};
use crate::ledger::{Ledger, Register, Service};
use crate::plan::{plan_all, Block, Placement, Plan, PlanDevice};
use crate::poll::{decode_block, BlockResult};
use crate::products;
use crate::transport::{Transport, TransportError};

use super::served::Served;
use super::{FoundDevice, GxIdentity, ScanError, Tally};

/// Formats a GX firmware number read as hex digits (0x0360 -> v3.60), as
/// Venus OS writes its version (`v3.70~12` for a beta).
pub fn gx_firmware(version: u16, beta: u16) -> String {
    let text = format!("v{:x}.{:02x}", version >> 8, version & 0xFF);
    if beta == 0 {
        text
    } else {
        format!("{text}~{beta}")
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value {
        Some(Value::Text(text)) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        _ => None,
    }
}

fn integer(value: Option<&Value>) -> Option<i64> {
    match value {
        Some(Value::Int(v)) if *v != 0 => Some(*v),
        _ => None,
    }
}

/// The phase (1-3) of a register's D-Bus path: `/Ac/L2/Power` -> 2.
fn phase_of(path: &str) -> Option<u8> {
    (1..=3).find(|phase| path.contains(&format!("/L{phase}/")))
}

/// How many AC phases a device has: its `/Ac/NumberOfPhases`, else the
/// highest phase whose voltage reads non-zero (a phase the device lacks reads
/// 0 at the GX); `None` for a device without per-phase voltages.
fn phases(service: &Service, values: &BTreeMap<String, Value>) -> Option<u8> {
    fn path(register: &Register) -> &str {
        register.dbus_path.as_deref().unwrap_or("")
    }
    let declared = service
        .registers
        .iter()
        .find(|r| path(r) == "/Ac/NumberOfPhases")
        .and_then(|r| integer(values.get(&r.key)))
        .and_then(|count| u8::try_from(count).ok());
    if declared.is_some() {
        return declared;
    }
    let voltages: Vec<(u8, Option<&Value>)> = service
        .registers
        .iter()
        .filter(|r| path(r).ends_with("/V") || path(r).ends_with("/Voltage"))
        .filter_map(|r| Some((phase_of(path(r))?, values.get(&r.key))))
        .collect();
    if voltages.is_empty() {
        return None;
    }
    let live = |value: Option<&Value>| match value {
        Some(Value::Float(v)) => *v != 0.0,
        Some(Value::Int(v)) => *v != 0,
        _ => false,
    };
    Some(
        voltages
            .into_iter()
            .filter(|(_, value)| live(*value))
            .map(|(phase, _)| phase)
            .max()
            .unwrap_or(0),
    )
}

/// A block narrowed to some of its placements.
fn sub_block(block: &Block, placements: &[Placement], plan: &Plan) -> Block {
    let first = placements.iter().map(|p| p.offset).min().unwrap_or(0);
    let end = placements
        .iter()
        .map(|p| p.offset + plan.slots[p.slot].register.register_type.words())
        .max()
        .unwrap_or(first);
    Block {
        start: block.start + first,
        quantity: end - first,
        placements: placements
            .iter()
            .map(|p| Placement {
                slot: p.slot,
                offset: p.offset - first,
            })
            .collect(),
        ..block.clone()
    }
}

/// Reads one block; a block refused with 0x02 is split in halves until the
/// refused registers are known.
async fn read_splitting(
    transport: Transport,
    tally: Arc<Tally>,
    plan: Arc<Plan>,
    block: Block,
) -> Result<Refusals, TransportError> {
    let mut values = Vec::new();
    let mut refused = Vec::new();
    let mut bridges = Vec::new();
    let mut queue = vec![block];
    let mut scratch: Vec<Option<Value>> = vec![None; plan.slots.len()];
    while let Some(block) = queue.pop() {
        match tally
            .read(&transport, block.unit, block.start, block.quantity)
            .await
        {
            BlockResult::Words(words) => {
                decode_block(&plan, &block, &words, &mut scratch);
                for placement in &block.placements {
                    if let Some(value) = scratch[placement.slot].take() {
                        values.push((placement.slot, value));
                    }
                }
            }
            BlockResult::Exception(0x02) if block.placements.len() > 1 => {
                let (left, right) = block.placements.split_at(block.placements.len() / 2);
                let (left, right) = (
                    sub_block(&block, left, &plan),
                    sub_block(&block, right, &plan),
                );
                // The words between the halves may be what the GX refused.
                bridges.push((block.device, left.start + left.quantity, right.start));
                queue.push(right);
                queue.push(left);
            }
            BlockResult::Exception(0x02) => {
                refused.extend(block.placements.iter().map(|p| p.slot));
            }
            BlockResult::Exception(_) => {}
            BlockResult::Failed(err) => return Err(err),
        }
    }
    Ok(Refusals {
        values,
        refused,
        bridges,
    })
}

/// What validating one block learned.
struct Refusals {
    /// Decoded (slot, value) pairs.
    values: Vec<(usize, Value)>,
    /// Slots of registers the GX refused.
    refused: Vec<usize>,
    /// (device, from, to): address ranges between halves of a refused block.
    bridges: Vec<(usize, u16, u16)>,
}

/// Reads every block of every device once, all concurrently (bounded by the
/// transport). Refused registers become `unsupported`; identity registers
/// fill in the devices. Returns each device's values by key, in order.
pub(super) async fn validate(
    transport: &Transport,
    tally: &Arc<Tally>,
    ledger: &Ledger,
    devices: &mut [FoundDevice],
    gx: &mut GxIdentity,
    served: Served,
) -> Result<Vec<BTreeMap<String, Value>>, ScanError> {
    let services: Vec<Option<&Service>> =
        devices.iter().map(|d| ledger.service(&d.service)).collect();
    let upfront: Vec<Vec<String>> = services
        .iter()
        .map(|s| s.map(|s| served.unsupported(s)).unwrap_or_default())
        .collect();
    let unserved_upfront: Vec<Vec<[u16; 2]>> = services
        .iter()
        .map(|s| s.map(|s| served.unserved(s)).unwrap_or_default())
        .collect();
    let plan_input: Vec<PlanDevice<'_>> = devices
        .iter()
        .zip(upfront.iter().zip(&unserved_upfront))
        .filter_map(|(d, (unsupported, unserved))| {
            Some(PlanDevice {
                unit: d.unit,
                service: ledger.service(&d.service)?,
                unsupported,
                unserved,
            })
        })
        .collect();
    let known: Vec<usize> = devices
        .iter()
        .enumerate()
        .filter(|(_, d)| ledger.service(&d.service).is_some())
        .map(|(i, _)| i)
        .collect();
    let plan = Arc::new(plan_all(&plan_input));
    let mut tasks = JoinSet::new();
    for block in plan.blocks.iter().cloned() {
        tasks.spawn(read_splitting(
            transport.clone(),
            Arc::clone(tally),
            Arc::clone(&plan),
            block,
        ));
    }
    let mut values: Vec<Option<Value>> = vec![None; plan.slots.len()];
    let mut refused_by_device: Vec<Vec<String>> = vec![Vec::new(); plan_input.len()];
    let mut unserved_by_device: Vec<Vec<[u16; 2]>> = vec![Vec::new(); plan_input.len()];
    while let Some(joined) = tasks.join_next().await {
        let Ok(outcome) = joined else { continue };
        let learned = outcome?;
        for (slot, value) in learned.values {
            values[slot] = Some(value);
        }
        for slot in learned.refused {
            let planned = &plan.slots[slot];
            refused_by_device[planned.device].push(planned.register.key.clone());
        }
        for (device, from, to) in learned.bridges {
            let reserved = &plan_input[device].service.reserved;
            unserved_by_device[device]
                .extend(reserved.iter().filter(|b| b[0] < to && from <= b[1]));
        }
    }
    let mut by_device: Vec<BTreeMap<String, Value>> = vec![BTreeMap::new(); plan_input.len()];
    for (slot, planned) in plan.slots.iter().enumerate() {
        if let Some(value) = values[slot].take() {
            by_device[planned.device].insert(planned.register.key.clone(), value);
        }
    }
    let mut out = vec![BTreeMap::new(); devices.len()];
    for (plan_index, &device_index) in known.iter().enumerate() {
        let service = plan_input[plan_index].service;
        let by_key = &by_device[plan_index];
        // An INTERNAL register's path names the value it converts (834 holds
        // /FirmwareVersion as hex digits), not a value served as it is.
        let by_path = |path: &str| {
            service
                .registers
                .iter()
                .find(|r| !r.internal && r.dbus_path.as_deref() == Some(path))
                .and_then(|r| by_key.get(&r.key))
        };
        let mut unsupported = upfront[device_index].clone();
        unsupported.extend(refused_by_device[plan_index].iter().cloned());
        unsupported.sort();
        unsupported.dedup();
        let device = &mut devices[device_index];
        device.product_id = integer(by_path("/ProductId")).and_then(|v| u32::try_from(v).ok());
        device.name = text(by_path("/CustomName"))
            .or_else(|| text(by_path("/Settings/SystemSetup/SystemName")));
        device.serial = text(by_path("/Serial"));
        device.product_name = device
            .product_id
            .and_then(products::product_name)
            .map(str::to_owned);
        device.firmware = integer(by_path("/FirmwareVersion"))
            .and_then(|raw| u64::try_from(raw).ok())
            .and_then(|raw| firmware_text(raw, FirmwareStyle::of(&device.service)));
        device.registers = service.registers.len() - unsupported.len();
        device.unsupported = unsupported;
        let mut unserved = std::mem::take(&mut unserved_by_device[plan_index]);
        unserved.extend(&unserved_upfront[device_index]);
        unserved.sort_unstable();
        unserved.dedup();
        device.unserved = unserved;
        device.phases = phases(service, by_key);
        if device.service == "system" {
            gx.serial = device.serial.clone();
            if let Some(Value::Int(version)) = by_key.get("gx_firmware_major_version") {
                let beta = match by_key.get("gx_firmware_beta_release") {
                    Some(Value::Int(b)) => *b,
                    _ => 0,
                };
                gx.firmware = Some(gx_firmware(
                    u16::try_from(*version).unwrap_or(0),
                    u16::try_from(beta).unwrap_or(0),
                ));
            }
        }
    }
    for (plan_index, values) in by_device.into_iter().enumerate() {
        out[known[plan_index]] = values;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firmware_formats() {
        assert_eq!(gx_firmware(0x0360, 0), "v3.60");
        assert_eq!(gx_firmware(0x0370, 12), "v3.70~12");
    }
}
