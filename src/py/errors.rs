//! The Python exception hierarchy of the core and the conversions into it.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use crate::codec;
use crate::discovery::ScanError;
use crate::ledger;
use crate::mqtt::{MqttError, MqttScanError};
use crate::sim::{ScenarioError, SimError};
use crate::transport::TransportError;

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
create_exception!(
    _core,
    GXConnectionError,
    VictronError,
    "The GX could not be reached or the connection was lost."
);
create_exception!(
    _core,
    GXTimeoutError,
    GXConnectionError,
    "The GX did not answer in time."
);
create_exception!(
    _core,
    GXProtocolError,
    GXConnectionError,
    "The GX sent a reply that does not fit the request, or what answered is not Modbus TCP."
);
create_exception!(
    _core,
    ScanDataError,
    VictronError,
    "A scan result is missing, unreadable or not from a GX."
);

/// Registers the exception types on the module.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("VictronError", py.get_type::<VictronError>())?;
    module.add("LedgerError", py.get_type::<LedgerError>())?;
    module.add("CodecError", py.get_type::<CodecError>())?;
    module.add("SimulatorError", py.get_type::<SimulatorError>())?;
    module.add("GXConnectionError", py.get_type::<GXConnectionError>())?;
    module.add("GXTimeoutError", py.get_type::<GXTimeoutError>())?;
    module.add("GXProtocolError", py.get_type::<GXProtocolError>())?;
    module.add("ScanDataError", py.get_type::<ScanDataError>())?;
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

/// The Python exception for a transport failure.
pub fn transport_error(err: &TransportError) -> PyErr {
    match err {
        TransportError::Timeout(_) => GXTimeoutError::new_err(err.to_string()),
        TransportError::Malformed(_) | TransportError::Protocol(_) => {
            GXProtocolError::new_err(err.to_string())
        }
        TransportError::Connect { .. }
        | TransportError::ConnectionLost(_)
        | TransportError::Closed => GXConnectionError::new_err(err.to_string()),
    }
}

/// The failure of a core task. It crosses threads as plain Rust data and
/// becomes a Python exception only on the event loop's thread, when it is
/// delivered: a tokio thread never creates or touches a Python object.
#[derive(Debug)]
pub enum CoreError {
    /// No Modbus reply (connection, timeout, malformed reply, closed client).
    Transport(TransportError),
    /// A Modbus exception reply.
    Device {
        /// Modbus exception code.
        code: u8,
        /// Unit ID asked.
        unit: u8,
        /// Start address asked.
        address: u16,
    },
    /// A scan result is missing, unreadable or not from a GX.
    ScanData(String),
    /// The compiled ledger is unusable (or JSON could not be written).
    Ledger(String),
    /// The simulator could not do what was asked.
    Simulator(String),
    /// The core's runtime has shut down (the interpreter is exiting).
    ShutDown,
    /// A write refused by the guard, failed at the GX or not confirmed.
    Guard(crate::guard::GuardError),
    /// The GX's MQTT showed another certificate than the trusted one.
    MqttCertificateChanged {
        /// What happened, for people.
        message: String,
        /// The fingerprint shown now.
        seen: String,
        /// The fingerprint that was trusted.
        expected: String,
    },
    /// A bug: a task of the core panicked (the message says where).
    Internal(String),
}

impl CoreError {
    /// The Python exception (needs the GIL: called where results are delivered).
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            Self::Transport(err) => transport_error(&err),
            Self::Device {
                code,
                unit,
                address,
            } => device_exception(py, code, unit, address),
            Self::ScanData(message) => ScanDataError::new_err(message),
            Self::Ledger(message) => LedgerError::new_err(message),
            Self::Simulator(message) => SimulatorError::new_err(message),
            Self::ShutDown => {
                VictronError::new_err("the core has shut down (the interpreter is exiting)")
            }
            Self::Guard(err) => super::writes::guard_error(py, err),
            Self::MqttCertificateChanged {
                message,
                seen,
                expected,
            } => {
                super::writes::python_error(py, "MqttCertificateChanged", (message, seen, expected))
            }
            Self::Internal(message) => {
                VictronError::new_err(format!("internal error in the core: {message}"))
            }
        }
    }
}

/// For synchronous methods only: they run on a Python thread.
impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> Self {
        Python::attach(|py| err.into_pyerr(py))
    }
}

impl From<TransportError> for CoreError {
    fn from(err: TransportError) -> Self {
        Self::Transport(err)
    }
}

impl From<crate::guard::GuardError> for CoreError {
    fn from(err: crate::guard::GuardError) -> Self {
        Self::Guard(err)
    }
}

impl From<ScanError> for CoreError {
    fn from(err: ScanError) -> Self {
        match err {
            ScanError::Transport(err) => Self::Transport(err),
            ScanError::Ledger(err) => Self::Ledger(err.to_string()),
            err @ ScanError::NotAGx(_) => Self::ScanData(err.to_string()),
        }
    }
}

impl From<MqttScanError> for CoreError {
    fn from(err: MqttScanError) -> Self {
        match err {
            MqttScanError::Scan(err) => err.into(),
            MqttScanError::Certificate(MqttError::CertificateChanged { expected, seen }) => {
                Self::MqttCertificateChanged {
                    message: MqttError::CertificateChanged { expected, seen }.to_string(),
                    seen: seen.to_string(),
                    expected: expected.to_string(),
                }
            }
            MqttScanError::Certificate(err) => {
                Self::Internal(format!("unexpected MQTT outcome: {err}"))
            }
        }
    }
}

impl From<SimError> for CoreError {
    fn from(err: SimError) -> Self {
        Self::Simulator(err.to_string())
    }
}

impl From<serde_json::Error> for CoreError {
    fn from(err: serde_json::Error) -> Self {
        Self::Ledger(format!("JSON: {err}"))
    }
}

/// `victron_gx_modbus.errors.DeviceException(code, message)` (defined in Python,
/// so that it carries the Modbus code as an attribute).
fn device_exception(py: Python<'_>, code: u8, unit: u8, address: u16) -> PyErr {
    let message = format!("unit {unit} answered exception {code:#04x} for address {address}");
    match py
        .import("victron_gx_modbus.errors")
        .and_then(|module| module.getattr("DeviceException"))
        .and_then(|class| class.call1((code, message)))
    {
        Ok(instance) => PyErr::from_value(instance),
        Err(err) => err,
    }
}
