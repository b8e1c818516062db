//! The embedded ledger parses, passes validation and covers the official list.

use victron_gx_modbus::codec::RegisterType;
use victron_gx_modbus::ledger::{embedded, validate, Ledger, Platform, WriteBound};

fn ledger() -> &'static Ledger {
    match embedded() {
        Ok(ledger) => ledger,
        Err(err) => panic!("embedded ledger unusable: {err}"),
    }
}

#[test]
fn embedded_ledger_is_valid_and_complete() {
    let ledger = ledger();
    assert!(validate(ledger).is_empty());
    assert_eq!(ledger.services.len(), 33);
    assert_eq!(ledger.register_count(), 950);
}

#[test]
fn known_registers_carry_official_facts() {
    let vebus = ledger().service("vebus").expect("vebus service");
    let voltage = vebus
        .register("ac_active_in_l1_v")
        .expect("input voltage L1");
    assert_eq!(
        (voltage.address, voltage.register_type, voltage.scale),
        (3, RegisterType::U16, 10.0)
    );
    assert_eq!(voltage.ha.name, "Input voltage L1");

    let battery = ledger().service("battery").expect("battery service");
    let consumed = battery
        .register("consumed_amphours_265")
        .expect("consumed Ah (16-bit)");
    assert_eq!(consumed.scale, -10.0);

    let system = ledger().service("system").expect("system service");
    let firmware = system
        .registers
        .iter()
        .find(|reg| reg.address == 834)
        .expect("firmware version register");
    assert!(firmware.internal);
    assert_eq!(
        system.register("serial").map(|r| r.register_type),
        Some(RegisterType::Str(6))
    );
}

#[test]
fn energy_counters_feed_the_energy_dashboard() {
    let counters: Vec<_> = ledger()
        .services
        .iter()
        .flat_map(|s| &s.registers)
        .filter(|r| r.unit.as_deref() == Some("kWh") && !r.writable)
        .collect();
    assert!(counters.len() > 80);
    assert!(counters
        .iter()
        .all(|r| r.ha.state_class.as_deref() == Some("total_increasing")));
}

#[test]
fn every_writable_register_has_a_kind_and_bound() {
    let writable: Vec<_> = ledger()
        .services
        .iter()
        .flat_map(|s| &s.registers)
        .filter(|r| r.writable)
        .collect();
    assert!(!writable.is_empty());
    for reg in writable {
        let spec = reg.ha.write.as_ref().expect("write spec");
        assert_eq!(spec.kind, reg.ha.platform, "{}", reg.key);
    }
    let vebus = ledger().service("vebus").expect("vebus");
    let limit = vebus
        .register("ac_active_in_current_limit")
        .expect("input current limit");
    assert_eq!(
        limit.ha.write.as_ref().map(|w| w.bound),
        Some(WriteBound::AcCurrent)
    );
    assert_eq!(limit.ha.platform, Platform::Number);
}

fn broken(edit: impl FnOnce(&mut Ledger)) -> Vec<String> {
    let mut copy = ledger().clone();
    edit(&mut copy);
    validate(&copy)
}

#[test]
fn validation_catches_duplicate_keys_and_overlaps() {
    let problems = broken(|l| {
        let regs = &mut l.services[0].registers;
        regs[1].key = regs[0].key.clone();
    });
    assert!(
        problems.iter().any(|p| p.contains("not unique")),
        "{problems:?}"
    );

    let problems = broken(|l| {
        let regs = &mut l.services[0].registers;
        regs[1].address = regs[0].address;
    });
    assert!(
        problems.iter().any(|p| p.contains("overlaps")),
        "{problems:?}"
    );
}

#[test]
fn validation_catches_enum_and_write_mistakes() {
    let problems = broken(|l| {
        let reg = l
            .services
            .iter_mut()
            .flat_map(|s| s.registers.iter_mut())
            .find(|r| r.writable)
            .expect("a writable register");
        reg.ha.write = None;
    });
    assert!(
        problems.iter().any(|p| p.contains("no write kind")),
        "{problems:?}"
    );

    let problems = broken(|l| {
        let reg = l
            .services
            .iter_mut()
            .flat_map(|s| s.registers.iter_mut())
            .find(|r| r.enum_labels.as_ref().is_some_and(|e| e.len() > 1))
            .expect("an enum register");
        let labels = reg.enum_labels.as_mut().expect("labels");
        labels.insert("01".into(), "duplicate of 1".into());
    });
    assert!(
        problems.iter().any(|p| p.contains("enum code")),
        "{problems:?}"
    );

    let problems = broken(|l| {
        let reg = &mut l.services[0].registers[0];
        reg.scale = 0.0;
    });
    assert!(problems.iter().any(|p| p.contains("scale")), "{problems:?}");
}

#[test]
fn validation_catches_a_kwh_counter_without_total_increasing() {
    let problems = broken(|l| {
        let reg = l
            .services
            .iter_mut()
            .flat_map(|s| s.registers.iter_mut())
            .find(|r| r.ha.state_class.as_deref() == Some("total_increasing"))
            .expect("a counter");
        reg.ha.state_class = Some("measurement".into());
    });
    assert!(problems.iter().any(|p| p.contains("kWh")), "{problems:?}");
}

#[test]
fn validation_catches_a_suggested_unit_off_a_duration() {
    let on_power = broken(|l| {
        let reg = l
            .services
            .iter_mut()
            .flat_map(|s| s.registers.iter_mut())
            .find(|r| r.ha.device_class.as_deref() == Some("power"))
            .expect("a power sensor");
        reg.ha.suggested_unit = Some("h".into());
    });
    assert!(
        on_power.iter().any(|p| p.contains("suggested unit")),
        "{on_power:?}"
    );
    let not_time = broken(|l| {
        let reg = l
            .services
            .iter_mut()
            .flat_map(|s| s.registers.iter_mut())
            .find(|r| r.ha.suggested_unit.is_some())
            .expect("a duration shown in another unit");
        reg.ha.suggested_unit = Some("kWh".into());
    });
    assert!(
        not_time.iter().any(|p| p.contains("suggested unit")),
        "{not_time:?}"
    );
}

#[test]
fn validation_catches_an_address_shared_by_two_services() {
    let problems = broken(|l| {
        let address = l.services[1].registers[0].address;
        l.services[0].registers[0].address = address;
        l.services[0].registers.sort_by_key(|r| r.address);
    });
    assert!(
        problems.iter().any(|p| p.contains("belongs to")),
        "{problems:?}"
    );
}

#[test]
fn parse_errors_name_the_file() {
    let err = Ledger::parse(&[("broken", "{\"format\": 1")]).expect_err("truncated JSON");
    assert!(err.to_string().contains("broken.json"));
}

#[test]
fn validation_catches_an_enabled_overflowing_register_and_a_bad_sentinel() {
    let enabled = broken(|l| {
        let reg = l
            .services
            .iter_mut()
            .flat_map(|s| s.registers.iter_mut())
            .find(|r| r.overflow.is_some())
            .expect("an overflowing register");
        reg.ha.enabled_by_default = true;
    });
    assert!(
        enabled
            .iter()
            .any(|p| p.contains("overflows on real systems")),
        "{enabled:?}"
    );
    let sentinel = broken(|l| {
        let reg = l
            .services
            .iter_mut()
            .flat_map(|s| s.registers.iter_mut())
            .find(|r| !r.sentinels.is_empty())
            .expect("a register with a sentinel");
        reg.sentinels[0].value = 1e12;
    });
    assert!(
        sentinel.iter().any(|p| p.contains("sentinel")),
        "{sentinel:?}"
    );
}

#[test]
fn real_system_facts_are_ledger_data() {
    let vebus = ledger().service("vebus").expect("vebus");
    let temperature = vebus.register("dc_0_temperature").expect("temperature");
    assert_eq!(
        temperature
            .sentinels
            .iter()
            .map(|s| s.value)
            .collect::<Vec<_>>(),
        [-273.0]
    );
    let battery = ledger().service("battery").expect("battery");
    for key in [
        "history_charged_energy",
        "history_total_ah_drawn",
        "dc_1_voltage",
    ] {
        let reg = battery.register(key).expect(key);
        assert!(reg.overflow.is_some(), "{key}");
        assert!(!reg.ha.enabled_by_default, "{key}");
    }
    let settings = ledger().service("settings").expect("settings");
    let mode = settings
        .register("settings_cgwacs_hub4_mode")
        .expect("ESS mode");
    assert_eq!(mode.dbus_path.as_deref(), Some("/Settings/CGwacs/Hub4Mode"));
}
