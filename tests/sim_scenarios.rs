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

fn custom(devices: &str, start_hour: f64) -> Result<Gx, String> {
    let text = format!(
        r#"{{"name": "t", "description": "", "start_hour": {start_hour}, "devices": [{devices}]}}"#
    );
    let scenario = Scenario::from_json("t", &text).map_err(|e| e.to_string())?;
    Gx::new(&scenario, embedded().expect("ledger"), 3).map_err(|e| e.to_string())
}

const BATTERY: &str = r#"{"id": "b", "service": "battery", "instance": 5, "values": {
    "dc_0_voltage": {"constant": 50.0},
    "dc_0_current": {"constant": 100.0},
    "dc_0_power": {"product": {"of": [{"key": "dc_0_voltage"}, {"key": "dc_0_current"}]}},
    "soc": {"soc": {"start": 50.0, "capacity_ah": 100.0, "current": {"key": "dc_0_current"}}},
    "history_charged_energy": {"counter": {"start": 10.0, "power": {"key": "dc_0_power"}}},
    "history_discharged_energy": {"counter": {"start": 10.0, "power": {"key": "dc_0_power"}, "reverse": true}},
    "dc_0_temperature": "sentinel",
    "time_to_go": {"walk": {"start": 100.0, "step": 1.0, "min": 99.0, "max": 101.0}}
}}"#;

#[test]
fn integrating_models_follow_their_inputs() {
    let mut gx = custom(BATTERY, 12.0).expect("valid scenario");
    let start = Instant::now();
    // 100 A into 100 Ah for 36 s adds 1 % SoC; 5 kW for 36 s adds 0.05 kWh.
    let later = start + Duration::from_secs(36);
    let _ = read(&mut gx, 5, 266, 1, start + Duration::from_millis(100));
    let soc = number(&read(&mut gx, 5, 266, 1, later), "uint16", 10.0);
    assert!((soc - 51.0).abs() < 0.15, "soc {soc}");
    let charged = number(&read(&mut gx, 5, 302, 1, later), "uint16", 10.0);
    let discharged = number(&read(&mut gx, 5, 301, 1, later), "uint16", 10.0);
    assert!(
        charged >= 10.0 && discharged == 10.0,
        "{charged} {discharged}"
    );
    assert_eq!(
        number(&read(&mut gx, 5, 256, 2, later), "int32", 1.0),
        5000.0
    );
    let walk = number(&read(&mut gx, 5, 303, 1, later), "uint16", 0.01);
    assert!((99.0..=101.0).contains(&walk), "walk {walk}");
    // The sentinel model reads as the type's "not available" value; no model reads 0.
    assert_eq!(read(&mut gx, 5, 262, 1, later), vec![0x7FFF]);
    assert_eq!(read(&mut gx, 5, 263, 1, later), vec![0]);
}

#[test]
fn pv_is_zero_at_night_and_positive_at_noon() {
    let pv = r#"{"id": "m", "service": "solarcharger", "instance": 7, "values": {
        "yield_power": {"pv": {"peak": 1000.0, "sunrise": 6.0, "sunset": 20.0}}}}"#;
    let mut night = custom(pv, 2.0).expect("valid");
    assert_eq!(read(&mut night, 7, 792, 2, Instant::now()), vec![0, 0]);
    let mut noon = custom(pv, 13.0).expect("valid");
    let watts = number(&read(&mut noon, 7, 792, 2, Instant::now()), "uint32", 1.0);
    assert!(watts > 950.0, "{watts}");
}

#[test]
fn bad_scenarios_are_clear_errors() {
    let unknown_key =
        r#"{"id": "b", "service": "battery", "instance": 5, "values": {"nope": {"constant": 1}}}"#;
    assert!(custom(unknown_key, 12.0)
        .err()
        .unwrap_or_default()
        .contains("no register \"nope\""));
    let cycle = r#"{"id": "b", "service": "battery", "instance": 5, "values": {
        "dc_0_voltage": {"sum": {"of": [{"key": "dc_0_current"}]}},
        "dc_0_current": {"sum": {"of": [{"key": "dc_0_voltage"}]}}}}"#;
    assert!(custom(cycle, 12.0)
        .err()
        .unwrap_or_default()
        .contains("cycle"));
    let wrong_unit = r#"{"id": "b", "service": "battery", "instance": 300, "unit": 5}"#;
    assert!(custom(wrong_unit, 12.0).is_err());
    let text_on_number =
        r#"{"id": "b", "service": "battery", "instance": 5, "values": {"soc": {"text": "x"}}}"#;
    assert!(custom(text_on_number, 12.0)
        .err()
        .unwrap_or_default()
        .contains("text"));
    assert!(Scenario::from_json("x", "{").is_err());
    assert!(Scenario::bundled("nope").is_err());
}

#[test]
fn twin_registers_of_one_dbus_path_read_the_same_value() {
    // The system's grid power: 16-bit at 820 (clamped), 32-bit at 908. A
    // solar charger's yield power at 789 (/10), 792 (32-bit) and 3730.
    let devices = r#"{"id": "gx", "service": "system", "instance": 0, "values": {
            "ac_grid_l1_power": {"constant": -40000.0},
            "ac_grid_l2_power_821": {"constant": 1234.0}}},
        {"id": "m", "service": "solarcharger", "instance": 7, "values": {
            "yield_power": {"constant": 4321.0}}}"#;
    let mut gx = custom(devices, 12.0).expect("valid scenario");
    let at = Instant::now();
    assert_eq!(
        number(&read(&mut gx, 100, 908, 2, at), "int32", 1.0),
        -40000.0
    );
    let (low, _) = codec::value_bounds("int16".parse().expect("type"), 1.0).expect("bounds");
    assert_eq!(number(&read(&mut gx, 100, 820, 1, at), "int16", 1.0), low);
    // A model on the 16-bit register serves the 32-bit twin as well.
    assert_eq!(
        number(&read(&mut gx, 100, 910, 2, at), "int32", 1.0),
        1234.0
    );
    assert_eq!(
        number(&read(&mut gx, 100, 821, 1, at), "int16", 1.0),
        1234.0
    );
    assert_eq!(number(&read(&mut gx, 7, 792, 2, at), "uint32", 1.0), 4321.0);
    assert_eq!(
        number(&read(&mut gx, 7, 789, 1, at), "uint16", 10.0),
        4321.0
    );
    assert_eq!(
        number(&read(&mut gx, 7, 3730, 1, at), "uint16", 1.0),
        4321.0
    );
    // A write to one twin is a write to the D-Bus path: both read it back.
    let mut ess = custom(
        r#"{"id": "v", "service": "vebus", "instance": 276, "values": {}}"#,
        12.0,
    )
    .expect("valid scenario");
    let outcome = ess.handle(227, &[6, 0, 37, 0xFF, 0x38], at); // -200 W at 37
    assert_eq!(outcome.exception, None);
    assert_eq!(
        number(&read(&mut ess, 227, 96, 2, at), "int32", 1.0),
        -200.0
    );
    // Two models for one path contradict each other.
    let both = r#"{"id": "gx", "service": "system", "instance": 0, "values": {
        "ac_grid_l1_power": {"constant": 1.0}, "ac_grid_l1_power_820": {"constant": 2.0}}}"#;
    assert!(custom(both, 12.0)
        .err()
        .unwrap_or_default()
        .contains("same D-Bus path"));
}

#[test]
fn every_twin_of_every_bundled_scenario_agrees() {
    let ledger = embedded().expect("ledger");
    for (name, _) in BUNDLED {
        let mut gx = gx(name);
        let at = Instant::now();
        let devices: Vec<(u8, usize)> = gx
            .site()
            .devices()
            .iter()
            .filter(|d| d.present)
            .filter_map(|d| Some((d.unit?, d.service)))
            .collect();
        for (unit, service) in devices {
            let registers = &ledger.services[service].registers;
            // (value, resolution) per register of each path.
            let mut by_path: std::collections::BTreeMap<&str, Vec<(f64, f64)>> = Default::default();
            for register in registers {
                let (Some(path), false) = (
                    register.dbus_path.as_deref(),
                    matches!(register.register_type, codec::RegisterType::Str(_)),
                ) else {
                    continue;
                };
                let pdu = [
                    3,
                    (register.address >> 8) as u8,
                    register.address as u8,
                    0,
                    register.register_type.words() as u8,
                ];
                let outcome = gx.handle(unit, &pdu, at);
                if outcome.exception.is_some() {
                    continue; // not served by this firmware
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
                let (low, high) = codec::value_bounds(register.register_type, register.scale)
                    .expect("numeric bounds");
                // Compare values that neither register had to clamp.
                if value > low && value < high {
                    let resolution = 1.0 / register.scale.abs().max(f64::MIN_POSITIVE);
                    by_path.entry(path).or_default().push((value, resolution));
                }
            }
            for (path, values) in by_path {
                let of = |f: fn(&(f64, f64)) -> f64| values.iter().map(f).collect::<Vec<_>>();
                let spread = of(|v| v.0).into_iter().fold(f64::MIN, f64::max)
                    - of(|v| v.0).into_iter().fold(f64::MAX, f64::min);
                let coarsest = of(|v| v.1).into_iter().fold(1.0, f64::max);
                assert!(
                    spread <= coarsest,
                    "{name} unit {unit} {path}: twins read {values:?}"
                );
            }
        }
    }
}

#[test]
fn values_a_type_cannot_hold_clamp_on_current_firmware_and_wrap_on_older() {
    let at = Instant::now() + Duration::from_secs(1);
    // large (v1.0.95+): the SmartShunt at 226 publishes -0.01 V on its auxiliary
    // input and 14,067 kWh charged; the Lynx at 225 a positive consumed Ah.
    let mut large = gx("large");
    assert_eq!(read(&mut large, 226, 260, 1, at), [0]);
    assert_eq!(read(&mut large, 226, 302, 1, at), [65534]);
    assert_eq!(read(&mut large, 226, 286, 1, at), [65534]);
    assert_eq!(read(&mut large, 225, 330, 2, at), [0, 0]);
    assert_eq!(read(&mut large, 227, 61, 1, at), [(-2730i16) as u16]);
    // old-firmware (before v1.0.95): the BMV at 247 publishes -0.01 V and -0.02 V.
    let mut old = gx("old-firmware");
    assert_eq!(read(&mut old, 247, 260, 1, at), [0xFFFF]);
    assert_eq!(read(&mut old, 247, 295, 1, at), [0xFFFE]);
}
