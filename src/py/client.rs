//! The GX client on the Python side: scan, poll, metrics and raw reads,
//! awaited from asyncio and run on the core's tokio runtime.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_async_runtimes::tokio::{future_into_py, get_current_locals};
use pyo3_async_runtimes::TaskLocals;
use serde::Serialize;
use tokio::sync::Mutex;

use super::codec::PyValue;
use super::errors::{device_exception, transport_error, LedgerError, ScanDataError};
use crate::discovery::{scan, ScanError, ScanMode, ScanProgress, ScanResult, SCAN_RESULT_VERSION};
use crate::frame::Reply;
use crate::ledger::{self, Ledger};
use crate::plan::{plan_all, Tier};
use crate::poll::Poller;
use crate::transport::{Transport, TransportConfig};

/// What one poll returns to Python.
#[derive(IntoPyObject)]
pub struct PollOutput {
    values: Vec<PyValue>,
    unavailable: Vec<usize>,
    changed: Vec<usize>,
    unavailable_devices: Vec<usize>,
    connection_lost: bool,
    requests: usize,
    failed: usize,
}

/// One planned register, for Python to build entities from.
#[derive(Serialize)]
struct PlannedRegister<'a> {
    device: usize,
    unit: u8,
    service: &'a str,
    key: &'a str,
    tier: Tier,
}

/// The plan as Python sees it.
#[derive(Serialize)]
struct PlanView<'a> {
    registers: Vec<PlannedRegister<'a>>,
    requests: usize,
    requests_per_cycle: f64,
}

struct State {
    scan: Option<ScanResult>,
    poller: Option<Poller>,
}

/// A connection to one GX (the Rust side of `victron_gx_modbus.Client`).
#[pyclass(module = "victron_gx_modbus._core", frozen)]
pub struct ClientCore {
    transport: Transport,
    ledger: &'static Ledger,
    slow_every: u64,
    state: Arc<Mutex<State>>,
}

fn scan_error(err: ScanError) -> PyErr {
    match err {
        ScanError::Transport(err) => transport_error(&err),
        ScanError::Ledger(err) => err.into(),
        ScanError::NotAGx(message) => ScanDataError::new_err(message),
    }
}

fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    if !value.is_finite() || value <= 0.0 || value > 3600.0 {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{name} must be between 0 and 3600 seconds, got {value}"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

fn poller_for(ledger: &'static Ledger, result: &ScanResult, slow_every: u64) -> Poller {
    let devices = result.plan_devices(ledger);
    Poller::new(plan_all(&devices), result.devices.len(), slow_every)
}

#[pymethods]
impl ClientCore {
    /// A client for `host:port`; nothing connects until the first request.
    #[new]
    #[pyo3(signature = (host, port, timeout, connect_timeout, max_in_flight, max_rate, slow_every))]
    fn new(
        host: String,
        port: u16,
        timeout: f64,
        connect_timeout: f64,
        max_in_flight: usize,
        max_rate: f64,
        slow_every: u64,
    ) -> PyResult<Self> {
        if host.trim().is_empty() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "host must not be empty",
            ));
        }
        if !(1..=64).contains(&max_in_flight) {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "max_in_flight must be 1-64",
            ));
        }
        if !(max_rate.is_finite() && max_rate >= 0.0) {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "max_rate must be >= 0 (0: unlimited)",
            ));
        }
        let mut config = TransportConfig::new(host, port);
        config.request_timeout = seconds("timeout", timeout)?;
        config.connect_timeout = seconds("connect_timeout", connect_timeout)?;
        config.max_in_flight = max_in_flight;
        config.max_rate = max_rate;
        Ok(Self {
            transport: Transport::new(config),
            ledger: ledger::embedded()?,
            slow_every: slow_every.max(1),
            state: Arc::new(Mutex::new(State {
                scan: None,
                poller: None,
            })),
        })
    }

    /// Scans the GX (`mode`: quick, deep, or units with `units`); resolves to
    /// the scan result as JSON and adopts it for polling. `progress` is called
    /// on the caller's event loop with a dict per step.
    #[pyo3(signature = (mode, units, progress))]
    fn scan<'py>(
        &self,
        py: Python<'py>,
        mode: &str,
        units: Option<Vec<u8>>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mode =
            match (mode, units) {
                ("quick", None) => ScanMode::Quick,
                ("deep", None) => ScanMode::Deep,
                ("units", Some(units)) if !units.is_empty() => ScanMode::Units(units),
                _ => return Err(pyo3::exceptions::PyValueError::new_err(
                    "mode must be 'quick', 'deep', or 'units' with a non-empty list of unit IDs",
                )),
            };
        let locals = get_current_locals(py)?;
        let reporter = progress_reporter(locals, progress);
        let (transport, ledger, state, slow_every) = (
            self.transport.clone(),
            self.ledger,
            Arc::clone(&self.state),
            self.slow_every,
        );
        future_into_py(py, async move {
            let result = scan(&transport, ledger, mode, reporter)
                .await
                .map_err(scan_error)?;
            let json = serde_json::to_string(&result)
                .map_err(|err| LedgerError::new_err(err.to_string()))?;
            let mut state = state.lock().await;
            state.poller = Some(poller_for(ledger, &result, slow_every));
            state.scan = Some(result);
            Ok(json)
        })
    }

    /// Adopts a stored scan result (JSON) for polling.
    fn use_scan<'py>(&self, py: Python<'py>, scan_json: String) -> PyResult<Bound<'py, PyAny>> {
        let result: ScanResult = serde_json::from_str(&scan_json).map_err(|err| {
            ScanDataError::new_err(format!("stored scan result is unreadable: {err}"))
        })?;
        if result.version > SCAN_RESULT_VERSION {
            return Err(ScanDataError::new_err(format!(
                "scan result version {} is newer than this library ({SCAN_RESULT_VERSION})",
                result.version
            )));
        }
        let (ledger, state, slow_every) = (self.ledger, Arc::clone(&self.state), self.slow_every);
        future_into_py(py, async move {
            let mut state = state.lock().await;
            state.poller = Some(poller_for(ledger, &result, slow_every));
            state.scan = Some(result);
            Ok(())
        })
    }

    /// The planned registers and request counts as JSON (after a scan).
    fn plan_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = Arc::clone(&self.state);
        future_into_py(py, async move {
            let state = state.lock().await;
            let (Some(scan), Some(poller)) = (&state.scan, &state.poller) else {
                return Err(ScanDataError::new_err(
                    "no scan result yet: scan() or use_scan() first",
                ));
            };
            let plan = poller.plan();
            let view = PlanView {
                registers: plan
                    .slots
                    .iter()
                    .map(|slot| PlannedRegister {
                        device: slot.device,
                        unit: scan.devices[slot.device].unit,
                        service: &scan.devices[slot.device].service,
                        key: &slot.register.key,
                        tier: crate::plan::tier_of(&slot.register),
                    })
                    .collect(),
                requests: plan.blocks.len(),
                requests_per_cycle: poller.requests_per_cycle(),
            };
            serde_json::to_string(&view).map_err(|err| LedgerError::new_err(err.to_string()))
        })
    }

    /// Reads every due block and resolves to the values (in plan order) and
    /// what changed.
    fn poll<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (transport, state) = (self.transport.clone(), Arc::clone(&self.state));
        future_into_py(py, async move {
            let mut state = state.lock().await;
            let Some(poller) = state.poller.as_mut() else {
                return Err(ScanDataError::new_err(
                    "no scan result yet: scan() or use_scan() first",
                ));
            };
            let report = poller.poll(&transport).await;
            let values = poller.values();
            Ok(PollOutput {
                unavailable: values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_none())
                    .map(|(i, _)| i)
                    .collect(),
                values: values.iter().cloned().map(PyValue).collect(),
                changed: report.changed,
                unavailable_devices: report.unavailable_devices,
                connection_lost: report.connection_lost,
                requests: report.requests,
                failed: report.failed,
            })
        })
    }

    /// Reads `count` registers; raises `DeviceException` on an exception reply.
    fn read_registers<'py>(
        &self,
        py: Python<'py>,
        unit: u8,
        address: u16,
        count: u16,
    ) -> PyResult<Bound<'py, PyAny>> {
        let transport = self.transport.clone();
        future_into_py(py, async move {
            match transport.read(unit, address, count).await {
                Ok(Reply::Words(words)) => Ok(words),
                Ok(Reply::Exception(code)) => Err(device_exception(code, unit, address)),
                Ok(Reply::WriteAck) => Err(transport_error(
                    &crate::transport::TransportError::Malformed(
                        "write acknowledgement to a read".into(),
                    ),
                )),
                Err(err) => Err(transport_error(&err)),
            }
        })
    }

    /// Request counters and latency percentiles as JSON.
    fn metrics_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.transport.metrics())
            .map_err(|err| LedgerError::new_err(err.to_string()))
    }

    /// Closes the connection; pending requests fail.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let transport = self.transport.clone();
        future_into_py(py, async move {
            transport.close().await;
            Ok(())
        })
    }
}

/// A progress callback that runs `callback(dict)` on the caller's event loop
/// (never on a tokio thread).
fn progress_reporter(
    locals: TaskLocals,
    callback: Option<Py<PyAny>>,
) -> Arc<dyn Fn(ScanProgress) + Send + Sync> {
    let Some(callback) = callback else {
        return Arc::new(|_| {});
    };
    Arc::new(move |step: ScanProgress| {
        Python::attach(|py| {
            let event = PyDict::new(py);
            let filled = event
                .set_item("phase", step.phase)
                .and_then(|()| event.set_item("done", step.done))
                .and_then(|()| event.set_item("total", step.total))
                .and_then(|()| event.set_item("found", step.found));
            let scheduled = filled.and_then(|()| {
                locals
                    .event_loop(py)
                    .call_method1("call_soon_threadsafe", (callback.bind(py), event))
                    .map(|_| ())
            });
            if let Err(err) = scheduled {
                log::debug!("scan progress not delivered: {err}");
            }
        });
    })
}
