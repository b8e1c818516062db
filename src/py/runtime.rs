//! The core's own tokio runtime: started with the module, shut down at
//! interpreter exit (the Python package registers [`shutdown`] with `atexit`),
//! so no tokio thread is left running while Python finalizes.

use std::sync::Mutex;
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::{Handle, Runtime};

use super::errors::CoreError;
use crate::sync::lock;

/// One worker: the core's tasks wait on sockets and timers and do little in
/// between. With two, each reply woke the idle worker to look for work (two
/// futex calls per request on loopback): `scripts/bench cpu` measured 9% more
/// core CPU per poll on `three-phase` and 12% more on `large`.
const WORKER_THREADS: usize = 1;
/// How long shutdown waits for tasks to notice before it drops them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

/// Starts the runtime (once, at module import).
pub fn start() -> PyResult<()> {
    let mut slot = lock(&RUNTIME);
    if slot.is_none() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("victron-gx-modbus")
            .enable_all()
            .build()
            .map_err(|err| {
                pyo3::exceptions::PyRuntimeError::new_err(format!(
                    "cannot start the core's runtime: {err}"
                ))
            })?;
        *slot = Some(runtime);
    }
    Ok(())
}

/// A handle to spawn on, or [`CoreError::ShutDown`] after [`shutdown`].
pub fn handle() -> Result<Handle, CoreError> {
    lock(&RUNTIME)
        .as_ref()
        .map(|runtime| runtime.handle().clone())
        .ok_or(CoreError::ShutDown)
}

/// Stops the runtime: every task is dropped and its threads joined. Called
/// at interpreter exit; later calls into the core raise.
#[pyfunction]
pub fn shutdown(py: Python<'_>) {
    let runtime = lock(&RUNTIME).take();
    if let Some(runtime) = runtime {
        py.detach(|| runtime.shutdown_timeout(SHUTDOWN_GRACE));
    }
}
