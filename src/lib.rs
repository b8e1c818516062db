//! Victron Energy GX Modbus TCP core: the register ledger and the codec,
//! exposed to Python as `victron_gx_modbus._core` when built with the
//! `python` feature.

pub mod codec;
pub mod ledger;

#[cfg(feature = "python")]
mod python;
