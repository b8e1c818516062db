//! The read planner: from the devices a scan found, the fewest read requests
//! (at most 125 registers each) that the GX answers without an exception.
//!
//! A block only spans addresses the GX defines for the device's service
//! (its registers and reserved blocks, which read 0xFFFF), never a gap and
//! never a register the GX refused during the scan. Registers are split in
//! tiers: identity (`Static`, read once), counters and settings (`Slow`, read
//! every few polls) and live values (`Fast`, read every poll).
//!
//! Each kind of poll cycle gets its own fewest blocks over exactly the
//! registers it is due to read ([`Cycle`]): an ordinary cycle reads the fast
//! registers, a slow cycle fast and slow ones together (so a counter next
//! to a live value costs no request of its own), the first cycle everything.
//! Greedy blocks per served segment are optimal for a set of registers, so
//! every cycle costs the fewest requests the GX allows. A block decodes every
//! planned register inside its span, whatever its tier.

use serde::{Deserialize, Serialize};

use crate::frame::MAX_READ_QUANTITY;
use crate::ledger::{Platform, Register, Service};

/// How often a register is read.
#[cfg_attr(test, derive(schemars::JsonSchema))]
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
    /// The slowest tier among the registers it carries.
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

/// The kinds of poll cycle, by what they are due to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cycle {
    /// Live values only.
    Fast,
    /// Live values, counters and settings.
    Slow,
    /// Every register (the first cycle, and after a device came back).
    Full,
}

impl Cycle {
    /// Whether this cycle reads registers of `tier`.
    pub fn reads(self, tier: Tier) -> bool {
        match self {
            Self::Fast => tier == Tier::Fast,
            Self::Slow => tier != Tier::Static,
            Self::Full => true,
        }
    }
}

/// The read requests for a set of devices.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Every register read, by device then address.
    pub slots: Vec<Slot>,
    /// Every distinct request of the three cycles.
    pub blocks: Vec<Block>,
    /// Indices into `blocks` of an ordinary cycle.
    pub fast: Vec<usize>,
    /// Indices into `blocks` of a cycle that also reads the slow tier.
    pub slow: Vec<usize>,
    /// Indices into `blocks` of a cycle that reads everything.
    pub full: Vec<usize>,
}

impl Plan {
    /// The blocks (indices into `blocks`) a cycle reads.
    pub fn cycle(&self, cycle: Cycle) -> &[usize] {
        match cycle {
            Cycle::Fast => &self.fast,
            Cycle::Slow => &self.slow,
            Cycle::Full => &self.full,
        }
    }

    /// Number of requests of a cycle.
    pub fn requests(&self, cycle: Cycle) -> usize {
        self.cycle(cycle).len()
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

/// Greedy read ranges `(start, quantity)` over registers in address order:
/// a range grows while the next register fits in 125 words and every address
/// up to it is defined. Starting each range at the first register not yet
/// covered gives the fewest ranges.
pub fn greedy_ranges<'r>(
    ranges: &[(u32, u32)],
    registers: impl Iterator<Item = &'r Register>,
) -> Vec<(u16, u16)> {
    let mut blocks: Vec<(u16, u16)> = Vec::new();
    let mut open: Option<(u16, u16)> = None;
    for register in registers {
        let span = register.span();
        let fits = open.is_some_and(|(start, quantity)| {
            let end = u32::from(start) + u32::from(quantity);
            span.end - u32::from(start) <= u32::from(MAX_READ_QUANTITY)
                && all_defined(ranges, end, span.start)
        });
        if !fits {
            blocks.extend(open.take());
            open = Some((register.address, 0));
        }
        if let Some((start, quantity)) = open.as_mut() {
            let reach = register.address - *start + register.register_type.words();
            *quantity = (*quantity).max(reach);
        }
    }
    blocks.extend(open);
    blocks
}

/// The defined address ranges of a device's service, as the planner sees them.
pub fn served_ranges(device: &PlanDevice<'_>) -> Vec<(u32, u32)> {
    defined_ranges(device.service, device.unsupported, device.unserved)
}

/// Plans the registers of `devices` that `include` accepts.
pub fn plan(
    devices: &[PlanDevice<'_>],
    include: &dyn Fn(&PlanDevice<'_>, &Register) -> bool,
) -> Plan {
    let mut result = Plan::default();
    for (index, device) in devices.iter().enumerate() {
        let ranges = served_ranges(device);
        let wanted: Vec<&Register> = device
            .service
            .registers
            .iter()
            .filter(|r| !device.unsupported.contains(&r.key) && include(device, r))
            .collect();
        let first_slot = result.slots.len();
        result.slots.extend(wanted.iter().map(|register| Slot {
            device: index,
            register: (*register).clone(),
        }));
        let first_block = result.blocks.len();
        for cycle in [Cycle::Fast, Cycle::Slow, Cycle::Full] {
            let due = wanted.iter().copied().filter(|r| cycle.reads(tier_of(r)));
            for (start, quantity) in greedy_ranges(&ranges, due) {
                let existing = result.blocks[first_block..]
                    .iter()
                    .position(|b| b.start == start && b.quantity == quantity)
                    .map(|offset| first_block + offset);
                let block = existing.unwrap_or_else(|| {
                    let block = span_block(
                        &result.slots,
                        first_slot,
                        (index, device.unit),
                        start,
                        quantity,
                    );
                    result.blocks.push(block);
                    result.blocks.len() - 1
                });
                match cycle {
                    Cycle::Fast => result.fast.push(block),
                    Cycle::Slow => result.slow.push(block),
                    Cycle::Full => result.full.push(block),
                }
            }
        }
    }
    result
}

/// A block over `start..start + quantity` of one device that decodes every
/// planned register inside it; its tier is the slowest it carries.
fn span_block(
    slots: &[Slot],
    first_slot: usize,
    device: (usize, u8),
    start: u16,
    quantity: u16,
) -> Block {
    let end = u32::from(start) + u32::from(quantity);
    let placements: Vec<Placement> = slots
        .iter()
        .enumerate()
        .skip(first_slot)
        .filter(|(_, slot)| {
            let span = slot.register.span();
            u32::from(start) <= span.start && span.end <= end
        })
        .map(|(slot, planned)| Placement {
            slot,
            offset: planned.register.address - start,
        })
        .collect();
    let tier = placements
        .iter()
        .map(|p| tier_of(&slots[p.slot].register))
        .min()
        .unwrap_or(Tier::Fast);
    Block {
        device: device.0,
        unit: device.1,
        start,
        quantity,
        tier,
        placements,
    }
}

/// The fewest reads of at most 125 served words that cover `registers` (of
/// one device, any order), found by dynamic programming over every way to
/// cut them into reads: the lower bound the planner is checked against.
pub fn fewest_reads(served: &[(u32, u32)], registers: &[&Register]) -> usize {
    let mut spans: Vec<(u32, u32)> = registers
        .iter()
        .map(|r| (r.span().start, r.span().end))
        .collect();
    spans.sort_unstable();
    spans.dedup();
    // best[i]: fewest reads covering the first i registers.
    let mut best = vec![usize::MAX; spans.len() + 1];
    best[0] = 0;
    for last in 0..spans.len() {
        let mut covered_to = spans[last].1;
        for first in (0..=last).rev() {
            covered_to = covered_to.max(spans[first].1);
            let from = spans[first].0;
            if covered_to - from > u32::from(MAX_READ_QUANTITY) {
                break; // reaching further back only makes the read longer
            }
            // `served` is merged: one range holds every contiguous served stretch.
            let one_read = served
                .iter()
                .any(|&(start, end)| start <= from && covered_to <= end);
            if one_read && best[first] != usize::MAX {
                best[last + 1] = best[last + 1].min(best[first] + 1);
            }
        }
    }
    best[spans.len()]
}

/// The fewest reads a cycle of `cycle` kind needs for the registers of
/// `devices` that `include` accepts: [`fewest_reads`] summed over the devices.
pub fn cycle_lower_bound(
    devices: &[PlanDevice<'_>],
    include: &dyn Fn(&PlanDevice<'_>, &Register) -> bool,
    cycle: Cycle,
) -> usize {
    devices
        .iter()
        .map(|device| {
            let due: Vec<&Register> = device
                .service
                .registers
                .iter()
                .filter(|r| !device.unsupported.contains(&r.key))
                .filter(|r| include(device, r) && cycle.reads(tier_of(r)))
                .collect();
            fewest_reads(&served_ranges(device), &due)
        })
        .sum()
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
