//! The Python exception hierarchy of the core and the conversions into it.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use crate::codec;
use crate::ledger;
use crate::sim::{ScenarioError, SimError};

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
create_exception!(
    _core,
    SimulatorError,
    VictronError,
    "The GX simulator could not start or do what was asked."
);

/// Registers the exception types on the module.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("VictronError", py.get_type::<VictronError>())?;
    module.add("LedgerError", py.get_type::<LedgerError>())?;
    module.add("CodecError", py.get_type::<CodecError>())?;
    module.add("SimulatorError", py.get_type::<SimulatorError>())?;
    Ok(())
}

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

impl From<SimError> for PyErr {
    fn from(err: SimError) -> Self {
        SimulatorError::new_err(err.to_string())
    }
}

impl From<ScenarioError> for PyErr {
    fn from(err: ScenarioError) -> Self {
        SimulatorError::new_err(err.to_string())
    }
}
