//! Scenario files: which devices a simulated GX has and how their values move.
//!
//! Scenarios are JSON documents (bundled ones are compiled in from
//! `src/sim/scenarios/`). Each device names its service type, device
//! instance, identity and a value model per register key; registers without a
//! model read as the GX reads an invalid D-Bus value: 0.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bundled scenarios as (name, JSON text).
pub const BUNDLED: &[(&str, &str)] = &[
    ("minimal", include_str!("scenarios/minimal.json")),
    (
        "single-phase-ess",
        include_str!("scenarios/single-phase-ess.json"),
    ),
    ("three-phase", include_str!("scenarios/three-phase.json")),
    ("large", include_str!("scenarios/large.json")),
    ("old-firmware", include_str!("scenarios/old-firmware.json")),
    ("pre-3.66", include_str!("scenarios/pre-3.66.json")),
    ("boat", include_str!("scenarios/boat.json")),
    ("ess-large", include_str!("scenarios/ess-large.json")),
    ("pv-inverters", include_str!("scenarios/pv-inverters.json")),
];

/// Why a scenario cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// No bundled scenario of that name.
    #[error("no bundled scenario {0:?} (bundled: minimal, single-phase-ess, three-phase, large, old-firmware, pre-3.66, boat, ess-large, pv-inverters)")]
    Unknown(String),
    /// The JSON does not have the scenario shape.
    #[error("scenario {name}: {message}")]
    Parse {
        /// Scenario name or file.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The scenario names something the ledger does not have, or is inconsistent.
    #[error("scenario {name}: {message}")]
    Invalid {
        /// Scenario name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// How the simulated GX's Modbus server behaves (its firmware generation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GxSettings {
    /// The register list the GX's server implements (`"rev53"`, `"3.66"`):
    /// registers first listed later are undefined (exception 0x02).
    #[serde(default = "default_list")]
    pub register_list: String,
    /// For a server older than its register list: the newest document
    /// revision it implements; registers the list's Document versions sheet
    /// dates later are undefined too.
    #[serde(default)]
    pub revision: Option<u32>,
    /// The GX firmware registers 834-835 (servers older than list 3.66
    /// lack them: 0x02).
    #[serde(default = "yes")]
    pub firmware_registers: bool,
    /// Exception code for "no service of this type at this unit": 0x0A on
    /// current firmware, 0x0B on older firmware.
    #[serde(default = "default_absent_exception")]
    pub absent_service_exception: u8,
    /// Firmware v1.0.95+: former gaps in the system range read 0xFFFF (off:
    /// the system service's reserved blocks are gaps too).
    #[serde(default = "yes")]
    pub system_gaps_reserved: bool,
    /// Modbus writes enabled in the GX's settings.
    #[serde(default = "yes")]
    pub writes_enabled: bool,
    /// Firmware v1.0.95+: a value the register's type cannot hold is clamped
    /// to the type (below the "not available" sentinel); off: it wraps, as
    /// the integer conversion of older firmware leaves it (-0.01 V in a
    /// uint16 x 100 reads 0xFFFF).
    #[serde(default = "yes")]
    pub clamps_values: bool,
}

impl Default for GxSettings {
    fn default() -> Self {
        Self {
            register_list: default_list(),
            revision: None,
            firmware_registers: true,
            absent_service_exception: default_absent_exception(),
            system_gaps_reserved: true,
            writes_enabled: true,
            clamps_values: true,
        }
    }
}

fn default_list() -> String {
    "rev53".to_owned()
}

fn default_absent_exception() -> u8 {
    0x0A
}

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

fn default_start_hour() -> f64 {
    12.0
}

/// A reference to another value: a register key of this device or of another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueRef {
    /// Device id; absent means the same device.
    #[serde(default)]
    pub device: Option<String>,
    /// Register key.
    pub key: String,
}

/// How a register's value evolves over simulated time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueModel {
    /// A fixed number.
    Constant(f64),
    /// Fixed text (string registers).
    Text(String),
    /// The D-Bus value is invalid: reads as 0.
    Invalid,
    /// Reads as the "not available" sentinel (all ones).
    Sentinel,
    /// PV power over the day: a sine between sunrise and sunset, with noise.
    Pv {
        /// Power at solar noon.
        peak: f64,
        /// Hour of sunrise.
        sunrise: f64,
        /// Hour of sunset.
        sunset: f64,
        /// Relative noise (0.05 = 5 %).
        #[serde(default)]
        noise: f64,
    },
    /// A household load: base plus morning and evening peaks, with noise.
    Load {
        /// Night-time base load.
        base: f64,
        /// Extra load at the evening peak.
        peak: f64,
        /// Relative noise.
        #[serde(default)]
        noise: f64,
    },
    /// A random walk within bounds.
    Walk {
        /// Initial value.
        start: f64,
        /// Largest change per second.
        step: f64,
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// An energy counter (kWh) integrating a power (W) over time.
    Counter {
        /// Initial reading.
        start: f64,
        /// The power it integrates.
        power: ValueRef,
        /// Integrate the negative part of the power instead (export counters).
        #[serde(default)]
        reverse: bool,
    },
    /// State of charge (%) following a battery current (A, positive charging).
    Soc {
        /// Initial state of charge.
        start: f64,
        /// Battery capacity.
        capacity_ah: f64,
        /// The battery current.
        current: ValueRef,
    },
    /// The product of other values times a factor (power = voltage x current).
    Product {
        /// The factors.
        of: Vec<ValueRef>,
        /// A constant factor.
        #[serde(default = "one")]
        factor: f64,
    },
    /// `offset + sum(weight_i x term_i)`: system totals, differences, copies.
    Sum {
        /// The terms.
        of: Vec<ValueRef>,
        /// A weight per term (default 1 each).
        #[serde(default)]
        weights: Option<Vec<f64>>,
        /// A constant added.
        #[serde(default)]
        offset: f64,
    },
    /// One value divided by another (current = power / voltage).
    Ratio {
        /// Numerator.
        num: ValueRef,
        /// Denominator (0 gives 0).
        den: ValueRef,
    },
}

/// One device behind the simulated GX.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    /// Scenario-unique id used by value references.
    pub id: String,
    /// Service type (`vebus`, `battery`, ...).
    pub service: String,
    /// D-Bus device instance; the unit ID follows from it.
    pub instance: u16,
    /// Expected unit ID (checked against the instance when given).
    #[serde(default)]
    pub unit: Option<u8>,
    /// Product name, as the GX's MQTT publishes it (`/ProductName`).
    #[serde(default)]
    pub product_name: Option<String>,
    /// The name the user gave it (`/CustomName`: MQTT, and the custom name
    /// register where the service has one).
    #[serde(default)]
    pub custom_name: Option<String>,
    /// Victron product id.
    #[serde(default)]
    pub product_id: Option<u16>,
    /// Serial number.
    #[serde(default)]
    pub serial: Option<String>,
    /// Firmware version as the device publishes it on D-Bus: hex digit
    /// pairs (0x0163FF = v1.63); a VE.Bus device its firmware number (0x506
    /// = v506).
    #[serde(default)]
    pub firmware: Option<u32>,
    /// The register list of the device's firmware; newer registers read 0.
    #[serde(default)]
    pub register_list: Option<String>,
    /// Connected at start.
    #[serde(default = "yes")]
    pub present: bool,
    /// Copies of this device with consecutive instances (ids get `_1`, `_2`, ...).
    #[serde(default)]
    pub count: Option<u16>,
    /// Value model per register key.
    #[serde(default)]
    pub values: BTreeMap<String, ValueModel>,
}

/// What a device's service publishes about it.
///
/// Its `/ProductName`, `/ProductId`, `/FirmwareVersion`, `/Serial` and `/CustomName`.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(rename = "SimulatedIdentity"))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceIdentity {
    /// Product name.
    pub product_name: Option<String>,
    /// Victron product id.
    pub product_id: Option<u16>,
    /// Firmware number as published (0x0163FF = v1.63).
    pub firmware: Option<u32>,
    /// Serial number.
    pub serial: Option<String>,
    /// Custom name.
    pub custom_name: Option<String>,
}

impl DeviceSpec {
    /// What the device's service publishes about it.
    pub fn identity(&self) -> DeviceIdentity {
        DeviceIdentity {
            product_name: self.product_name.clone(),
            product_id: self.product_id,
            firmware: self.firmware,
            serial: self.serial.clone(),
            custom_name: self.custom_name.clone(),
        }
    }
}

/// A whole simulated site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name.
    pub name: String,
    /// What the site is.
    pub description: String,
    /// The GX's server behaviour.
    #[serde(default)]
    pub gx: GxSettings,
    /// Simulated hour of day at start (PV and load curves follow it).
    #[serde(default = "default_start_hour")]
    pub start_hour: f64,
    /// The devices.
    pub devices: Vec<DeviceSpec>,
}

impl Scenario {
    /// Parses a scenario from JSON text.
    pub fn from_json(name: &str, text: &str) -> Result<Self, ScenarioError> {
        serde_json::from_str(text).map_err(|err| ScenarioError::Parse {
            name: name.to_owned(),
            message: err.to_string(),
        })
    }

    /// A bundled scenario by name.
    pub fn bundled(name: &str) -> Result<Self, ScenarioError> {
        let (_, text) = BUNDLED
            .iter()
            .find(|(bundled, _)| *bundled == name)
            .ok_or_else(|| ScenarioError::Unknown(name.to_owned()))?;
        Self::from_json(name, text)
    }

    /// The devices with `count` copies expanded (references inside a copy
    /// that name the copied device point at the same copy).
    pub fn expanded_devices(&self) -> Vec<DeviceSpec> {
        let mut devices = Vec::new();
        for spec in &self.devices {
            let Some(count) = spec.count.filter(|&n| n > 1) else {
                devices.push(DeviceSpec {
                    count: None,
                    ..spec.clone()
                });
                continue;
            };
            for index in 0..count {
                let mut copy = spec.clone();
                copy.count = None;
                copy.id = format!("{}_{}", spec.id, index + 1);
                copy.instance = spec.instance + index;
                copy.unit = None;
                copy.serial = spec.serial.as_ref().map(|s| format!("{s}{:02}", index + 1));
                for model in copy.values.values_mut() {
                    retarget(model, &spec.id, &copy.id);
                }
                devices.push(copy);
            }
        }
        devices
    }
}

fn retarget(model: &mut ValueModel, from: &str, to: &str) {
    let fix = |reference: &mut ValueRef| {
        if reference.device.as_deref() == Some(from) {
            reference.device = Some(to.to_owned());
        }
    };
    match model {
        ValueModel::Counter { power: r, .. } | ValueModel::Soc { current: r, .. } => fix(r),
        ValueModel::Product { of, .. } | ValueModel::Sum { of, .. } => of.iter_mut().for_each(fix),
        ValueModel::Ratio { num, den } => {
            fix(num);
            fix(den);
        }
        _ => {}
    }
}
