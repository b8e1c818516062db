//! The user's electrical set-up, checked once, and the limits derived from it.
//!
//! Every figure is validated when the limits are built: a value that cannot
//! describe a real installation (zero current, a 5 V mains, a battery window
//! upside down, NaN) is refused with the option's name and the accepted range.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Nominal AC voltages of one phase leg that a custom value may take (V).
pub const AC_VOLTAGE_RANGE: (f64, f64) = (100.0, 260.0);
/// AC current per phase the user may give (A); zero is refused.
pub const AC_CURRENT_MAX: f64 = 1000.0;
/// DC current the user may give (A); zero is refused.
pub const DC_CURRENT_MAX: f64 = 10_000.0;
/// A custom battery window must lie within this (V).
pub const DC_VOLTAGE_RANGE: (f64, f64) = (8.0, 70.0);
/// An explicit power limit may not exceed this (W); zero is refused.
pub const POWER_LIMIT_MAX: f64 = 1_000_000.0;
/// LiFePO4 cell window (V per cell).
pub const LIFEPO4_CELL: (f64, f64) = (2.5, 3.65);
/// Lead-acid window per 12 V block (V): discharged to equalisation.
pub const LEAD_ACID_BLOCK: (f64, f64) = (10.5, 15.5);

/// How many phase legs feed the AC side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phases {
    /// One leg (L1).
    Single,
    /// Two legs (L1, L2), e.g. 2 x 120 V in North America.
    Split,
    /// Three legs (L1-L3).
    Three,
}

impl Phases {
    /// Number of legs: 1, 2 or 3.
    pub fn legs(self) -> u8 {
        match self {
            Self::Single => 1,
            Self::Split => 2,
            Self::Three => 3,
        }
    }
}

impl FromStr for Phases {
    type Err = LimitsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "single" => Ok(Self::Single),
            "split" => Ok(Self::Split),
            "three" => Ok(Self::Three),
            other => Err(LimitsError::new(
                "phases",
                format!("must be single, split or three, got {other:?}"),
            )),
        }
    }
}

impl fmt::Display for Phases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Single => "single",
            Self::Split => "split",
            Self::Three => "three",
        })
    }
}

/// The battery, which sets the DC voltage window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Battery {
    /// LiFePO4 with 4, 8 or 16 cells in series.
    LiFePo4 {
        /// Cells in series.
        cells: u8,
    },
    /// Lead-acid of a 12, 24 or 48 V nominal bank.
    LeadAcid {
        /// Nominal voltage.
        nominal: u8,
    },
    /// A window the user gives.
    Custom {
        /// Lowest voltage (V).
        min: f64,
        /// Highest voltage (V).
        max: f64,
    },
}

impl Battery {
    /// Parses a profile name (`lifepo4_16s`, `lead_acid_24v`, `custom`); a
    /// custom profile takes its window from `min` and `max`.
    pub fn parse(name: &str, min: Option<f64>, max: Option<f64>) -> Result<Self, LimitsError> {
        let profile = match name {
            "lifepo4_4s" => Self::LiFePo4 { cells: 4 },
            "lifepo4_8s" => Self::LiFePo4 { cells: 8 },
            "lifepo4_16s" => Self::LiFePo4 { cells: 16 },
            "lead_acid_12v" => Self::LeadAcid { nominal: 12 },
            "lead_acid_24v" => Self::LeadAcid { nominal: 24 },
            "lead_acid_48v" => Self::LeadAcid { nominal: 48 },
            "custom" => match (min, max) {
                (Some(min), Some(max)) => Self::Custom { min, max },
                _ => {
                    return Err(LimitsError::new(
                        "battery",
                        "a custom battery needs battery_min_voltage and battery_max_voltage",
                    ))
                }
            },
            other => {
                return Err(LimitsError::new(
                    "battery",
                    format!(
                        "must be one of {}, got {other:?}",
                        BATTERY_PROFILES.join(", ")
                    ),
                ))
            }
        };
        if name != "custom" && (min.is_some() || max.is_some()) {
            return Err(LimitsError::new(
                "battery",
                "battery_min_voltage and battery_max_voltage go with battery=\"custom\" only",
            ));
        }
        Ok(profile)
    }

    /// The profile's name as [`Battery::parse`] reads it.
    pub fn name(&self) -> String {
        match self {
            Self::LiFePo4 { cells } => format!("lifepo4_{cells}s"),
            Self::LeadAcid { nominal } => format!("lead_acid_{nominal}v"),
            Self::Custom { .. } => "custom".to_owned(),
        }
    }

    /// The DC voltage window (V).
    pub fn window(&self) -> (f64, f64) {
        match *self {
            Self::LiFePo4 { cells } => {
                let cells = f64::from(cells);
                (cells * LIFEPO4_CELL.0, cells * LIFEPO4_CELL.1)
            }
            Self::LeadAcid { nominal } => {
                let blocks = f64::from(nominal) / 12.0;
                (blocks * LEAD_ACID_BLOCK.0, blocks * LEAD_ACID_BLOCK.1)
            }
            Self::Custom { min, max } => (min, max),
        }
    }
}

/// Names of the battery profiles.
pub const BATTERY_PROFILES: [&str; 7] = [
    "lifepo4_4s",
    "lifepo4_8s",
    "lifepo4_16s",
    "lead_acid_12v",
    "lead_acid_24v",
    "lead_acid_48v",
    "custom",
];

/// Whether an explicit power limit is per phase or for all phases together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerScope {
    /// The limit applies to each phase.
    PerPhase,
    /// The limit applies to the sum of the phases.
    Total,
}

/// The options as the user gives them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitOptions {
    /// Nominal AC voltage of one phase leg (V): 120, 208, 230, 240 or custom.
    pub ac_voltage: f64,
    /// Phase legs.
    pub phases: Phases,
    /// AC current per phase (A): the smallest breaker or cable on the AC side.
    pub ac_current: f64,
    /// DC current (A): the smallest fuse or cable on the battery side.
    pub dc_current: f64,
    /// Battery profile.
    pub battery: Battery,
    /// An extra AC power limit (W), if any.
    pub power_limit: Option<f64>,
    /// Whether `power_limit` is per phase or total.
    pub power_scope: PowerScope,
}

/// A refused option: which one and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{option}: {message}")]
pub struct LimitsError {
    /// The option's name (`ac_current`, `battery`, ...).
    pub option: &'static str,
    /// What is wrong, with the accepted range.
    pub message: String,
}

impl LimitsError {
    fn new(option: &'static str, message: impl Into<String>) -> Self {
        Self {
            option,
            message: message.into(),
        }
    }
}

/// Validated limits and the figures derived from them.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    options: LimitOptions,
    derived: Derived,
}

/// What the limits work out to (all positive).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Derived {
    /// AC power of one phase (W): V x A, capped by a power limit.
    pub ac_power_phase: f64,
    /// AC power of all phases (W): legs x V x A, capped by a power limit.
    pub ac_power_total: f64,
    /// Lowest DC voltage (V).
    pub dc_voltage_min: f64,
    /// Highest DC voltage (V).
    pub dc_voltage_max: f64,
    /// DC power (W): DC current x highest DC voltage.
    pub dc_power: f64,
}

/// Refuses a value outside `(low, high]` (or `[low, high]` when `zero_ok`).
fn check(
    option: &'static str,
    value: f64,
    low: f64,
    high: f64,
    unit: &str,
) -> Result<f64, LimitsError> {
    if value.is_finite() && value > low && value <= high {
        Ok(value)
    } else {
        Err(LimitsError::new(
            option,
            format!("must be more than {low} {unit} and at most {high} {unit}, got {value}"),
        ))
    }
}

impl Limits {
    /// Validates the options and derives the limits.
    pub fn new(options: LimitOptions) -> Result<Self, LimitsError> {
        let (v_low, v_high) = AC_VOLTAGE_RANGE;
        if !(options.ac_voltage.is_finite() && (v_low..=v_high).contains(&options.ac_voltage)) {
            return Err(LimitsError::new(
                "ac_voltage",
                format!(
                    "must be {v_low}-{v_high} V per phase leg (120, 208, 230, 240 or another mains voltage), got {}",
                    options.ac_voltage
                ),
            ));
        }
        check("ac_current", options.ac_current, 0.0, AC_CURRENT_MAX, "A")?;
        check("dc_current", options.dc_current, 0.0, DC_CURRENT_MAX, "A")?;
        if let Some(power) = options.power_limit {
            check("power_limit", power, 0.0, POWER_LIMIT_MAX, "W")?;
        }
        if let Battery::Custom { min, max } = options.battery {
            let (low, high) = DC_VOLTAGE_RANGE;
            for (option, value) in [("battery_min_voltage", min), ("battery_max_voltage", max)] {
                if !(value.is_finite() && (low..=high).contains(&value)) {
                    return Err(LimitsError::new(
                        option,
                        format!("must be {low}-{high} V, got {value}"),
                    ));
                }
            }
            if min >= max {
                return Err(LimitsError::new(
                    "battery_min_voltage",
                    format!("must be below battery_max_voltage ({min} V is not below {max} V)"),
                ));
            }
        }
        let legs = f64::from(options.phases.legs());
        let phase = options.ac_voltage * options.ac_current;
        let (ac_power_phase, ac_power_total) = match (options.power_limit, options.power_scope) {
            (None, _) => (phase, legs * phase),
            (Some(limit), PowerScope::PerPhase) => (phase.min(limit), legs * phase.min(limit)),
            (Some(limit), PowerScope::Total) => (phase.min(limit), (legs * phase).min(limit)),
        };
        let (dc_voltage_min, dc_voltage_max) = options.battery.window();
        Ok(Self {
            options,
            derived: Derived {
                ac_power_phase,
                ac_power_total,
                dc_voltage_min,
                dc_voltage_max,
                dc_power: options.dc_current * dc_voltage_max,
            },
        })
    }

    /// The options as given.
    pub fn options(&self) -> &LimitOptions {
        &self.options
    }

    /// The derived figures.
    pub fn derived(&self) -> &Derived {
        &self.derived
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> LimitOptions {
        LimitOptions {
            ac_voltage: 230.0,
            phases: Phases::Three,
            ac_current: 25.0,
            dc_current: 100.0,
            battery: Battery::LiFePo4 { cells: 16 },
            power_limit: None,
            power_scope: PowerScope::PerPhase,
        }
    }

    #[test]
    fn power_follows_voltage_current_and_legs() {
        let limits = Limits::new(options()).expect("valid limits");
        assert_eq!(limits.derived().ac_power_phase, 5750.0);
        assert_eq!(limits.derived().ac_power_total, 17250.0);
        let split = LimitOptions {
            ac_voltage: 120.0,
            phases: Phases::Split,
            ac_current: 30.0,
            ..options()
        };
        let limits = Limits::new(split).expect("valid limits");
        assert_eq!(limits.derived().ac_power_total, 7200.0);
        let capped = LimitOptions {
            power_limit: Some(10_000.0),
            power_scope: PowerScope::Total,
            ..options()
        };
        let limits = Limits::new(capped).expect("valid limits");
        assert_eq!(limits.derived().ac_power_phase, 5750.0);
        assert_eq!(limits.derived().ac_power_total, 10_000.0);
    }

    #[test]
    fn battery_windows() {
        assert_eq!(Battery::LiFePo4 { cells: 4 }.window(), (10.0, 14.6));
        assert_eq!(Battery::LeadAcid { nominal: 48 }.window(), (42.0, 62.0));
    }

    #[test]
    fn nonsense_is_refused() {
        let cases = [
            LimitOptions {
                ac_current: 0.0,
                ..options()
            },
            LimitOptions {
                ac_current: f64::NAN,
                ..options()
            },
            LimitOptions {
                dc_current: -5.0,
                ..options()
            },
            LimitOptions {
                ac_voltage: 5.0,
                ..options()
            },
            LimitOptions {
                power_limit: Some(0.0),
                ..options()
            },
            LimitOptions {
                battery: Battery::Custom {
                    min: 58.0,
                    max: 40.0,
                },
                ..options()
            },
            LimitOptions {
                battery: Battery::Custom {
                    min: 5.0,
                    max: 14.0,
                },
                ..options()
            },
        ];
        for case in cases {
            assert!(Limits::new(case).is_err(), "{case:?}");
        }
        assert!(Battery::parse("custom", Some(40.0), None).is_err());
        assert!(Battery::parse("lifepo4_16s", Some(40.0), None).is_err());
        assert!("double".parse::<Phases>().is_err());
    }
}
