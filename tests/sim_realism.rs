//! Bundled scenarios look like real sites: what a real site of that kind
//! shows non-zero is non-zero, and live values move between polls.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use victron_gx_modbus::codec::{self, RegisterType, Value};
use victron_gx_modbus::ledger::{embedded, Register};
use victron_gx_modbus::sim::{Gx, Scenario, BUNDLED};

/// Highest share of zero values not explained by [`explained_zero`].
const MAX_UNEXPLAINED_ZERO_SHARE: f64 = 0.10;

fn gx(name: &str) -> Gx {
    let ledger = embedded().expect("ledger");
    let scenario = Scenario::bundled(name).unwrap_or_else(|err| panic!("{err}"));
    Gx::new(&scenario, ledger, 11).unwrap_or_else(|err| panic!("{err}"))
}

/// Every numeric register of every present device, decoded, by (unit, service, address).
/// A register, its value and whether the scenario declares it invalid.
type Reading = (&'static Register, f64, bool);

/// (unit, service, address) -> reading.
type Polled = BTreeMap<(u8, usize, u16), Reading>;

fn poll(gx: &mut Gx, at: Instant) -> Polled {
    let ledger = embedded().expect("ledger");
    let devices: Vec<(usize, u8, usize)> = gx
        .site()
        .devices()
        .iter()
        .enumerate()
        .filter(|(_, d)| d.present)
        .filter_map(|(i, d)| Some((i, d.unit?, d.service)))
        .collect();
    let mut values = BTreeMap::new();
    for (device, unit, service) in devices {
        for (index, register) in ledger.services[service].registers.iter().enumerate() {
            if matches!(register.register_type, RegisterType::Str(_)) || register.internal {
                continue;
            }
            let pdu = [
                3,
                (register.address >> 8) as u8,
                register.address as u8,
                0,
                register.register_type.words() as u8,
            ];
            let outcome = gx.handle(unit, &pdu, at);
            if outcome.exception.is_some() {
                continue; // not in this firmware's list
            }
            let words: Vec<u16> = outcome.reply[2..]
                .chunks(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            let value = match codec::decode(register.register_type, register.scale, &words) {
                Ok(Value::Int(v)) => v as f64,
                Ok(Value::Float(v)) => v,
                _ => continue,
            };
            let declared = gx.site().declared_invalid(device, index);
            values.insert(
                (unit, service, register.address),
                (register, value, declared),
            );
        }
    }
    values
}

/// The phase a register belongs to (`l2` in `ac_out_l2_p`), if any.
fn phase(key: &str) -> Option<&str> {
    key.split('_')
        .find(|part| matches!(*part, "l1" | "l2" | "l3"))
}

/// Words in keys of registers that a healthy site legitimately shows as 0.
const ZERO_WORDS: &[&str] = &[
    "alarm",
    "alarms",
    "error",
    "errors",
    "warning",
    "warnings",
    "fault",
    "relay",
    "reset",
    "restart",
    "disable",
    "disabled",
    "flag",
    "lock",
    "override",
    "shutdown",
    "limitation",
    "maintenance",
    "ignore",
    "history",
    "last",
    "min",
    "deepest",
    "inverted",
    "low",
    "high",
];

/// Why a register may read 0 on a healthy site: a state whose code 0 has a
/// name (off, ok, none), a setting, an alarm, error or relay, or a phase
/// the device does not have. (A path the scenario declares `invalid`, one
/// the product does not publish, is explained too.)
fn explained_zero(register: &Register, missing_phases: &[&str]) -> bool {
    let named_zero = register
        .enum_labels
        .as_ref()
        .is_some_and(|labels| labels.contains_key("0"));
    let words = register.key.split('_').any(|w| ZERO_WORDS.contains(&w));
    named_zero
        || register.writable
        || words
        || phase(&register.key).is_some_and(|p| missing_phases.contains(&p))
}

struct Shares {
    values: usize,
    zeros: usize,
    unexplained: Vec<String>,
}

fn zero_shares(name: &str) -> Shares {
    let mut gx = gx(name);
    let values = poll(&mut gx, Instant::now() + Duration::from_secs(1));
    let mut by_device: BTreeMap<(u8, usize), Vec<Reading>> = BTreeMap::new();
    for ((unit, service, _), (register, value, declared)) in &values {
        by_device
            .entry((*unit, *service))
            .or_default()
            .push((register, *value, *declared));
    }
    let ledger = embedded().expect("ledger");
    let mut shares = Shares {
        values: values.len(),
        zeros: values.values().filter(|(_, v, _)| *v == 0.0).count(),
        unexplained: Vec::new(),
    };
    for ((unit, service), registers) in by_device {
        // A phase whose every value reads 0 is a phase the device lacks.
        let missing: Vec<&str> = ["l1", "l2", "l3"]
            .into_iter()
            .filter(|p| {
                registers
                    .iter()
                    .filter(|(r, _, _)| phase(&r.key) == Some(p))
                    .all(|(_, v, _)| *v == 0.0)
            })
            .collect();
        for (register, value, declared) in registers {
            if value == 0.0 && !declared && !explained_zero(register, &missing) {
                shares.unexplained.push(format!(
                    "{unit}/{}/{}",
                    ledger.services[service].service_type(),
                    register.key
                ));
            }
        }
    }
    shares
}

#[test]
fn zero_values_are_explained_on_every_site_scenario() {
    let mut failures = Vec::new();
    for (name, _) in BUNDLED {
        let shares = zero_shares(name);
        let unexplained = shares.unexplained.len() as f64 / shares.values.max(1) as f64;
        println!(
            "{name}: {} values, {:.0}% zero, {:.1}% unexplained zero",
            shares.values,
            100.0 * shares.zeros as f64 / shares.values.max(1) as f64,
            100.0 * unexplained
        );
        // The GX alone and the old CCGXs have few devices: only real sites count.
        if ["minimal", "old-firmware", "pre-3.66"].contains(name) {
            continue;
        }
        if unexplained > MAX_UNEXPLAINED_ZERO_SHARE {
            failures.push(format!(
                "{name}: {:.1}% unexplained zeros: {}",
                100.0 * unexplained,
                shares.unexplained.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn live_values_move_between_polls() {
    for (name, _) in BUNDLED {
        if ["minimal", "old-firmware", "pre-3.66"].contains(name) {
            continue;
        }
        let mut gx = gx(name);
        let start = Instant::now();
        let first = poll(&mut gx, start + Duration::from_secs(1));
        let second = poll(&mut gx, start + Duration::from_secs(6));
        let ledger = embedded().expect("ledger");
        // Every device with a live, non-zero power reading shows it changing.
        let mut still: BTreeMap<(u8, usize), bool> = BTreeMap::new();
        for (key @ (unit, service, _), (register, value, _)) in &first {
            if register.writable || !register.key.split('_').any(|w| w == "power" || w == "p") {
                continue;
            }
            // A machine at rest (a stopped generator) reads 0 and stays there.
            if *value == 0.0 {
                continue;
            }
            let moved = second.get(key).is_some_and(|(_, later, _)| later != value);
            *still.entry((*unit, *service)).or_insert(true) &= !moved;
        }
        let frozen: Vec<String> = still
            .into_iter()
            .filter(|(_, frozen)| *frozen)
            .map(|((unit, service), _)| {
                format!("{unit}/{}", ledger.services[service].service_type())
            })
            .collect();
        assert!(
            frozen.is_empty(),
            "{name}: no power value moved on {frozen:?}"
        );
    }
}

#[test]
fn battery_power_is_the_power_balance() {
    // The system's battery power (842) = DC PV (850) + VE.Bus DC (866) + DC system (860).
    for name in ["three-phase", "large", "ess-large", "pv-inverters"] {
        let mut gx = gx(name);
        let at = Instant::now() + Duration::from_secs(3);
        let values = poll(&mut gx, at);
        let get = |address: u16| {
            values
                .get(&(0, 0, address))
                .or_else(|| {
                    values
                        .iter()
                        .find(|(k, _)| k.2 == address && k.0 == 0)
                        .map(|(_, v)| v)
                })
                .map_or(0.0, |(_, v, _)| *v)
        };
        let balance = get(850) + get(866) + get(860);
        assert!(
            (get(842) - balance).abs() <= 3.0,
            "{name}: battery {} W vs PV + VE.Bus + DC system {balance} W",
            get(842)
        );
        assert!(get(850) > 1000.0, "{name}: midday PV {}", get(850));
    }
}
