//! The register ledger compiled in from `register_ledgers/`.

mod model;
mod reading;
mod validate;

use std::sync::LazyLock;

use serde::Serialize;

pub use model::{
    Appearance, EntityCategory, HaMeta, Platform, Register, Sentinel, Service, WriteBound,
    WriteSpec,
};
pub use reading::decode_reading;
pub use validate::validate;

include!(concat!(env!("OUT_DIR"), "/ledger_files.rs"));

/// Why the embedded ledger could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// A ledger file is not valid JSON of the expected shape.
    #[error("ledger file {file}.json: {message}")]
    Parse {
        /// File stem.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// The ledger breaks a consistency rule.
    #[error("ledger is inconsistent: {0}")]
    Invalid(String),
}

/// Orders register-list labels: numbered releases ("3.66") before document
/// revisions ("rev53"), each numerically.
pub fn list_rank(label: &str) -> (u8, u32) {
    if let Some(rev) = label
        .strip_prefix("rev")
        .and_then(|n| n.parse::<u32>().ok())
    {
        return (1, rev);
    }
    let mut parts = label.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (0, major * 1000 + minor)
}

/// Every service type and its registers.
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ledger {
    /// Services in file-name order.
    pub services: Vec<Service>,
}

impl Ledger {
    /// Parses ledger files given as (file stem, JSON text).
    pub fn parse(files: &[(&str, &str)]) -> Result<Self, LedgerError> {
        let services = files
            .iter()
            .map(|(file, text)| {
                serde_json::from_str::<Service>(text).map_err(|err| LedgerError::Parse {
                    file: (*file).to_owned(),
                    message: err.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { services })
    }

    /// The service of a short type name (`vebus`).
    pub fn service(&self, service_type: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|service| service.service_type() == service_type)
    }

    /// Number of registers over all services.
    pub fn register_count(&self) -> usize {
        self.services.iter().map(|s| s.registers.len()).sum()
    }
}

static EMBEDDED: LazyLock<Result<Ledger, LedgerError>> = LazyLock::new(|| {
    let ledger = Ledger::parse(LEDGER_FILES)?;
    let problems = validate(&ledger);
    if problems.is_empty() {
        Ok(ledger)
    } else {
        Err(LedgerError::Invalid(problems.join("; ")))
    }
});

/// The ledger compiled into this build, parsed and validated once.
pub fn embedded() -> Result<&'static Ledger, LedgerError> {
    EMBEDDED.as_ref().map_err(Clone::clone)
}
