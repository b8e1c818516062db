//! Victron Energy GX Modbus TCP core.
//!
//! Data flows one way: ledger (the register list, compiled in) -> plan (read
//! requests) -> transport (Modbus TCP) -> codec (words to values) -> poll
//! (snapshots). Discovery finds the devices to plan for; the simulator plays
//! the GX for the demo, the tests and the benchmarks. Built with the `python`
//! feature, the crate is the extension module `victron_gx_modbus._core`.

pub mod codec;
pub mod discovery;
pub mod dump;
pub mod firmware;
pub mod frame;
pub mod guard;
mod join;
pub mod ledger;
pub mod mqtt;
mod pacing;
pub mod plan;
pub mod poll;
pub mod products;
#[cfg(test)]
mod result_types;
mod rng;
pub mod sim;
mod sync;
pub mod transport;
pub mod unit_ids;

#[cfg(feature = "python")]
mod py;
