//! Guarded writes on the Python side: the frozen `Limits` class (validated
//! by the core) and the exceptions of refused or unconfirmed writes.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::errors::VictronError;
use crate::guard::{Battery, GuardError, LimitOptions, Limits, PowerScope, Refusal, WriteValue};

/// The user's electrical set-up, validated by the core (`victron_gx_modbus.Limits`).
#[pyclass(module = "victron_gx_modbus._core", name = "Limits", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct PyLimits {
    pub(super) inner: Limits,
}

#[pymethods]
impl PyLimits {
    /// Validates the options; a nonsense value raises `LimitsError`.
    #[new]
    #[pyo3(signature = (*, ac_voltage, phases, ac_current, dc_current, battery, battery_min_voltage=None, battery_max_voltage=None, power_limit=None, power_per_phase=true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        ac_voltage: f64,
        phases: &str,
        ac_current: f64,
        dc_current: f64,
        battery: &str,
        battery_min_voltage: Option<f64>,
        battery_max_voltage: Option<f64>,
        power_limit: Option<f64>,
        power_per_phase: bool,
    ) -> PyResult<Self> {
        let build = || {
            Limits::new(LimitOptions {
                ac_voltage,
                phases: phases.parse()?,
                ac_current,
                dc_current,
                battery: Battery::parse(battery, battery_min_voltage, battery_max_voltage)?,
                power_limit,
                power_scope: if power_per_phase {
                    PowerScope::PerPhase
                } else {
                    PowerScope::Total
                },
            })
        };
        build()
            .map(|inner| Self { inner })
            .map_err(|err| python_error(py, "LimitsError", (err.to_string(), err.option)))
    }

    /// Nominal AC voltage of one phase leg (V).
    #[getter]
    fn ac_voltage(&self) -> f64 {
        self.inner.options().ac_voltage
    }

    /// `single`, `split` or `three`.
    #[getter]
    fn phases(&self) -> String {
        self.inner.options().phases.to_string()
    }

    /// AC current per phase (A).
    #[getter]
    fn ac_current(&self) -> f64 {
        self.inner.options().ac_current
    }

    /// DC current (A).
    #[getter]
    fn dc_current(&self) -> f64 {
        self.inner.options().dc_current
    }

    /// The battery profile's name.
    #[getter]
    fn battery(&self) -> String {
        self.inner.options().battery.name()
    }

    /// A custom battery's lowest voltage (None for the named profiles).
    #[getter]
    fn battery_min_voltage(&self) -> Option<f64> {
        match self.inner.options().battery {
            Battery::Custom { min, .. } => Some(min),
            _ => None,
        }
    }

    /// A custom battery's highest voltage (None for the named profiles).
    #[getter]
    fn battery_max_voltage(&self) -> Option<f64> {
        match self.inner.options().battery {
            Battery::Custom { max, .. } => Some(max),
            _ => None,
        }
    }

    /// An extra AC power limit (W), if any.
    #[getter]
    fn power_limit(&self) -> Option<f64> {
        self.inner.options().power_limit
    }

    /// Whether `power_limit` applies per phase (else to all phases together).
    #[getter]
    fn power_per_phase(&self) -> bool {
        self.inner.options().power_scope == PowerScope::PerPhase
    }

    /// The options as keyword arguments: `Limits(**limits.as_dict())` is equal.
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("ac_voltage", self.ac_voltage())?;
        dict.set_item("phases", self.phases())?;
        dict.set_item("ac_current", self.ac_current())?;
        dict.set_item("dc_current", self.dc_current())?;
        dict.set_item("battery", self.battery())?;
        dict.set_item("battery_min_voltage", self.battery_min_voltage())?;
        dict.set_item("battery_max_voltage", self.battery_max_voltage())?;
        dict.set_item("power_limit", self.power_limit())?;
        dict.set_item("power_per_phase", self.power_per_phase())?;
        Ok(dict)
    }

    /// What the limits work out to: AC power per phase and total (W), the
    /// DC voltage window (V) and DC power (W).
    fn derived<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let derived = self.inner.derived();
        let dict = PyDict::new(py);
        dict.set_item("ac_power_phase", derived.ac_power_phase)?;
        dict.set_item("ac_power_total", derived.ac_power_total)?;
        dict.set_item("dc_voltage_min", derived.dc_voltage_min)?;
        dict.set_item("dc_voltage_max", derived.dc_voltage_max)?;
        dict.set_item("dc_power", derived.dc_power)?;
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        let options = self.inner.options();
        let battery = match options.battery {
            Battery::Custom { min, max } => {
                format!("'custom', battery_min_voltage={min}, battery_max_voltage={max}")
            }
            other => format!("{:?}", other.name()),
        };
        let power = options
            .power_limit
            .map_or_else(|| "None".to_owned(), |p| p.to_string());
        format!(
            "Limits(ac_voltage={}, phases={:?}, ac_current={}, dc_current={}, battery={battery}, power_limit={power}, power_per_phase={})",
            options.ac_voltage,
            options.phases.to_string(),
            options.ac_current,
            options.dc_current,
            if self.power_per_phase() { "True" } else { "False" },
        )
    }
}

/// An exception class defined in `victron_gx_modbus.errors`, called with `args`.
pub(super) fn python_error<'py, A>(py: Python<'py>, class: &str, args: A) -> PyErr
where
    A: pyo3::call::PyCallArgs<'py>,
{
    match py
        .import("victron_gx_modbus.errors")
        .and_then(|module| module.getattr(class))
        .and_then(|class| class.call1(args))
    {
        Ok(instance) => PyErr::from_value(instance),
        Err(err) => err,
    }
}

/// A value for Python: a float or a str.
fn value_object<'py>(py: Python<'py>, value: Option<&WriteValue>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Some(WriteValue::Number(number)) => number.into_pyobject(py)?.into_any(),
        Some(WriteValue::Text(text)) => text.into_pyobject(py)?.into_any(),
        None => py.None().into_bound(py),
    })
}

fn write_refused(py: Python<'_>, refusal: &Refusal) -> PyErr {
    let value = match value_object(py, refusal.value.as_ref()) {
        Ok(value) => value,
        Err(err) => return err,
    };
    python_error(
        py,
        "WriteRefused",
        (
            refusal.to_string(),
            refusal.register.clone(),
            refusal.address,
            value,
            refusal.min,
            refusal.max,
            refusal.step,
            refusal.allowed.clone(),
            refusal.reason.clone(),
        ),
    )
}

/// The Python exception of a failed or refused write (on the loop's thread).
pub fn guard_error(py: Python<'_>, err: GuardError) -> PyErr {
    let message = err.to_string();
    match err {
        GuardError::Refused(refusal) => write_refused(py, &refusal),
        GuardError::Device { code, .. } => python_error(py, "DeviceException", (code, message)),
        GuardError::Transport(err) => super::errors::transport_error(&err),
        GuardError::NotConfirmed {
            register,
            written,
            read_back,
        } => python_error(
            py,
            "WriteNotConfirmed",
            (message, register, written, read_back),
        ),
    }
}

/// A Python value to write: text stays text, anything else must be a number.
pub fn write_value(value: &Bound<'_, PyAny>) -> PyResult<WriteValue> {
    if let Ok(text) = value.extract::<String>() {
        return Ok(WriteValue::Text(text));
    }
    value.extract::<f64>().map(WriteValue::Number).map_err(|_| {
        VictronError::new_err(format!(
            "a value to write is a number or text, not {}",
            value
                .get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |n| n.to_string())
        ))
    })
}
