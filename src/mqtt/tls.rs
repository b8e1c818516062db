//! TLS to the GX's MQTT (port 8883), trusted on first use: a GX's broker
//! shows a self-signed certificate, so no authority vouches for it. What
//! stands in for one is the certificate's SHA-256 fingerprint, which the
//! user has seen once and the caller passes on every later connection.
//!
//! The verifier accepts exactly the certificate whose fingerprint is
//! expected (and checks that the server holds its key: the handshake's
//! signature is verified as usual). Without an expected fingerprint it
//! accepts nothing: the handshake stops at the certificate, before a
//! password or any MQTT packet has left, and the fingerprint it saw is
//! reported so that a flow can show it and ask.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The SHA-256 fingerprint of a certificate (of its DER encoding), shown as
/// 32 upper-case hex pairs joined by colons, as `openssl x509 -fingerprint
/// -sha256` shows it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of(der: &[u8]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut bytes = [0; 32];
        bytes.copy_from_slice(digest.as_ref());
        Self(bytes)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, byte) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Why a text is not a SHA-256 fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a SHA-256 fingerprint ({0}): expected 64 hex digits, in pairs optionally separated by ':'"
)]
pub struct FingerprintError(String);

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    /// 64 hex digits, either case, optionally as pairs separated by colons
    /// (`AB:CD:...`); surrounding white space is ignored.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let digits: Vec<u8> = if text.contains(':') {
            let pairs: Vec<&str> = text.split(':').collect();
            if pairs.iter().any(|pair| pair.len() != 2) {
                return Err(FingerprintError(
                    "colons must separate pairs of digits".into(),
                ));
            }
            pairs.concat().into_bytes()
        } else {
            text.as_bytes().to_vec()
        };
        if digits.len() != 64 {
            return Err(FingerprintError(format!("{} digits", digits.len())));
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| FingerprintError("not hex".into()))?;
            *byte = u8::from_str_radix(pair, 16)
                .map_err(|_| FingerprintError(format!("'{pair}' is not hex")))?;
        }
        Ok(Self(bytes))
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// In JSON a fingerprint is its text (`AB:CD:...`).
#[cfg(test)]
impl schemars::JsonSchema for Fingerprint {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Fingerprint".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The fingerprint a handshake saw, kept for the caller after the handshake
/// (failed or not) is over.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen(Arc<Mutex<Option<Fingerprint>>>);

impl Seen {
    fn set(&self, fingerprint: Fingerprint) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(fingerprint);
    }

    /// The fingerprint of the certificate the server showed, if it showed one.
    pub(crate) fn get(&self) -> Option<Fingerprint> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Accepts the one certificate whose fingerprint is expected (none when
/// nothing is expected) and records the one it saw.
#[derive(Debug)]
struct Pinned {
    expected: Option<Fingerprint>,
    seen: Seen,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Names and dates do not apply: a GX's self-signed certificate names
        // whatever it was made for and is trusted as the user saw it.
        let seen = Fingerprint::of(end_entity.as_ref());
        self.seen.set(seen);
        if self.expected == Some(seen) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The cryptography of both ends (client, and the simulator's broker): ring.
/// rustls 0.23.48 marks ring's provider deprecated for lacking post-quantum
/// key exchange, which only aws-lc-rs offers; aws-lc-rs would add a large C
/// build (and cross-builds of it) to every wheel, for a LAN connection whose
/// trust rests on a fingerprint the user saw, so ring stays.
#[allow(deprecated)]
pub fn tls_provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// A client configuration that trusts only `expected` (nothing when `None`),
/// and where the fingerprint the server showed will be found.
pub(crate) fn client_config(
    expected: Option<Fingerprint>,
) -> Result<(Arc<ClientConfig>, Seen), rustls::Error> {
    let provider = Arc::new(tls_provider());
    let seen = Seen::default();
    let verifier = Pinned {
        expected,
        seen: seen.clone(),
        provider: Arc::clone(&provider),
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok((Arc::new(config), seen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_and_show_as_openssl_does() {
        let fingerprint = Fingerprint::of(b"certificate");
        let shown = fingerprint.to_string();
        assert_eq!(shown.len(), 32 * 3 - 1);
        assert_eq!(shown.parse::<Fingerprint>(), Ok(fingerprint));
        assert_eq!(shown.to_lowercase().parse::<Fingerprint>(), Ok(fingerprint));
        assert_eq!(
            shown.replace(':', "").parse::<Fingerprint>(),
            Ok(fingerprint)
        );
        assert_eq!(
            format!(" {shown}\n").parse::<Fingerprint>(),
            Ok(fingerprint)
        );
        // SHA-256 of the empty input, a known value.
        assert_eq!(
            Fingerprint::of(b"").to_string().replace(':', ""),
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
        );
    }

    #[test]
    fn anything_else_is_refused() {
        let shown = Fingerprint::of(b"x").to_string();
        for bad in [
            "",
            "AB",
            &shown[..shown.len() - 3],
            &format!("{shown}:00"),
            &shown.replacen(':', "", 1),
            &format!("Z{}", &shown[1..]),
            &"é".repeat(32),
        ] {
            assert!(bad.parse::<Fingerprint>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fingerprints_serialize_as_text() {
        let fingerprint = Fingerprint::of(b"y");
        let json = serde_json::to_string(&fingerprint).expect("json");
        assert_eq!(json, format!("\"{fingerprint}\""));
        let back: Fingerprint = serde_json::from_str(&json).expect("back");
        assert_eq!(back, fingerprint);
        assert!(serde_json::from_str::<Fingerprint>("\"AB\"").is_err());
    }
}
