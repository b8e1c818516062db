//! The PyO3 surface of the core: `victron_gx_modbus._core`.
//!
//! Only conversion lives here; every error becomes a typed Python exception
//! (never a panic across the boundary). Asynchronous work runs on the core's
//! own tokio runtime and is handed to asyncio through a bridge ([`bridge`]):
//! no tokio thread ever calls into Python, so nothing the core does can
//! touch a closed event loop or a finalizing interpreter.

mod bridge;
mod client;
mod codec;
mod errors;
mod logs;
mod mqtt;
mod runtime;
mod simulator;
mod writes;

use pyo3::prelude::*;

/// The Python module `victron_gx_modbus._core`.
#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    logs::install();
    runtime::start()?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(module)?;
    module.add_function(wrap_pyfunction!(codec::ledger_json, module)?)?;
    module.add_function(wrap_pyfunction!(codec::decode, module)?)?;
    module.add_function(wrap_pyfunction!(codec::encode, module)?)?;
    module.add_function(wrap_pyfunction!(simulator::bundled_scenarios, module)?)?;
    module.add_function(wrap_pyfunction!(simulator::start_simulator, module)?)?;
    module.add_function(wrap_pyfunction!(simulator::site_history, module)?)?;
    module.add_function(wrap_pyfunction!(runtime::shutdown, module)?)?;
    module.add_function(wrap_pyfunction!(logs::take_logs, module)?)?;
    module.add_class::<bridge::BridgeCore>()?;
    module.add_class::<simulator::SimulatorCore>()?;
    module.add_class::<client::ClientCore>()?;
    module.add_class::<writes::PyLimits>()?;
    Ok(())
}
