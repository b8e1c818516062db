//! A faithful GX simulator: a Modbus TCP server that answers like
//! dbus-modbustcp for the devices of a scenario, with latency, a
//! single-threaded service model and fault injection.

mod faults;
mod gx;
mod mqtt;
mod scenario;
mod server;
mod site;
mod stats;
mod tls;
mod twins;

pub use faults::{Malformation, ReplyFault};
pub use gx::{exception, Gx, Outcome, WriteRecord};
pub use scenario::{
    DeviceIdentity, DeviceSpec, GxSettings, Scenario, ScenarioError, ValueModel, ValueRef, BUNDLED,
};
pub use server::{DeviceInfo, MqttConfig, SimConfig, SimError, Simulator};
pub use site::{History, NodeValue, Series, SimDevice, Site};
pub use stats::{Stats, UnitStats, WriteLogEntry};
