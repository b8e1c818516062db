//! Every bundled scenario loads, and keeps the physics it promises.

use std::time::{Duration, Instant};

use victron_gx_modbus::codec::{self, Value};
use victron_gx_modbus::ledger::embedded;
use victron_gx_modbus::sim::{Gx, Scenario, BUNDLED};

fn gx(name: &str) -> Gx {
    let ledger = embedded().expect("ledger");
    let scenario = Scenario::bundled(name).unwrap_or_else(|err| panic!("{err}"));
    Gx::new(&scenario, ledger, 7).unwrap_or_else(|err| panic!("{err}"))
}

fn read(gx: &mut Gx, unit: u8, address: u16, quantity: u16, at: Instant) -> Vec<u16> {
    let pdu = [3, (address >> 8) as u8, address as u8, 0, quantity as u8];
    let outcome = gx.handle(unit, &pdu, at);
    assert_eq!(
        outcome.exception, None,
        "read {address}x{quantity} at unit {unit}"
    );
    outcome.reply[2..]
        .chunks(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect()
}

fn number(words: &[u16], register_type: &str, scale: f64) -> f64 {
    match codec::decode(register_type.parse().expect("type"), scale, words) {
        Ok(Value::Int(v)) => v as f64,
        Ok(Value::Float(v)) => v,
        other => panic!("{other:?}"),
    }
}

#[test]
fn all_bundled_scenarios_load() {
    for (name, _) in BUNDLED {
        let gx = gx(name);
        assert!(!gx.site().devices().is_empty(), "{name}");
    }
}

#[test]
fn large_scenario_is_large() {
    let gx = gx("large");
    let ledger = embedded().expect("ledger");
    let devices = gx.site().devices();
    let registers: usize = devices
        .iter()
        .map(|d| ledger.services[d.service].registers.len())
        .sum();
    let units: std::collections::BTreeSet<_> = devices.iter().filter_map(|d| d.unit).collect();
    assert!(units.len() >= 30, "{} units", units.len());
    assert!(registers >= 1500, "{registers} registers");
}

#[test]
fn single_phase_values_are_physically_consistent() {
    let mut gx = gx("single-phase-ess");
    let mut at = Instant::now();
    for _ in 0..5 {
        at += Duration::from_secs(2);
        // Battery (unit 226): power (int32 @256), voltage @259 (/100), current @261 (/10).
        let power = number(&read(&mut gx, 226, 256, 2, at), "int32", 1.0);
        let voltage = number(&read(&mut gx, 226, 259, 1, at), "uint16", 100.0);
        let current = number(&read(&mut gx, 226, 261, 1, at), "int16", 10.0);
        assert!(
            (power - voltage * current).abs() <= voltage * 0.1 + 1.0,
            "{power} vs {voltage} x {current}"
        );
        // System PV power (@850) equals the sum of both MPPTs' PV power (@789, /10).
        let system_pv = number(&read(&mut gx, 100, 850, 1, at), "uint16", 1.0);
        let roof = number(&read(&mut gx, 223, 789, 1, at), "uint16", 10.0);
        let carport = number(&read(&mut gx, 224, 789, 1, at), "uint16", 10.0);
        assert!(
            (system_pv - (roof + carport)).abs() <= 1.0,
            "{system_pv} vs {roof} + {carport}"
        );
        assert!(system_pv > 100.0, "midday PV {system_pv}");
    }
}
