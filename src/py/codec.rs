//! Ledger and codec functions of the Python surface.

use pyo3::prelude::*;

use super::errors::{CodecError, LedgerError};
use crate::codec::{self, RegisterType, Value};
use crate::ledger;

/// The compiled register ledger as JSON text (services with their registers).
#[pyfunction]
pub fn ledger_json() -> PyResult<String> {
    let ledger = ledger::embedded()?;
    serde_json::to_string(ledger).map_err(|err| LedgerError::new_err(err.to_string()))
}

/// A decoded value on its way to Python: int, float or str; None for the
/// "not available" sentinel (and, as an `Option`, for a register that could
/// not be read).
impl<'py> IntoPyObject<'py> for Value {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        Ok(match self {
            Value::Int(int) => int.into_pyobject(py)?.into_any(),
            Value::Float(float) => float.into_pyobject(py)?.into_any(),
            Value::Text(text) => text.into_pyobject(py)?.into_any(),
            Value::NotAvailable => py.None().into_bound(py),
        })
    }
}

/// Decode register words of a type (`"int16"`, `"string[8]"`, ...) with a scale;
/// `None` when the words hold the "not available" sentinel.
#[pyfunction]
pub fn decode(register_type: &str, scale: f64, words: Vec<u16>) -> PyResult<Value> {
    let register_type: RegisterType = register_type.parse()?;
    Ok(codec::decode(register_type, scale, &words)?)
}

/// Encode a number (or text for string types) into register words, range checked.
#[pyfunction]
pub fn encode(register_type: &str, scale: f64, value: &Bound<'_, PyAny>) -> PyResult<Vec<u16>> {
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
