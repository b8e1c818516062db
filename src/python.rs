//! The PyO3 surface of the core: `victron_gx_modbus._core`.
//!
//! Only conversion lives here; every error becomes a typed Python exception
//! (never a panic across the boundary).

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use crate::codec::{self, RegisterType, Value};
use crate::ledger;

create_exception!(
    _core,
    VictronError,
    PyException,
    "Base of every error raised by the core."
);
create_exception!(
    _core,
    LedgerError,
    VictronError,
    "The compiled register ledger is unusable."
);
create_exception!(
    _core,
    CodecError,
    VictronError,
    "A value could not be decoded or encoded."
);

impl From<ledger::LedgerError> for PyErr {
    fn from(err: ledger::LedgerError) -> Self {
        LedgerError::new_err(err.to_string())
    }
}

impl From<codec::CodecError> for PyErr {
    fn from(err: codec::CodecError) -> Self {
        CodecError::new_err(err.to_string())
    }
}

/// The compiled register ledger as JSON text (services with their registers).
#[pyfunction]
fn ledger_json() -> PyResult<String> {
    let ledger = ledger::embedded()?;
    serde_json::to_string(ledger).map_err(|err| LedgerError::new_err(err.to_string()))
}

fn value_to_py(py: Python<'_>, value: Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Int(int) => int.into_pyobject(py)?.into_any().unbind(),
        Value::Float(float) => float.into_pyobject(py)?.into_any().unbind(),
        Value::Text(text) => text.into_pyobject(py)?.into_any().unbind(),
        Value::NotAvailable => py.None(),
    })
}

/// Decode register words of a type (`"int16"`, `"string[8]"`, ...) with a scale;
/// `None` when the words hold the "not available" sentinel.
#[pyfunction]
fn decode(py: Python<'_>, register_type: &str, scale: f64, words: Vec<u16>) -> PyResult<Py<PyAny>> {
    let register_type: RegisterType = register_type.parse()?;
    value_to_py(py, codec::decode(register_type, scale, &words)?)
}

/// Encode a number (or text for string types) into register words, range checked.
#[pyfunction]
fn encode(register_type: &str, scale: f64, value: &Bound<'_, PyAny>) -> PyResult<Vec<u16>> {
    let register_type: RegisterType = register_type.parse()?;
    if let RegisterType::Str(_) = register_type {
        let text: String = value
            .extract()
            .map_err(|_| CodecError::new_err(format!("a {register_type} register takes text")))?;
        return Ok(codec::encode_text(register_type, &text)?);
    }
    let number: f64 = value
        .extract()
        .map_err(|_| CodecError::new_err(format!("a {register_type} register takes a number")))?;
    Ok(codec::encode(register_type, scale, number)?)
}

/// The Python module `victron_gx_modbus._core`.
#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    // Rust `log` records go to Python logging (logger "victron_gx_modbus._core").
    pyo3_log::try_init().ok();
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add("VictronError", py.get_type::<VictronError>())?;
    module.add("LedgerError", py.get_type::<LedgerError>())?;
    module.add("CodecError", py.get_type::<CodecError>())?;
    module.add_function(wrap_pyfunction!(ledger_json, module)?)?;
    module.add_function(wrap_pyfunction!(decode, module)?)?;
    module.add_function(wrap_pyfunction!(encode, module)?)?;
    Ok(())
}
