//! Consistency rules every ledger must keep.

use std::collections::{BTreeMap, HashSet};

use super::{Ledger, Platform, Register, Service};
use crate::codec::RegisterType;

/// Every rule a ledger breaks, one message each (empty when it is sound).
pub fn validate(ledger: &Ledger) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen_services = HashSet::new();
    for service in &ledger.services {
        if !seen_services.insert(service.service.as_str()) {
            problems.push(format!("service {} appears twice", service.service));
        }
        check_service(service, &mut problems);
    }
    check_addresses_are_global(ledger, &mut problems);
    problems
}

/// The GX resolves a request's service type from its start address, so no
/// address may belong to two services.
fn check_addresses_are_global(ledger: &Ledger, problems: &mut Vec<String>) {
    let mut owner: BTreeMap<u32, &str> = BTreeMap::new();
    for service in &ledger.services {
        let name = service.service_type();
        for reg in &service.registers {
            for address in reg.span() {
                if let Some(other) = owner.insert(address, name) {
                    if other != name {
                        problems.push(format!("address {address} belongs to {other} and {name}"));
                    }
                }
            }
        }
    }
}

fn check_service(service: &Service, problems: &mut Vec<String>) {
    let name = service.service_type();
    let mut keys = HashSet::new();
    let mut previous: Option<&Register> = None;
    for reg in &service.registers {
        if !keys.insert(reg.key.as_str()) {
            problems.push(format!("{name}: key {} is not unique", reg.key));
        }
        if let Some(prev) = previous {
            if reg.span().start < prev.span().end {
                problems.push(format!(
                    "{name}: {} at {} overlaps {} at {}",
                    reg.key, reg.address, prev.key, prev.address
                ));
            }
        }
        previous = Some(reg);
        check_register(name, reg, problems);
    }
    for block in &service.reserved {
        if block[0] > block[1] {
            problems.push(format!("{name}: reserved block {block:?} is reversed"));
        }
        let range = u32::from(block[0])..u32::from(block[1]) + 1;
        if let Some(reg) = service
            .registers
            .iter()
            .find(|reg| reg.span().start < range.end && range.start < reg.span().end)
        {
            problems.push(format!(
                "{name}: reserved block {block:?} overlaps {}",
                reg.key
            ));
        }
    }
}

fn check_register(service: &str, reg: &Register, problems: &mut Vec<String>) {
    let at = format!("{service}.{} ({})", reg.key, reg.address);
    if reg.key.is_empty()
        || !reg
            .key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        problems.push(format!("{at}: key is not snake_case"));
    }
    if !reg.scale.is_finite() || reg.scale == 0.0 {
        problems.push(format!("{at}: scale {} is not a usable factor", reg.scale));
    }
    let is_text = matches!(reg.register_type, RegisterType::Str(_));
    if is_text && reg.scale != 1.0 {
        problems.push(format!("{at}: a string register has scale {}", reg.scale));
    }
    if let (Some([low, high]), Some((min, max))) =
        (reg.range, full_bounds(reg.register_type, reg.scale))
    {
        if low > high {
            problems.push(format!("{at}: range {low}..{high} is reversed"));
        }
        // The official ranges often name the type's size (65536 for a uint16):
        // allow one raw step (plus rounding) past the type, but no more.
        let step = 1.5 / reg.scale.abs();
        if low < min - step || high > max + step {
            problems.push(format!(
                "{at}: range {low}..{high} exceeds what a {} holds",
                reg.register_type
            ));
        }
    }
    check_enum(&at, reg, problems);
    check_real_values(&at, reg, is_text, problems);
    check_platform(&at, reg, is_text, problems);
    check_suggested_unit(&at, reg, problems);
}

/// Sentinels and overflow marks are for numbers; an overflowing register is
/// never enabled by default (its readings go wrong on real systems).
fn check_real_values(at: &str, reg: &Register, is_text: bool, problems: &mut Vec<String>) {
    if is_text && (reg.overflow.is_some() || !reg.sentinels.is_empty()) {
        problems.push(format!(
            "{at}: a string register has sentinels or an overflow mark"
        ));
    }
    if reg
        .overflow
        .as_deref()
        .is_some_and(|why| why.trim().is_empty())
    {
        problems.push(format!("{at}: overflow mark without a reason"));
    }
    if reg.overflow.is_some() && reg.ha.enabled_by_default {
        problems.push(format!(
            "{at}: overflows on real systems but is enabled by default"
        ));
    }
    if let Some((min, max)) = full_bounds(reg.register_type, reg.scale) {
        for sentinel in &reg.sentinels {
            if !(min..=max).contains(&sentinel.value) || sentinel.means.trim().is_empty() {
                problems.push(format!(
                    "{at}: sentinel {} is outside the type or says nothing",
                    sentinel.value
                ));
            }
        }
    }
}

/// Values a type spans, the "not available" sentinel included.
fn full_bounds(register_type: RegisterType, scale: f64) -> Option<(f64, f64)> {
    let (min, max) = register_type.raw_bounds()?;
    let (a, b) = (min as f64 / scale, (max + 1) as f64 / scale);
    Some((a.min(b), a.max(b)))
}

/// Home Assistant converts only between units of one kind: a suggested unit
/// is for a duration sensor, and is another unit of time.
fn check_suggested_unit(at: &str, reg: &Register, problems: &mut Vec<String>) {
    const TIME_UNITS: [&str; 4] = ["s", "min", "h", "d"];
    let Some(suggested) = reg.ha.suggested_unit.as_deref() else {
        return;
    };
    let is_duration = reg.ha.platform == Platform::Sensor
        && reg.ha.device_class.as_deref() == Some("duration")
        && reg
            .ha
            .unit
            .as_deref()
            .is_some_and(|unit| TIME_UNITS.contains(&unit));
    if !is_duration || !TIME_UNITS.contains(&suggested) {
        problems.push(format!(
            "{at}: suggested unit {suggested:?} is not a unit of time for a duration sensor"
        ));
    }
}

fn check_enum(at: &str, reg: &Register, problems: &mut Vec<String>) {
    let Some(labels) = &reg.enum_labels else {
        if reg.ha.states.is_some() {
            problems.push(format!("{at}: states without enum codes"));
        }
        return;
    };
    let mut codes = HashSet::new();
    for code in labels.keys() {
        match code.parse::<u32>() {
            Ok(value) if codes.insert(value) => {}
            Ok(_) => problems.push(format!("{at}: enum code {code} is not unique")),
            Err(_) => problems.push(format!("{at}: enum code {code:?} is not a number")),
        }
    }
    if let Some(states) = &reg.ha.states {
        if states.keys().collect::<Vec<_>>() != labels.keys().collect::<Vec<_>>() {
            problems.push(format!(
                "{at}: state keys do not cover exactly the enum codes"
            ));
        }
        let mut unique: BTreeMap<&str, usize> = BTreeMap::new();
        for state in states.values() {
            *unique.entry(state.as_str()).or_default() += 1;
        }
        if unique.values().any(|&count| count > 1) {
            problems.push(format!("{at}: state keys are not unique"));
        }
    }
}

fn check_platform(at: &str, reg: &Register, is_text: bool, problems: &mut Vec<String>) {
    let platform = reg.ha.platform;
    let writes = matches!(
        platform,
        Platform::Number | Platform::Select | Platform::Switch | Platform::Button | Platform::Text
    );
    if writes != reg.writable {
        problems.push(format!(
            "{at}: platform {platform:?} does not match writable={}",
            reg.writable
        ));
    }
    match (&reg.ha.write, reg.writable) {
        (None, true) => problems.push(format!("{at}: writable but no write kind and bound")),
        (Some(_), false) => problems.push(format!("{at}: read-only but has a write spec")),
        (Some(spec), true) if spec.kind != platform => {
            problems.push(format!(
                "{at}: write kind {:?} differs from platform",
                spec.kind
            ));
        }
        _ => {}
    }
    if matches!(
        platform,
        Platform::Select | Platform::Switch | Platform::Button
    ) && reg.enum_labels.is_none()
    {
        problems.push(format!("{at}: {platform:?} needs enum codes"));
    }
    if (platform == Platform::Text) != (is_text && reg.writable) {
        problems.push(format!("{at}: text platform must match a writable string"));
    }
    if reg.ha.state_class.as_deref() == Some("total_increasing")
        && reg.ha.unit.as_deref() != Some("kWh")
    {
        problems.push(format!("{at}: total_increasing on a non-energy register"));
    }
    if reg.ha.unit.as_deref() == Some("kWh")
        && platform == Platform::Sensor
        && reg.ha.state_class.as_deref() != Some("total_increasing")
    {
        problems.push(format!("{at}: a kWh counter must be total_increasing"));
    }
}
