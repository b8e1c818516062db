//! The PyO3 surface of the core: `victron_gx_modbus._core`.
//!
//! Only conversion lives here; every error becomes a typed Python exception
//! (never a panic across the boundary). Async functions run on the core's
//! own tokio runtime (two worker threads: Home Assistant often runs on a
//! Raspberry Pi) and are awaited from asyncio.

mod client;
mod codec;
mod errors;
mod simulator;

use pyo3::prelude::*;

/// The Python module `victron_gx_modbus._core`.
#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    // Rust `log` records go to Python logging (logger "victron_gx_modbus._core").
    pyo3_log::try_init().ok();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime
        .worker_threads(2)
        .thread_name("victron-gx-modbus")
        .enable_all();
    pyo3_async_runtimes::tokio::init(runtime);
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(module)?;
    module.add_function(wrap_pyfunction!(codec::ledger_json, module)?)?;
    module.add_function(wrap_pyfunction!(codec::decode, module)?)?;
    module.add_function(wrap_pyfunction!(codec::encode, module)?)?;
    module.add_function(wrap_pyfunction!(simulator::bundled_scenarios, module)?)?;
    module.add_function(wrap_pyfunction!(simulator::start_simulator, module)?)?;
    module.add_class::<simulator::SimulatorCore>()?;
    module.add_class::<client::ClientCore>()?;
    Ok(())
}
