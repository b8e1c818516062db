//! Which (unit, service type) pairs a scan probes, most likely first.

use std::collections::{BTreeMap, HashSet};

use crate::codec::Value;
use crate::ledger::{Ledger, Service};
use crate::unit_ids::{table_instance, unit_for_instance};

use super::ScanMode;

/// Services of the GX itself, all at unit 100 (device instance 0).
pub(super) const GX_SERVICES: &[&str] = &["system", "settings", "hub4", "platform"];
/// Unit of the GX's own services.
pub const GX_UNIT: u8 = 100;
/// VE.Bus port units (Cerbo, MultiPlus-II GX, Venus GX, CCGX).
pub(super) const VEBUS_PORTS: &[u8] = &[227, 228, 242, 246];
/// VE.Direct port units (Cerbo, MultiPlus-II GX, Venus GX, CCGX).
pub(super) const VEDIRECT_PORTS: &[u8] = &[226, 224, 223, 229, 230, 243, 245, 247];
/// The CAN-bus BMS unit.
pub(super) const CAN_BMS: u8 = 225;
/// Services of VE.Direct and VE.Can products.
pub(super) const VE_FAMILY: &[&str] = &[
    "solarcharger",
    "battery",
    "inverter",
    "multi",
    "charger",
    "dcdc",
    "alternator",
    "dcload",
    "dcsource",
    "dcsystem",
];
/// How far past a hit cluster-following looks, both ways.
pub(super) const CLUSTER_STEP: u16 = 3;
/// The USB VE.Direct port every GX model has (ttyUSB0).
pub(super) const USB_PORT: u8 = 239;
/// The other USB ports (Raspberry Pi, Octo GX), most likely first.
pub(super) const USB_PORTS: &[u8] = &[238, 237, 236, 235, 233, 232, 231, 234];
/// First units of the table's VE.Can blocks (instances 262-272 and 280-287).
pub(super) const TABLE_BLOCKS: &[u8] = &[204, 215];
/// Types the GX and Modbus-TCP or VE.Can meters put on units 20-63, swept
/// there until found (then followed as a cluster) or the failure budget is spent.
pub(super) const SWEEP_TYPES: &[&str] = &[
    "tank",
    "temperature",
    "pvinverter",
    "grid",
    "genset",
    "acload",
    "evcharger",
    "dcload",
    "inverter",
    "dcdc",
];
/// Units the meter sweep covers.
pub(super) const SWEEP_UNITS: std::ops::RangeInclusive<u8> = 20..=63;

/// A candidate (unit, service type) pair with its likelihood.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Candidate {
    /// Likelihood (higher first).
    pub score: u8,
    /// Unit ID.
    pub unit: u8,
    /// Service type.
    pub service: String,
}

pub(super) fn push(
    out: &mut Vec<Candidate>,
    score: u8,
    units: impl IntoIterator<Item = u8>,
    services: &[&str],
) {
    for unit in units {
        for service in services {
            out.push(Candidate {
                score,
                unit,
                service: (*service).to_owned(),
            });
        }
    }
}

/// What the GX's system values suggest exists.
#[derive(Debug, Default)]
pub(super) struct Evidence {
    /// AC-coupled PV power is not zero.
    pub pv_inverter: bool,
    /// Generator power is not zero.
    pub genset: bool,
    /// DC PV power is not zero.
    pub dc_pv: bool,
}

pub(super) fn nonzero(values: &BTreeMap<String, Value>, prefix: &str) -> bool {
    values
        .iter()
        .filter(|(key, _)| key.starts_with(prefix))
        .any(|(_, value)| {
            matches!(value, Value::Int(v) if *v != 0)
                || matches!(value, Value::Float(v) if *v != 0.0)
        })
}

/// Likely pairs after the first wave: the GX model's VE.Direct ports, VE.Can's
/// low instances, the usual instances of tanks, sensors and meters.
pub(super) fn quick_candidates(evidence: &Evidence, vedirect_ports: &[u8]) -> Vec<Candidate> {
    let mut out = Vec::new();
    push(&mut out, 95, [CAN_BMS], &["battery"]);
    push(&mut out, 90, vedirect_ports.iter().copied(), VE_FAMILY);
    push(&mut out, 85, [USB_PORT], VE_FAMILY);
    push(&mut out, 80, TABLE_BLOCKS.iter().copied(), VE_FAMILY);
    push(&mut out, 80, [0], VE_FAMILY);
    push(&mut out, 80, 1..=3, &["solarcharger", "battery"]);
    push(&mut out, 70, 20..=23, &["tank", "pvinverter"]);
    push(&mut out, 70, 24..=27, &["temperature"]);
    push(&mut out, 70, [30, 31, 40], &["grid"]);
    push(&mut out, 60, [40, 41], &["evcharger", "genset"]);
    push(&mut out, 50, 1..=4, &["digitalinput"]);
    push(
        &mut out,
        50,
        [0],
        &[
            "gps",
            "pulsemeter",
            "generator",
            "acsystem",
            "dcgenset",
            "fuelcell",
        ],
    );
    push(&mut out, 40, [20, 21], &["meteo", "temperature"]);
    push(&mut out, 40, [30, 31], &["acload", "heatpump"]);
    if evidence.dc_pv {
        push(&mut out, 85, 4..=7, &["solarcharger"]);
    }
    if evidence.pv_inverter {
        push(&mut out, 75, 24..=35, &["pvinverter"]);
    }
    if evidence.genset {
        push(&mut out, 75, (20..=23).chain(42..=47), &["genset"]);
    }
    out.sort_by(|a, b| b.score.cmp(&a.score).then(a.unit.cmp(&b.unit)));
    let mut seen = HashSet::new();
    out.retain(|c| seen.insert((c.unit, c.service.clone())));
    out
}

pub(super) fn all_service_types(ledger: &Ledger) -> Vec<&str> {
    ledger
        .services
        .iter()
        .map(Service::service_type)
        .filter(|name| !GX_SERVICES.contains(name))
        .collect()
}

/// Every service type at every unit of a deep or unit-list scan.
pub(super) fn candidates(mode: &ScanMode, ledger: &Ledger) -> Vec<Candidate> {
    let types = all_service_types(ledger);
    let out = match mode {
        ScanMode::Quick => Vec::new(),
        ScanMode::Deep => {
            let mut out = Vec::new();
            // Unit 100 only repeats instance 0 (unit 0) for devices.
            push(&mut out, 50, (0..=255).filter(|&u| u != GX_UNIT), &types);
            out
        }
        ScanMode::Exact(listed) => exact_candidates(listed),
        ScanMode::Units(units) => {
            let mut out = Vec::new();
            push(&mut out, 50, units.iter().copied().map(device_unit), &types);
            out
        }
    };
    order(out, ledger)
}

/// The unit at which a device the GX lists at `unit` is probed and reported:
/// the GX lists a device of instance 0 as unit 100 (Available services, its
/// MQTT list), which reaches it as unit 0 does, where the other scans report it.
fn device_unit(unit: u8) -> u8 {
    if unit == GX_UNIT {
        0
    } else {
        unit
    }
}

/// (unit, service type) of each device a scan of the GX's own list
/// reports: the GX's services at unit 100, every other listed service at
/// the unit that reaches it (a device listed at 100 is reported at 0).
pub fn listed_devices(listed: &[(u8, String)]) -> Vec<(u8, String)> {
    listed
        .iter()
        .map(|(unit, service)| {
            let own = *unit == GX_UNIT && GX_SERVICES.contains(&service.as_str());
            let unit = if own { *unit } else { device_unit(*unit) };
            (unit, service.clone())
        })
        .collect()
}

/// The devices of the GX's own list, but its services at unit 100.
fn exact_candidates(listed: &[(u8, String)]) -> Vec<Candidate> {
    listed
        .iter()
        .filter(|(unit, service)| !(*unit == GX_UNIT && GX_SERVICES.contains(&service.as_str())))
        .map(|(unit, service)| Candidate {
            score: 50,
            unit: device_unit(*unit),
            service: service.clone(),
        })
        .collect()
}

/// Known services only, most likely first, each pair once.
pub(super) fn order(mut out: Vec<Candidate>, ledger: &Ledger) -> Vec<Candidate> {
    out.retain(|c| ledger.service(&c.service).is_some());
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.unit.cmp(&b.unit))
            .then(a.service.cmp(&b.service))
    });
    let mut seen = HashSet::new();
    out.retain(|c| seen.insert((c.unit, c.service.clone())));
    out
}

/// Blocks of device instances that the table maps onto units 204-247: the
/// CCGX and Venus GX ports, two VE.Can blocks, the Cerbo and MultiPlus-II GX
/// ports, and the USB ports.
const INSTANCE_BLOCKS: &[std::ops::RangeInclusive<u16>] =
    &[256..=261, 262..=272, 273..=279, 280..=287, 288..=296];

/// The instance range a cluster at this instance stays in.
fn block_of(instance: u16) -> std::ops::RangeInclusive<u16> {
    INSTANCE_BLOCKS
        .iter()
        .find(|block| block.contains(&instance))
        .cloned()
        .unwrap_or(0..=203)
}

/// Units next to a device's instance (up to [`CLUSTER_STEP`] either way,
/// within its block of the table): a GX gives devices of one kind
/// consecutive instances, and the table maps instances 256-296 onto units
/// 204-247 out of order.
pub(super) fn neighbours(unit: u8) -> Vec<u8> {
    let instance = if unit >= 204 {
        table_instance(unit)
    } else {
        Some(u16::from(unit))
    };
    let Some(instance) = instance else {
        return Vec::new();
    };
    let block = block_of(instance);
    let mut out = Vec::new();
    for step in 1..=CLUSTER_STEP {
        for next in [instance.checked_sub(step), instance.checked_add(step)] {
            let Some(next) = next.filter(|&n| n != u16::from(GX_UNIT) && block.contains(&n)) else {
                continue;
            };
            out.extend(unit_for_instance(next).filter(|&u| u != GX_UNIT));
        }
    }
    out
}

/// Where to keep looking for the devices a system value says exist, most
/// likely first.
pub(super) fn search_units(service: &str, vedirect_ports: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    match service {
        "pvinverter" => {
            out.extend(SWEEP_UNITS);
            out.extend(0..20);
        }
        "vebus" => {
            out.extend(VEBUS_PORTS);
            out.push(USB_PORT);
            out.extend(USB_PORTS);
            out.extend(0..=3);
        }
        "acload" => out.extend(SWEEP_UNITS),
        _ => {
            out.extend(vedirect_ports);
            out.push(USB_PORT);
            out.extend(204..=222);
            out.extend(0..=15);
            out.extend(USB_PORTS);
            out.extend(VEDIRECT_PORTS);
            out.extend(SWEEP_UNITS);
        }
    }
    let mut seen = HashSet::new();
    out.retain(|u| seen.insert(*u));
    out
}

/// The VE.Direct ports of the GX model whose VE.Bus port answered.
pub(super) fn vedirect_ports_for(vebus_units: &[u8]) -> Vec<u8> {
    let mut ports = Vec::new();
    for unit in vebus_units {
        ports.extend_from_slice(match unit {
            227 => &[226, 224, 223][..],
            228 => &[229, 230][..],
            242 => &[243, 245, 244][..],
            246 => &[245, 247][..],
            // A Raspberry Pi or an Octo GX: VE.Bus and VE.Direct over USB.
            231..=239 => USB_PORTS,
            _ => &[][..],
        });
    }
    if ports.is_empty() {
        ports.extend_from_slice(VEDIRECT_PORTS);
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_list_probes_unit_100_as_instance_0() {
        let ledger = crate::ledger::embedded().unwrap_or_else(|e| panic!("{e}"));
        let list = candidates(&ScanMode::Units(vec![100, 0, 226]), ledger);
        let units: HashSet<u8> = list.iter().map(|c| c.unit).collect();
        assert_eq!(units, HashSet::from([0, 226]));
        let unique: HashSet<_> = list.iter().map(|c| (c.unit, c.service.clone())).collect();
        assert_eq!(unique.len(), list.len());
    }

    #[test]
    fn quick_candidates_are_unique_and_ordered() {
        let ledger = crate::ledger::embedded().unwrap_or_else(|e| panic!("{e}"));
        let list = quick_candidates(&Evidence::default(), VEDIRECT_PORTS);
        assert!(list.iter().all(|c| ledger.service(&c.service).is_some()));
        let unique: HashSet<_> = list.iter().map(|c| (c.unit, c.service.clone())).collect();
        assert_eq!(unique.len(), list.len());
        assert!(list.windows(2).all(|w| w[0].score >= w[1].score));
        assert_eq!(list[0].service, "battery");
        assert!(list.len() < 200, "{} quick probes", list.len());
    }

    #[test]
    fn clusters_follow_instances_both_ways() {
        assert_eq!(neighbours(21), vec![20, 22, 19, 23, 18, 24]);
        // 204 is instance 262: 263 (205) and 264 (206) above, nothing below.
        assert_eq!(neighbours(204), vec![205, 206, 207]);
        // 239 is instance 288 (ttyUSB0): 289 (238) above, a VE.Can block below.
        assert_eq!(neighbours(239), vec![238, 237, 236]);
        // 216 is instance 281: 280 (215) below, 282-284 (217-219) above.
        assert_eq!(neighbours(216), vec![215, 217, 218, 219]);
        assert!(!neighbours(1).contains(&100));
        assert!(!neighbours(98).contains(&100));
    }

    #[test]
    fn searches_start_where_such_devices_usually_are() {
        let pv = search_units("solarcharger", &[226, 224, 223]);
        assert_eq!(&pv[..4], &[226, 224, 223, USB_PORT]);
        assert!(pv.contains(&215) && pv.contains(&234));
        let unique: HashSet<_> = pv.iter().collect();
        assert_eq!(unique.len(), pv.len());
        assert_eq!(search_units("pvinverter", &[])[0], 20);
    }

    #[test]
    fn the_vebus_port_tells_the_gx_model() {
        assert_eq!(vedirect_ports_for(&[227]), vec![223, 224, 226]);
        assert_eq!(vedirect_ports_for(&[246]), vec![245, 247]);
        let mut all = VEDIRECT_PORTS.to_vec();
        all.sort_unstable();
        assert_eq!(vedirect_ports_for(&[]), all);
    }
}
