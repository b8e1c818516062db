//! The GX client on the Python side: scan, poll, metrics and raw reads, run
//! on the core's tokio runtime and delivered to asyncio through a bridge.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use tokio::sync::Mutex;

use super::bridge::{spawn, BridgeCore, EventSink, TaskGroup};
use super::errors::{CoreError, ScanDataError};
use super::mqtt::{check_json, mqtt_options, MqttArgs};
use super::writes::{write_value, PyLimits};
use crate::discovery::{
    identify, scan, search, sweep, unexplained_after_poll, ScanMode, ScanProgress, ScanResult,
    MIN_RATE, SCAN_RESULT_VERSION,
};
use crate::dump::dump;
use crate::frame::Reply;
use crate::guard::Writer;
use crate::ledger::{self, Ledger};
use crate::mqtt::{
    read_services, scan_listed, scan_with_mqtt, DeviceFacts, Discovery, ListedUnits,
};
use crate::plan::{plan, plan_all};
use crate::poll::Poller;
use crate::sync::lock;
use crate::transport::{Transport, TransportConfig, TransportError};

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
    tasks: TaskGroup,
    writer: Writer,
}

fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    if !value.is_finite() || value <= 0.0 || value > 3600.0 {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{name} must be between 0 and 3600 seconds, got {value}"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

/// A poller for a scan result: every register, or only those named in
/// `only` (`"<unit>/<service>/<key>"`, e.g. the enabled entities' registers).
fn poller_for(
    ledger: &'static Ledger,
    result: &ScanResult,
    slow_every: u64,
    only: Option<&HashSet<String>>,
) -> Poller {
    let devices = result.plan_devices(ledger);
    let plan = match only {
        None => plan_all(&devices),
        Some(only) => plan(&devices, &|device, register| {
            only.contains(&format!(
                "{}/{}/{}",
                device.unit,
                device.service.service_type(),
                register.key
            ))
        }),
    };
    Poller::new(plan, devices.len(), slow_every)
}

impl ClientCore {
    /// Runs `task` as one of this client's tasks (ended by `close`).
    fn run<T, F>(&self, bridge: &BridgeCore, task: impl FnOnce(EventSink) -> F) -> PyResult<u64>
    where
        T: for<'py> IntoPyObject<'py> + Send + 'static,
        F: std::future::Future<Output = Result<T, CoreError>> + Send + 'static,
    {
        Ok(spawn(bridge, Some(&self.tasks), task)?)
    }

    /// What a scan task needs to adopt its result.
    fn adopter(&self) -> Adopter {
        Adopter {
            state: Arc::clone(&self.state),
            ledger: self.ledger,
            slow_every: self.slow_every,
        }
    }
}

fn port_number(port: i64) -> PyResult<u16> {
    u16::try_from(port)
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(format!("port must be 1-65535, got {port}"))
        })
}

/// What a scan task needs to adopt its result for polling (the client's
/// plan state, ledger and slow-tier factor).
struct Adopter {
    state: Arc<Mutex<State>>,
    ledger: &'static Ledger,
    slow_every: u64,
}

impl Adopter {
    /// The scan result as Python gets it (JSON, its keys in alphabetical
    /// order, with how it was found under `discovery`), after adopting it
    /// for polling.
    async fn adopt(&self, result: ScanResult, discovery: Discovery) -> Result<String, CoreError> {
        let result = ScanResult {
            discovery: Some(discovery),
            ..result
        };
        let text = serde_json::to_value(&result)?.to_string();
        let mut state = self.state.lock().await;
        state.poller = Some(poller_for(self.ledger, &result, self.slow_every, None));
        state.scan = Some(result);
        Ok(text)
    }
}

/// Progress steps as events (or dropped without `progress`).
fn reporter(events: EventSink, progress: bool) -> Arc<dyn Fn(ScanProgress) + Send + Sync> {
    if progress {
        Arc::new(move |step: ScanProgress| events.send(step))
    } else {
        Arc::new(|_| {})
    }
}

/// How often a sweep's progress reaches Python at most: a sweep runs for
/// minutes at a few probes a second, and its progress is a percentage shown
/// in the options menu, so one event a second is live enough.
const SWEEP_PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Passes on a step when its phase differs from the last one passed on (a
/// sweep waiting for its GX, its end) or `every` has gone by since; the
/// steps between are dropped (each carries the whole state, so the next one
/// passed on says all they said). No timer: a step that is dropped is never
/// sent later, the next one is.
fn coalesced(
    report: Arc<dyn Fn(ScanProgress) + Send + Sync>,
    every: Duration,
) -> Arc<dyn Fn(ScanProgress) + Send + Sync> {
    let last: std::sync::Mutex<Option<(Instant, &'static str)>> = std::sync::Mutex::new(None);
    Arc::new(move |step: ScanProgress| {
        let now = Instant::now();
        {
            let mut last = lock(&last);
            let due = last
                .is_none_or(|(at, phase)| phase != step.phase || now.duration_since(at) >= every);
            if !due {
                return;
            }
            *last = Some((now, step.phase));
        }
        report(step);
    })
}

/// A stored scan result (JSON) this library can read.
fn parse_scan(scan_json: &str) -> PyResult<ScanResult> {
    let result: ScanResult = serde_json::from_str(scan_json).map_err(|err| {
        ScanDataError::new_err(format!("stored scan result is unreadable: {err}"))
    })?;
    if result.version > SCAN_RESULT_VERSION {
        return Err(ScanDataError::new_err(format!(
            "scan result version {} is newer than this library ({SCAN_RESULT_VERSION})",
            result.version
        )));
    }
    Ok(result)
}

fn no_scan_yet() -> CoreError {
    CoreError::ScanData("no scan result yet: scan() or use_scan() first".into())
}

#[pymethods]
impl ClientCore {
    /// A client for `host:port`; nothing connects until the first request.
    #[new]
    ///
    /// With `limits`, writes are enabled within them; without, every write is refused.
    #[pyo3(signature = (host, port, timeout, connect_timeout, max_in_flight, max_rate, slow_every, limits=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        host: String,
        port: i64,
        timeout: f64,
        connect_timeout: f64,
        max_in_flight: usize,
        max_rate: f64,
        slow_every: u64,
        limits: Option<PyRef<'_, PyLimits>>,
    ) -> PyResult<Self> {
        if host.trim().is_empty() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "host must not be empty",
            ));
        }
        let port = port_number(port)?;
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
        let transport = Transport::new(config);
        let ledger = ledger::embedded()?;
        let writer = Writer::new(
            transport.clone(),
            ledger,
            limits.map(|limits| limits.inner.clone()),
        );
        Ok(Self {
            transport,
            ledger,
            writer,
            slow_every: slow_every.max(1),
            state: Arc::new(Mutex::new(State {
                scan: None,
                poller: None,
            })),
            tasks: TaskGroup::new(),
        })
    }

    /// Reads the GX's serial and (with `firmware`) its firmware at unit 100
    /// and nothing else (two reads no GX refuses, one for the serial alone);
    /// delivers them as a dict. Unit 100 answering as
    /// no GX does is `ScanDataError`; no answer a connection error.
    fn identify(&self, bridge: &BridgeCore, firmware: bool) -> PyResult<u64> {
        let (transport, ledger) = (self.transport.clone(), self.ledger);
        self.run(bridge, move |_| async move {
            Ok(identify(&transport, ledger, firmware).await?)
        })
    }

    /// Scans the GX (`mode`: quick, deep, or units with `units`); delivers the
    /// scan result as JSON (with how it was found under `discovery`) and
    /// adopts it for polling. With `mqtt`, the GX's MQTT list is read first
    /// and the scan falls back to quick when it fails. With `progress`, every
    /// step is delivered as an event (a dict).
    #[pyo3(signature = (bridge, mode, units, progress, mqtt=None))]
    fn scan(
        &self,
        bridge: &BridgeCore,
        mode: &str,
        units: Option<Vec<u8>>,
        progress: bool,
        mqtt: Option<MqttArgs>,
    ) -> PyResult<u64> {
        let mqtt = mqtt.map(mqtt_options).transpose()?;
        let mode =
            match (mode, units) {
                ("quick", None) => ScanMode::Quick,
                ("deep", None) => ScanMode::Deep,
                ("units", Some(units)) if !units.is_empty() => ScanMode::Units(units),
                _ => return Err(pyo3::exceptions::PyValueError::new_err(
                    "mode must be 'quick', 'deep', or 'units' with a non-empty list of unit IDs",
                )),
            };
        let (transport, ledger, adopter) = (self.transport.clone(), self.ledger, self.adopter());
        self.run(bridge, move |events| async move {
            let reporter = reporter(events, progress);
            let (result, discovery) = match mqtt {
                Some(options) => scan_with_mqtt(&transport, ledger, &options, reporter).await?,
                None => {
                    let result = scan(&transport, ledger, mode, reporter).await?;
                    let discovery = Discovery::single(&result);
                    (result, discovery)
                }
            };
            adopter.adopt(result, discovery).await
        })
    }

    /// Scans exactly the `services` (unit ID, service type) that an MQTT
    /// check returned, over Modbus and without reading MQTT again; `listed`,
    /// `firmware` and `published` (the JSON of what the services published
    /// about their devices) are the check's. Delivers and adopts the result
    /// as `scan` does (mode `mqtt`). An empty list, or `published` that is
    /// not such JSON, is a `ValueError`.
    #[pyo3(signature = (bridge, services, listed, firmware, progress, published=None))]
    fn scan_listed(
        &self,
        bridge: &BridgeCore,
        services: Vec<(u8, String)>,
        listed: usize,
        firmware: Option<String>,
        progress: bool,
        published: Option<&str>,
    ) -> PyResult<u64> {
        if services.is_empty() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "the list to scan names no service",
            ));
        }
        let published: Vec<DeviceFacts> = match published {
            Some(json) => serde_json::from_str(json).map_err(|err| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "the check's published device facts are not readable: {err}"
                ))
            })?,
            None => Vec::new(),
        };
        let listed = ListedUnits {
            listed,
            active: services,
            firmware,
            published,
        };
        let (transport, ledger, adopter) = (self.transport.clone(), self.ledger, self.adopter());
        self.run(bridge, move |events| async move {
            let reporter = reporter(events, progress);
            let (result, discovery) = scan_listed(&transport, ledger, &listed, reporter).await?;
            adopter.adopt(result, discovery).await
        })
    }

    /// Reads the GX's Modbus TCP service list over its MQTT and sends no
    /// Modbus request: whether MQTT discovery would work here. Delivers JSON
    /// (see `check_json`); a failure of MQTT is an outcome, not an error.
    fn mqtt_check(&self, bridge: &BridgeCore, mqtt: MqttArgs) -> PyResult<u64> {
        let (options, ledger) = (mqtt_options(mqtt)?, self.ledger);
        self.run(bridge, move |_| async move {
            check_json(&read_services(&options).await, ledger)
        })
    }

    /// Sweeps the units 0-63 and 204-247 that the scan result (JSON) has not
    /// covered, at most `rate` requests per second (at least `MIN_RATE`, 0.01),
    /// waiting up to `patience_s` seconds for a GX that stopped answering;
    /// delivers the sweep result as JSON (not adopted for polling). With
    /// `progress`, the latest step is an event at most once a second, and
    /// so is each change of phase (waiting for the GX, done).
    fn sweep(
        &self,
        bridge: &BridgeCore,
        scan_json: &str,
        rate: f64,
        patience_s: f64,
        progress: bool,
    ) -> PyResult<u64> {
        if rate.is_nan() || rate < MIN_RATE {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "rate must be at least {MIN_RATE} requests/s"
            )));
        }
        if !(0.0..=86_400.0).contains(&patience_s) {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "patience must be between 0 and 86400 seconds, got {patience_s}"
            )));
        }
        let patience = Duration::from_secs_f64(patience_s);
        let base = parse_scan(scan_json)?;
        let (transport, ledger) = (self.transport.clone(), self.ledger);
        self.run(bridge, move |events| async move {
            let reporter = coalesced(reporter(events, progress), SWEEP_PROGRESS_EVERY);
            let result = sweep(&transport, ledger, &base, rate, patience, reporter).await?;
            Ok(serde_json::to_string(&result)?)
        })
    }

    /// The service types whose power the system's last polled values claim
    /// beyond what the known devices' values account for (DC PV: solar
    /// chargers, AC-coupled PV: PV inverters, VE.Bus power: a VE.Bus
    /// device); delivers a list. Empty before the first poll, and when the
    /// registers the evidence needs are not polled.
    fn unexplained(&self, bridge: &BridgeCore) -> PyResult<u64> {
        let (state, ledger) = (Arc::clone(&self.state), self.ledger);
        self.run(bridge, move |_| async move {
            let state = state.lock().await;
            let (Some(scan), Some(poller)) = (state.scan.as_ref(), state.poller.as_ref()) else {
                return Ok(Vec::<String>::new());
            };
            let claims = unexplained_after_poll(ledger, scan, poller);
            Ok(claims.into_iter().map(str::to_owned).collect())
        })
    }

    /// Searches for one device of `service` that the scan result (JSON)
    /// lacks, next to the known ones first, at most `rate` requests per
    /// second and `failed_budget` refused requests; delivers the outcome as
    /// JSON (a sweep result: the merged scan, what was found, the cost).
    fn search(
        &self,
        bridge: &BridgeCore,
        scan_json: &str,
        service: String,
        rate: f64,
        failed_budget: u64,
    ) -> PyResult<u64> {
        if rate.is_nan() || rate < MIN_RATE {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "rate must be at least {MIN_RATE} requests/s"
            )));
        }
        let base = parse_scan(scan_json)?;
        let (transport, ledger) = (self.transport.clone(), self.ledger);
        self.run(bridge, move |_| async move {
            let result = search(&transport, ledger, &base, &service, rate, failed_budget).await?;
            Ok(serde_json::to_string(&result)?)
        })
    }

    /// Adopts a stored scan result (JSON) for polling.
    ///
    /// With `only`, just the registers named there (`"<unit>/<service>/<key>"`)
    /// are polled; names the scan result does not have are ignored.
    #[pyo3(signature = (bridge, scan_json, only=None))]
    fn use_scan(
        &self,
        bridge: &BridgeCore,
        scan_json: &str,
        only: Option<HashSet<String>>,
    ) -> PyResult<u64> {
        let result = parse_scan(scan_json)?;
        let (ledger, state, slow_every) = (self.ledger, Arc::clone(&self.state), self.slow_every);
        self.run(bridge, move |_| async move {
            let mut state = state.lock().await;
            state.poller = Some(poller_for(ledger, &result, slow_every, only.as_ref()));
            state.scan = Some(result);
            Ok(())
        })
    }

    /// Delivers the planned registers and request counts as JSON (after a scan).
    fn plan_json(&self, bridge: &BridgeCore) -> PyResult<u64> {
        let (state, ledger) = (Arc::clone(&self.state), self.ledger);
        self.run(bridge, move |_| async move {
            let state = state.lock().await;
            let (Some(scan), Some(poller)) = (&state.scan, &state.poller) else {
                return Err(no_scan_yet());
            };
            let devices = scan.plan_devices(ledger);
            Ok(serde_json::to_string(&poller.view(&devices))?)
        })
    }

    /// Reads every due block; delivers the values (in plan order) and what changed.
    fn poll(&self, bridge: &BridgeCore) -> PyResult<u64> {
        let (transport, state) = (self.transport.clone(), Arc::clone(&self.state));
        self.run(bridge, move |_| async move {
            let mut state = state.lock().await;
            let Some(poller) = state.poller.as_mut() else {
                return Err(no_scan_yet());
            };
            let report = poller.poll(&transport).await;
            Ok(poller.output(report))
        })
    }

    /// Reads `count` registers; a Modbus exception reply is delivered as `DeviceException`.
    fn read_registers(
        &self,
        bridge: &BridgeCore,
        unit: u8,
        address: u16,
        count: u16,
    ) -> PyResult<u64> {
        let transport = self.transport.clone();
        self.run(bridge, move |_| async move {
            match transport.read(unit, address, count).await? {
                Reply::Words(words) => Ok(words),
                Reply::Exception(code) => Err(CoreError::Device {
                    code,
                    unit,
                    address,
                }),
                Reply::WriteAck => {
                    Err(TransportError::Malformed("write acknowledgement to a read".into()).into())
                }
            }
        })
    }

    /// Reads every register the adopted scan's devices serve (only the
    /// devices keyed `"<unit>/<service>"` in `devices`, when given) by the
    /// planner's blocks within `timeout` seconds, blanking the words of the
    /// registers keyed in `redact`; delivers the dump as JSON.
    #[pyo3(signature = (bridge, timeout, redact, devices=None))]
    fn raw_dump(
        &self,
        bridge: &BridgeCore,
        timeout: f64,
        redact: Vec<String>,
        devices: Option<Vec<String>>,
    ) -> PyResult<u64> {
        let within = seconds("timeout", timeout)?;
        let (transport, state, ledger) =
            (self.transport.clone(), Arc::clone(&self.state), self.ledger);
        let redact: HashSet<String> = redact.into_iter().collect();
        let wanted: Option<HashSet<String>> = devices.map(|keys| keys.into_iter().collect());
        self.run(bridge, move |_| async move {
            let deadline = tokio::time::Instant::now() + within;
            let scan = state.lock().await.scan.clone().ok_or_else(no_scan_yet)?;
            let devices: Vec<_> = scan
                .plan_devices(ledger)
                .into_iter()
                .filter(|device| {
                    let key = format!("{}/{}", device.unit, device.service.service_type());
                    wanted.as_ref().is_none_or(|wanted| wanted.contains(&key))
                })
                .collect();
            Ok(serde_json::to_string(
                &dump(&transport, &devices, &redact, deadline).await,
            )?)
        })
    }

    /// Whether the client was given limits (writes enabled).
    #[getter]
    fn writes_enabled(&self) -> bool {
        self.writer.limits().is_some()
    }

    /// A register's (min, max, step) under the limits; `WriteRefused` when
    /// writes are off or the register cannot be written. For text: (0, most
    /// characters, 1).
    fn write_range(
        &self,
        py: Python<'_>,
        unit: u8,
        service: &str,
        key: &str,
    ) -> PyResult<(f64, f64, f64)> {
        self.writer
            .range(unit, service, key)
            .map(|range| (range.min, range.max, range.step))
            .map_err(|err| super::writes::guard_error(py, err))
    }

    /// A register's write range as JSON: min, max, step, allowed codes, text, reason.
    fn write_range_json(
        &self,
        py: Python<'_>,
        unit: u8,
        service: &str,
        key: &str,
    ) -> PyResult<String> {
        let range = self
            .writer
            .range(unit, service, key)
            .map_err(|err| super::writes::guard_error(py, err))?;
        serde_json::to_string(&range)
            .map_err(|err| super::errors::LedgerError::new_err(err.to_string()))
    }

    /// Writes a value within the limits, reads it back and delivers the value
    /// read back; `WriteRefused` (nothing sent), `DeviceException`,
    /// `WriteNotConfirmed` or a connection error otherwise.
    fn write(
        &self,
        py: Python<'_>,
        bridge: &BridgeCore,
        unit: u8,
        service: &str,
        key: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<u64> {
        let value = write_value(value)?;
        let runtime = super::runtime::handle()?;
        // Queued now, on the caller's thread: the order of calls is the order of values.
        let pending = self
            .writer
            .submit(&runtime, unit, service, key, &value)
            .map_err(|err| super::writes::guard_error(py, err))?;
        self.run(bridge, move |_| async move { Ok(pending.await?) })
    }

    /// Request counters and latency percentiles as JSON.
    fn metrics_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.transport.metrics())
            .map_err(|err| super::errors::LedgerError::new_err(err.to_string()))
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.tasks.is_closing()
    }

    /// Ends every task of this client (each fails with "the client is
    /// closed"), waits for them, then closes the connection. Idempotent.
    fn close(&self, bridge: &BridgeCore) -> PyResult<u64> {
        let ended = self.tasks.close();
        let transport = self.transport.clone();
        Ok(spawn(bridge, None, move |_| async move {
            ended.await;
            transport.close().await;
            Ok(())
        })?)
    }
}
