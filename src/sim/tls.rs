//! The TLS side of the simulator's MQTT face: a self-signed certificate
//! made at start, as a GX makes its own, that a test can replace (a reset
//! or replaced GX shows a new one).

use std::sync::{Arc, Mutex, PoisonError};

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use super::server::SimError;
use crate::mqtt::Fingerprint;

/// The names the certificate is made for (a GX's own name on the LAN, and
/// loopback); clients trust it by fingerprint, not by name.
const NAMES: [&str; 2] = ["venus.local", "localhost"];

/// A certificate and the acceptor that shows it.
#[derive(Clone)]
struct Current {
    acceptor: TlsAcceptor,
    fingerprint: Fingerprint,
}

/// The face's certificate, replaceable while it serves (connections already
/// made keep theirs).
pub(super) struct Certificate(Mutex<Current>);

impl Certificate {
    /// A new self-signed certificate.
    pub(super) fn generate() -> Result<Self, SimError> {
        Ok(Self(Mutex::new(make()?)))
    }

    /// The acceptor new connections go through.
    pub(super) fn acceptor(&self) -> TlsAcceptor {
        self.lock().acceptor.clone()
    }

    /// The SHA-256 fingerprint of the certificate shown now.
    pub(super) fn fingerprint(&self) -> Fingerprint {
        self.lock().fingerprint
    }

    /// Replaces the certificate with a new one; returns its fingerprint.
    pub(super) fn rotate(&self) -> Result<Fingerprint, SimError> {
        let next = make()?;
        let fingerprint = next.fingerprint;
        *self.lock() = next;
        Ok(fingerprint)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fresh key pair (ECDSA P-256), its self-signed certificate and a server
/// configuration that shows it.
fn make() -> Result<Current, SimError> {
    let tls = |err: &dyn std::fmt::Display| SimError::Tls(err.to_string());
    let names: Vec<String> = NAMES.iter().map(|&name| name.to_owned()).collect();
    let made = rcgen::generate_simple_self_signed(names).map_err(|err| tls(&err))?;
    let der = made.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let fingerprint = Fingerprint::of(der.as_ref());
    let config = ServerConfig::builder_with_provider(Arc::new(crate::mqtt::tls_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|err| tls(&err))?
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .map_err(|err| tls(&err))?;
    Ok(Current {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_certificate_is_another_one() {
        let certificate = Certificate::generate().expect("certificate");
        let first = certificate.fingerprint();
        let second = certificate.rotate().expect("rotate");
        assert_ne!(first, second);
        assert_eq!(certificate.fingerprint(), second);
    }
}
