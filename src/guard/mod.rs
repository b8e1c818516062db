//! Guarded writes: limits from the user's electrical set-up, each writable
//! register's range under them, and the write path (validate, encode, write,
//! read back). The GX itself does no range check, so nothing outside these
//! ranges may ever reach the wire.

mod bounds;
mod limits;
mod write;

pub use bounds::{
    encode_checked, phase_of, write_range, NoRange, WriteRange, WriteValue, AC_VOLTAGE_TOLERANCE,
    FREQUENCY_RANGE,
};
pub use limits::{
    Battery, Derived, LimitOptions, Limits, LimitsError, Phases, PowerScope, AC_CURRENT_MAX,
    AC_VOLTAGE_RANGE, BATTERY_PROFILES, DC_CURRENT_MAX, DC_VOLTAGE_RANGE, LEAD_ACID_BLOCK,
    LIFEPO4_CELL, POWER_LIMIT_MAX,
};
pub use write::{PendingWrite, Writer};

use crate::transport::TransportError;

/// Why a value was refused before anything was sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// `<unit>/<service>/<key>`.
    pub register: String,
    /// Modbus address.
    pub address: u16,
    /// The value asked for (None when only the range was asked).
    pub value: Option<WriteValue>,
    /// Smallest accepted value, when the register has a range.
    pub min: Option<f64>,
    /// Largest accepted value, when the register has a range.
    pub max: Option<f64>,
    /// Step, when the register has a range.
    pub step: Option<f64>,
    /// The only codes accepted, for code registers.
    pub allowed: Option<Vec<i64>>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(value) => write!(
                f,
                "refused to write {value} to {} (address {}): {}",
                self.register, self.address, self.reason
            ),
            None => write!(
                f,
                "{} (address {}) cannot be written: {}",
                self.register, self.address, self.reason
            ),
        }
    }
}

/// Why a write did not happen or was not confirmed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GuardError {
    /// Refused by the guard; nothing was sent.
    #[error("{0}")]
    Refused(Box<Refusal>),
    /// The GX answered a Modbus exception (to the write or a read around it).
    #[error("{register}: unit {unit} answered exception {code:#04x} at address {address}")]
    Device {
        /// `<unit>/<service>/<key>`.
        register: String,
        /// Unit ID.
        unit: u8,
        /// Address.
        address: u16,
        /// Modbus exception code.
        code: u8,
    },
    /// No Modbus reply.
    #[error("{0}")]
    Transport(#[from] TransportError),
    /// The GX accepted the write but reads back another value.
    #[error("{register}: wrote {written} but the GX reads back {read_back}")]
    NotConfirmed {
        /// `<unit>/<service>/<key>`.
        register: String,
        /// The value written.
        written: String,
        /// The value read back.
        read_back: String,
    },
}

impl GuardError {
    /// A refusal without a range (writes off, unknown or read-only register).
    pub fn refused(
        register: String,
        address: u16,
        value: Option<WriteValue>,
        reason: String,
    ) -> Self {
        Self::Refused(Box::new(Refusal {
            register,
            address,
            value,
            min: None,
            max: None,
            step: None,
            allowed: None,
            reason,
        }))
    }
}
