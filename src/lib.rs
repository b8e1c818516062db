//! Victron Energy GX Modbus TCP core: the register ledger and the codec,
//! a GX simulator, exposed to Python as `victron_gx_modbus._core` when built with the
//! `python` feature.

pub mod codec;
pub mod discovery;
pub mod frame;
pub mod ledger;
pub mod plan;
pub mod poll;
pub mod sim;
pub mod transport;
pub mod unit_ids;

#[cfg(feature = "python")]
mod py;
