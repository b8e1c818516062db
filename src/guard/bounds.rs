//! Each writable register's [min, max] and step under the user's limits:
//! the user bound of its write kind, intersected with what its type holds
//! (after scale, the "not available" value excluded) and its ledger range,
//! computed on raw integers so that min and max sit exactly on a step.

use serde::Serialize;

use super::limits::Limits;
use crate::codec::{self, effective_scale, RegisterType};
use crate::ledger::{Register, WriteBound};

/// Lowest and highest frequency a frequency register may be set to (Hz).
pub const FREQUENCY_RANGE: (f64, f64) = (45.0, 65.0);
/// AC voltage registers may be set within this fraction of the nominal.
pub const AC_VOLTAGE_TOLERANCE: f64 = 0.10;

/// What a writable register accepts under the limits.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(rename = "WriteInfo"))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriteRange {
    /// Smallest value (for text: 0).
    pub min: f64,
    /// Largest value (for text: most characters).
    pub max: f64,
    /// Step between values (1 / |scale|; 1 for codes and text).
    pub step: f64,
    /// Smallest raw integer.
    #[serde(skip)]
    pub raw_min: i128,
    /// Largest raw integer.
    #[serde(skip)]
    pub raw_max: i128,
    /// The only codes allowed (enum, on/off, button registers).
    pub allowed: Option<Vec<i64>>,
    /// Whether the register takes text.
    pub text: bool,
    /// How the user bound was derived, e.g. "AC power per phase: 230 V x 25 A".
    pub reason: String,
}

/// A value to write.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteValue {
    /// A number (codes are numbers too).
    Number(f64),
    /// Text for a string register.
    Text(String),
}

impl std::fmt::Display for WriteValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(number) => write!(f, "{number}"),
            Self::Text(text) => write!(f, "{text:?}"),
        }
    }
}

/// The AC phase (1-3) of a register, from an `L1`/`L2`/`L3` segment of its D-Bus path.
pub fn phase_of(register: &Register) -> Option<u8> {
    register
        .dbus_path
        .as_deref()?
        .split('/')
        .find_map(|segment| match segment {
            "L1" => Some(1),
            "L2" => Some(2),
            "L3" => Some(3),
            _ => None,
        })
}

/// The user bound of a register in value units, and how it was derived;
/// `None` when only the type and ledger range bound it.
fn user_bound(
    limits: &Limits,
    register: &Register,
    bound: WriteBound,
) -> Option<(f64, f64, String)> {
    let options = limits.options();
    let derived = limits.derived();
    let (v, a, legs) = (
        options.ac_voltage,
        options.ac_current,
        options.phases.legs(),
    );
    let capped = if options.power_limit.is_some() {
        ", capped by the power limit"
    } else {
        ""
    };
    let power = || match phase_of(register) {
        Some(phase) if phase > legs => (
            0.0,
            format!("the site has no L{phase} ({} phase)", options.phases),
        ),
        Some(_) => (
            derived.ac_power_phase,
            format!("AC power per phase: {v} V x {a} A{capped}"),
        ),
        None => (
            derived.ac_power_total,
            format!("AC power total: {legs} x {v} V x {a} A{capped}"),
        ),
    };
    Some(match bound {
        WriteBound::AcPower => {
            let (p, why) = power();
            (-p, p, why)
        }
        WriteBound::AcPowerLimit => {
            let (p, why) = power();
            (0.0, p, why)
        }
        WriteBound::AcCurrent => (0.0, a, format!("AC current per phase: {a} A")),
        WriteBound::AcVoltage => (
            v * (1.0 - AC_VOLTAGE_TOLERANCE),
            v * (1.0 + AC_VOLTAGE_TOLERANCE),
            format!("AC voltage: {v} V +-10 %"),
        ),
        WriteBound::DcCurrent => (
            0.0,
            options.dc_current,
            format!("DC current: {} A", options.dc_current),
        ),
        WriteBound::DcPower => (
            -derived.dc_power,
            derived.dc_power,
            format!(
                "DC power: {} A x {} V",
                options.dc_current, derived.dc_voltage_max
            ),
        ),
        WriteBound::DcVoltage => (
            derived.dc_voltage_min,
            derived.dc_voltage_max,
            format!("battery {}", options.battery.name()),
        ),
        WriteBound::Percentage => (-100.0, 100.0, "percentage".to_owned()),
        WriteBound::Frequency => (
            FREQUENCY_RANGE.0,
            FREQUENCY_RANGE.1,
            "AC frequency".to_owned(),
        ),
        WriteBound::TimeOfDay => {
            let day = match register.ha.unit.as_deref() {
                Some("min") => 1440.0,
                Some("h") => 24.0,
                _ => 86_400.0,
            };
            (0.0, day - 1.0, "time of day".to_owned())
        }
        WriteBound::Timestamp => (0.0, f64::INFINITY, "Unix time".to_owned()),
        WriteBound::Duration
        | WriteBound::Temperature
        | WriteBound::Energy
        | WriteBound::Charge
        | WriteBound::Volume
        | WriteBound::Enum
        | WriteBound::TextLength
        | WriteBound::RegisterRange => return None,
    })
}

/// Raw integers `[lo, hi]` (value units) covers with scale `scale`, rounded inwards.
fn raw_span(lo: f64, hi: f64, scale: f64) -> (i128, i128) {
    let (a, b) = (lo * scale, hi * scale);
    let (low, high) = (a.min(b), a.max(b));
    let inward = |x: f64, up: bool| -> i128 {
        if x.is_infinite() || x.abs() > 1e30 {
            return if x < 0.0 { i128::MIN } else { i128::MAX };
        }
        let tolerance = 1e-9 * x.abs().max(1.0);
        if up {
            (x - tolerance).ceil() as i128
        } else {
            (x + tolerance).floor() as i128
        }
    };
    (inward(low, true), inward(high, false))
}

/// Why a register has no write range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRange {
    /// The register is read-only.
    ReadOnly,
    /// Limits, type and ledger range leave nothing (the reason says why).
    Empty(String),
}

/// The write range of a register under the limits.
pub fn write_range(limits: &Limits, register: &Register) -> Result<WriteRange, NoRange> {
    let spec = register.ha.write.as_ref().filter(|_| register.writable);
    let Some(spec) = spec else {
        return Err(NoRange::ReadOnly);
    };
    if let RegisterType::Str(words) = register.register_type {
        let chars = f64::from(words) * 2.0;
        return Ok(WriteRange {
            min: 0.0,
            max: chars,
            step: 1.0,
            raw_min: 0,
            raw_max: i128::from(words) * 2,
            allowed: None,
            text: true,
            reason: format!("text of at most {chars} Latin-1 characters"),
        });
    }
    let scale = effective_scale(register.scale);
    let Some((type_min, type_max)) = register.register_type.raw_bounds() else {
        return Err(NoRange::Empty(format!(
            "{} is not a number",
            register.register_type
        )));
    };
    let (mut raw_min, mut raw_max) = (type_min, type_max);
    let mut reason = format!("{}", register.register_type);
    if let Some([low, high]) = register.range {
        let (a, b) = raw_span(low, high, scale);
        raw_min = raw_min.max(a);
        raw_max = raw_max.min(b);
        reason = format!("ledger range {low}..{high}");
    }
    if let Some((low, high, why)) = user_bound(limits, register, spec.bound) {
        let (a, b) = raw_span(low, high, scale);
        raw_min = raw_min.max(a);
        raw_max = raw_max.min(b);
        reason = why;
    }
    let allowed = match &register.enum_labels {
        Some(labels) => {
            let codes: Vec<i64> = labels
                .keys()
                .filter_map(|code| code.parse::<i64>().ok())
                .filter(|&code| (raw_min..=raw_max).contains(&i128::from(code)))
                .collect();
            if codes.is_empty() {
                return Err(NoRange::Empty(
                    "no listed code fits the register".to_owned(),
                ));
            }
            raw_min = codes.iter().copied().min().map_or(raw_min, i128::from);
            raw_max = codes.iter().copied().max().map_or(raw_max, i128::from);
            reason = format!("one of the codes {codes:?}");
            Some(codes)
        }
        None => None,
    };
    if raw_min > raw_max {
        return Err(NoRange::Empty(format!("nothing is left of {reason}")));
    }
    let (a, b) = (raw_min as f64 / scale, raw_max as f64 / scale);
    Ok(WriteRange {
        min: a.min(b),
        max: a.max(b),
        step: 1.0 / scale.abs(),
        raw_min,
        raw_max,
        allowed,
        text: false,
        reason,
    })
}

/// Checks a value against a register's write range and encodes it (rounded
/// to the step); the error says why the value is refused.
pub fn encode_checked(
    range: &WriteRange,
    register: &Register,
    value: &WriteValue,
) -> Result<Vec<u16>, String> {
    match (value, range.text) {
        (WriteValue::Text(text), true) => {
            codec::encode_text(register.register_type, text).map_err(|err| err.to_string())
        }
        (WriteValue::Text(_), false) => Err("the register takes a number, not text".to_owned()),
        (WriteValue::Number(_), true) => Err("the register takes text, not a number".to_owned()),
        (WriteValue::Number(number), false) => {
            let number = *number;
            if !number.is_finite() {
                return Err(format!("{number} is not a finite number"));
            }
            if let Some(codes) = &range.allowed {
                let code = number as i64;
                if code as f64 != number || !codes.contains(&code) {
                    return Err(format!("not one of the codes {codes:?}"));
                }
                return codec::encode_raw(register.register_type, i128::from(code))
                    .map_err(|err| err.to_string());
            }
            let tolerance = range.step * 1e-6;
            if number < range.min - tolerance || number > range.max + tolerance {
                return Err(format!("outside {} to {}", range.min, range.max));
            }
            let raw = (number * effective_scale(register.scale)).round() as i128;
            codec::encode_raw(
                register.register_type,
                raw.clamp(range.raw_min, range.raw_max),
            )
            .map_err(|err| err.to_string())
        }
    }
}
