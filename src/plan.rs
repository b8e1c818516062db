//! The read planner: from the devices a scan found, the fewest read requests
//! (at most 125 registers each) that the GX answers without an exception.
//!
//! A block only spans addresses the GX defines for the device's service
//! (its registers and reserved blocks, which read 0xFFFF), never a gap and
//! never a register the GX refused during the scan. Registers are split in
//! tiers: identity (`Static`, read once), counters and settings (`Slow`, read
//! every few polls) and live values (`Fast`, read every poll).

use serde::{Deserialize, Serialize};

use crate::frame::MAX_READ_QUANTITY;
use crate::ledger::{Platform, Register, Service};

/// How often a register is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Identity (serial, product, firmware, name): once.
    Static,
    /// Energy counters, settings, history and diagnostics: every few polls.
    Slow,
    /// Live values: every poll.
    Fast,
}

const STATIC_PATHS: &[&str] = &[
    "/Serial",
    "/ProductId",
    "/FirmwareVersion",
    "/HardwareVersion",
    "/CustomName",
    "/ProductName",
    "/DeviceInstance",
    "/Settings/SystemSetup/SystemName",
];

/// Paths of values that change over minutes, not seconds (schedules,
/// strategies, operating modes of slow controllers).
const SLOW_PATH_PARTS: &[&str] = &["/History/", "/DynamicEss/", "/MicroGrid/", "/BatteryLife/"];

/// The tier a register belongs to.
pub fn tier_of(register: &Register) -> Tier {
    let path = register.dbus_path.as_deref().unwrap_or("");
    let identity = STATIC_PATHS.contains(&path) || path.contains("Nominal");
    if identity || (register.internal && register.key.starts_with("gx_firmware")) {
        return Tier::Static;
    }
    let slow = register.ha.unit.as_deref() == Some("kWh")
        || register.ha.entity_category.is_some()
        || SLOW_PATH_PARTS.iter().any(|part| path.contains(part))
        || register.ha.platform != Platform::Sensor && register.writable;
    if slow {
        Tier::Slow
    } else {
        Tier::Fast
    }
}

/// A device to plan for: where it is and what the GX refused.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanDevice<'a> {
    /// Unit ID.
    pub unit: u8,
    /// Its service in the ledger.
    pub service: &'a Service,
    /// Keys of registers the GX answered 0x02 for.
    pub unsupported: &'a [String],
    /// Reserved blocks the GX did not serve (older firmware).
    pub unserved: &'a [[u16; 2]],
}

/// Where one register's words sit in a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Index of the planned register (its slot in a snapshot).
    pub slot: usize,
    /// Offset of its first word in the block.
    pub offset: u16,
}

/// One read request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Index of the device in the plan's input.
    pub device: usize,
    /// Unit ID.
    pub unit: u8,
    /// First address.
    pub start: u16,
    /// Number of registers.
    pub quantity: u16,
    /// How often it is read.
    pub tier: Tier,
    /// The registers it carries.
    pub placements: Vec<Placement>,
}

/// A register the plan reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// Index of the device in the plan's input.
    pub device: usize,
    /// The ledger register.
    pub register: Register,
}

/// The read requests for a set of devices.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Every register read, in block order.
    pub slots: Vec<Slot>,
    /// The requests.
    pub blocks: Vec<Block>,
}

impl Plan {
    /// Number of requests of the given tiers.
    pub fn requests(&self, tiers: &[Tier]) -> usize {
        self.blocks
            .iter()
            .filter(|b| tiers.contains(&b.tier))
            .count()
    }
}

/// Sorted, merged half-open address ranges a service defines.
fn defined_ranges(
    service: &Service,
    unsupported: &[String],
    unserved: &[[u16; 2]],
) -> Vec<(u32, u32)> {
    let mut ranges: Vec<(u32, u32)> = service
        .registers
        .iter()
        .filter(|r| !unsupported.contains(&r.key))
        .map(|r| (r.span().start, r.span().end))
        .chain(
            service
                .reserved
                .iter()
                .filter(|block| !unserved.contains(block))
                .map(|b| (u32::from(b[0]), u32::from(b[1]) + 1)),
        )
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// Whether every address of `from..to` is defined.
fn all_defined(ranges: &[(u32, u32)], from: u32, to: u32) -> bool {
    if from >= to {
        return true;
    }
    let index = ranges.partition_point(|&(_, end)| end <= from);
    ranges
        .get(index)
        .is_some_and(|&(start, end)| start <= from && to <= end)
}

/// Adds a register to a block (extending it) and to the plan's slots.
fn place(result: &mut Plan, block: &mut Block, device: usize, register: &Register) {
    let offset = register.address - block.start;
    block.quantity = block.quantity.max(offset + register.register_type.words());
    block.placements.push(Placement {
        slot: result.slots.len(),
        offset,
    });
    result.slots.push(Slot {
        device,
        register: register.clone(),
    });
}

/// Greedy blocks of one tier over registers in address order.
fn tier_blocks<'r>(
    result: &mut Plan,
    device: (usize, u8),
    tier: Tier,
    ranges: &[(u32, u32)],
    registers: impl Iterator<Item = &'r Register>,
) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for register in registers {
        let span = register.span();
        let fits = open.as_ref().is_some_and(|block| {
            let block_end = u32::from(block.start) + u32::from(block.quantity);
            span.end - u32::from(block.start) <= u32::from(MAX_READ_QUANTITY)
                && all_defined(ranges, block_end, span.start)
        });
        if !fits {
            blocks.extend(open.take());
            open = Some(Block {
                device: device.0,
                unit: device.1,
                start: register.address,
                quantity: 0,
                tier,
                placements: Vec::new(),
            });
        }
        if let Some(block) = open.as_mut() {
            place(result, block, device.0, register);
        }
    }
    blocks.extend(open);
    blocks
}

/// Plans the registers of `devices` that `include` accepts. Fast blocks come
/// first; a slow or identity register whose words a fast block reads anyway
/// is decoded from it instead of costing a request of its own.
pub fn plan(devices: &[PlanDevice<'_>], include: &dyn Fn(&Service, &Register) -> bool) -> Plan {
    let mut result = Plan::default();
    for (index, device) in devices.iter().enumerate() {
        let ranges = defined_ranges(device.service, device.unsupported, device.unserved);
        let wanted =
            |r: &&Register| !device.unsupported.contains(&r.key) && include(device.service, r);
        let of_tier = |tier: Tier| {
            let wanted = &wanted;
            device
                .service
                .registers
                .iter()
                .filter(move |r| tier_of(r) == tier && wanted(r))
        };
        let mut fast = tier_blocks(
            &mut result,
            (index, device.unit),
            Tier::Fast,
            &ranges,
            of_tier(Tier::Fast),
        );
        for tier in [Tier::Slow, Tier::Static] {
            let mut rest = Vec::new();
            for register in of_tier(tier) {
                let span = register.span();
                let covering = fast.iter_mut().find(|block| {
                    let start = u32::from(block.start);
                    start <= span.start && span.end <= start + u32::from(block.quantity)
                });
                match covering {
                    Some(block) => place(&mut result, block, index, register),
                    None => rest.push(register),
                }
            }
            let blocks = tier_blocks(
                &mut result,
                (index, device.unit),
                tier,
                &ranges,
                rest.into_iter(),
            );
            result.blocks.extend(blocks);
        }
        for block in &mut fast {
            block.placements.sort_by_key(|p| p.offset);
        }
        result.blocks.append(&mut fast);
    }
    result
}

/// Plans every register of `devices`.
pub fn plan_all(devices: &[PlanDevice<'_>]) -> Plan {
    plan(devices, &|_, _| true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{embedded, Ledger};

    fn ledger() -> &'static Ledger {
        embedded().unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn blocks_cover_every_register_once_within_limits() {
        let vebus = ledger().service("vebus").unwrap_or_else(|| panic!("vebus"));
        let none: Vec<String> = Vec::new();
        let devices = [PlanDevice {
            unit: 227,
            service: vebus,
            unsupported: &none,
            unserved: &[],
        }];
        let plan = plan_all(&devices);
        assert_eq!(plan.slots.len(), vebus.registers.len());
        let ranges = defined_ranges(vebus, &none, &[]);
        for block in &plan.blocks {
            assert!(block.quantity <= MAX_READ_QUANTITY);
            assert!(block
                .placements
                .windows(2)
                .all(|w| w[0].offset < w[1].offset));
            let start = u32::from(block.start);
            assert!(all_defined(
                &ranges,
                start,
                start + u32::from(block.quantity)
            ));
        }
        // Far fewer requests than registers.
        assert!(
            plan.blocks.len() * 5 < vebus.registers.len(),
            "{} blocks",
            plan.blocks.len()
        );
    }

    #[test]
    fn unsupported_registers_split_blocks() {
        let vebus = ledger().service("vebus").unwrap_or_else(|| panic!("vebus"));
        let none: Vec<String> = Vec::new();
        let whole = plan_all(&[PlanDevice {
            unit: 227,
            service: vebus,
            unsupported: &none,
            unserved: &[],
        }]);
        let refused = vec!["ac_active_in_l2_i".to_owned()];
        let split = plan_all(&[PlanDevice {
            unit: 227,
            service: vebus,
            unsupported: &refused,
            unserved: &[],
        }]);
        assert_eq!(split.slots.len(), whole.slots.len() - 1);
        assert!(split.blocks.len() > whole.blocks.len());
        assert!(split
            .blocks
            .iter()
            .all(|b| !(b.start..b.start + b.quantity).contains(&7)));
    }

    #[test]
    fn tiers_separate_counters_and_identity() {
        let grid = ledger().service("grid").unwrap_or_else(|| panic!("grid"));
        let tier = |key: &str| tier_of(grid.register(key).unwrap_or_else(|| panic!("{key}")));
        assert_eq!(tier("serial"), Tier::Static);
        assert_eq!(tier("ac_l1_energy_forward"), Tier::Slow);
        assert_eq!(tier("ac_l1_power"), Tier::Fast);
    }

    #[test]
    fn defined_checks() {
        let ranges = [(10, 20), (20, 25), (30, 40)];
        assert!(all_defined(&ranges, 10, 20));
        assert!(!all_defined(&ranges, 18, 26));
        assert!(all_defined(&ranges, 31, 31));
        assert!(!all_defined(&ranges, 0, 5));
    }
}
