//! The register model: services, registers and their Home Assistant metadata.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codec::RegisterType;

/// Which Home Assistant platform presents a register.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// A read-only value.
    Sensor,
    /// A read-only on/off state.
    BinarySensor,
    /// A writable number.
    Number,
    /// A writable choice among enum codes.
    Select,
    /// A writable on/off state.
    Switch,
    /// A write of one fixed code (an action).
    Button,
    /// Writable text.
    Text,
}

/// The Home Assistant entity category of a register that is not a primary reading.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityCategory {
    /// A setting.
    Config,
    /// Diagnostics.
    Diagnostic,
}

/// Which of the user's limits bounds a writable register.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteBound {
    /// AC current (A): the user's AC current limit.
    AcCurrent,
    /// AC power setpoint (W, signed: import positive, export negative):
    /// AC voltage x AC current, per phase or times the phases.
    AcPower,
    /// AC power limit (W, never negative): as `AcPower`, from 0 up.
    AcPowerLimit,
    /// AC voltage (V): the user's nominal AC voltage.
    AcVoltage,
    /// DC current (A): the user's DC current limit.
    DcCurrent,
    /// DC power (W): DC current x battery voltage.
    DcPower,
    /// DC voltage (V): the battery profile's voltage window.
    DcVoltage,
    /// 0-100 %.
    Percentage,
    /// A duration, bounded by the register's range.
    Duration,
    /// A time of day (seconds, minutes or hours since midnight, by unit).
    TimeOfDay,
    /// A point in time (Unix seconds, not before 1970).
    Timestamp,
    /// AC frequency around the nominal 50/60 Hz.
    Frequency,
    /// A temperature, bounded by the register's range.
    Temperature,
    /// Energy (kWh), bounded by the register's range.
    Energy,
    /// Charge (Ah), bounded by the register's range.
    Charge,
    /// A volume, bounded by the register's range.
    Volume,
    /// Only the listed enum codes.
    Enum,
    /// Text no longer than the register holds.
    TextLength,
    /// Only the register's own type and listed range.
    RegisterRange,
}

/// How a writable register is written and what bounds it.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteSpec {
    /// The platform that writes it.
    pub kind: Platform,
    /// The user limit that bounds it.
    pub bound: WriteBound,
}

/// Our Home Assistant metadata of a register (hand-kept, not official).
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(rename = "HaMetadata"))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaMeta {
    /// English entity name (translations come from strings.json).
    pub name: String,
    /// The platform that presents it.
    pub platform: Platform,
    /// HA device class, if any.
    pub device_class: Option<String>,
    /// HA state class, if any.
    pub state_class: Option<String>,
    /// HA unit of measurement, if any.
    pub unit: Option<String>,
    /// The entity's category, if any.
    pub entity_category: Option<EntityCategory>,
    /// Whether the entity is enabled when first created.
    pub enabled_by_default: bool,
    /// Suggested display precision.
    pub suggested_precision: Option<u8>,
    /// The unit Home Assistant shows the value in when it is not `unit`
    /// (a duration in seconds shown in hours); the user can change it.
    #[serde(default)]
    pub suggested_unit: Option<String>,
    /// Our state key per enum code (enum sensors and selects).
    pub states: Option<BTreeMap<String, String>>,
    /// How a writable register is written.
    pub write: Option<WriteSpec>,
}

/// A value the publishing service uses for "not available" (or "no limit").
///
/// The integration shows it as unknown rather than as a reading.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentinel {
    /// The value as decoded (scale applied), e.g. -273 for a temperature.
    pub value: f64,
    /// What the service means by it.
    pub means: String,
}

/// A register's first appearance: (rank of its oldest list, the revision
/// that added it or 0); later appearances compare greater.
pub type Appearance = ((u8, u32), u32);

/// One register of a service type.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Register {
    /// Stable key, unique within the service type.
    pub key: String,
    /// Modbus address.
    pub address: u16,
    /// Data type.
    #[serde(rename = "type")]
    pub register_type: RegisterType,
    /// Scale factor (`raw = value x scale`).
    pub scale: f64,
    /// Official unit text.
    pub unit: Option<String>,
    /// Whether the GX accepts writes.
    pub writable: bool,
    /// D-Bus path exactly as the GX's own map spells it (absent where the map
    /// has none, e.g. the second word of an INTERNAL value). An INTERNAL
    /// register's path names the D-Bus value the GX converts, not its words.
    pub dbus_path: Option<String>,
    /// Official description.
    pub description: String,
    /// Official value range, when the list gives one.
    pub range: Option<[f64; 2]>,
    /// Official enum labels by code.
    #[serde(rename = "enum")]
    pub enum_labels: Option<BTreeMap<String, String>>,
    /// Official remarks.
    pub remarks: Option<String>,
    /// Values the publishing service uses for "not available" (errata data).
    #[serde(default)]
    pub sentinels: Vec<Sentinel>,
    /// Why real systems publish values this register's type cannot hold
    /// (errata data); such a register is disabled by default, and a reading
    /// at its type's limit is taken as wrapped or saturated.
    #[serde(default)]
    pub overflow: Option<String>,
    /// Marked INTERNAL in the official list.
    pub internal: bool,
    /// The oldest known register list that has it.
    pub since: String,
    /// The document revision that added it, when the official list's
    /// "Document versions" sheet says (it names registers from rev 49 on).
    #[serde(default)]
    pub added_in: Option<u32>,
    /// Home Assistant metadata.
    pub ha: HaMeta,
}

impl Register {
    /// When the register first appeared, as far as the ledger knows: its
    /// list, then the revision that added it. A register the Document
    /// versions sheet does not date counts as the oldest of its list.
    pub fn first_appearance(&self) -> Appearance {
        (
            crate::ledger::list_rank(&self.since),
            self.added_in.unwrap_or(0),
        )
    }

    /// The register's words as a half-open address range.
    pub fn span(&self) -> std::ops::Range<u32> {
        let start = u32::from(self.address);
        start..start + u32::from(self.register_type.words())
    }
}

/// All registers of one D-Bus service type (`vebus`, `battery`, ...).
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Ledger file format version.
    pub format: u32,
    /// Full D-Bus service name, e.g. `com.victronenergy.vebus`.
    pub service: String,
    /// The official list the facts come from.
    pub source_list: String,
    /// Reserved address blocks (inclusive) that read 0xFFFF.
    pub reserved: Vec<[u16; 2]>,
    /// Registers in address order.
    pub registers: Vec<Register>,
}

impl Service {
    /// Short type name: `com.victronenergy.vebus` -> `vebus`.
    pub fn service_type(&self) -> &str {
        self.service
            .strip_prefix("com.victronenergy.")
            .unwrap_or(&self.service)
    }

    /// The register with a given key.
    pub fn register(&self, key: &str) -> Option<&Register> {
        self.registers.iter().find(|reg| reg.key == key)
    }
}
