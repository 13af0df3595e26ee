//! RFC 3161 timestamp tokens for Notarium (contract §9, docs/format.md
//! "RFC 3161 timestamps").
//!
//! - [`verify_token`]: checks a DER TimeStampToken offline: the CMS
//!   SignedData signature over its signed attributes (content-type,
//!   message-digest of the TSTInfo, ESSCertIDv2 of RFC 5816), the TSA
//!   certificate (extendedKeyUsage exactly timeStamping and critical,
//!   RFC 3161 §2.3; digitalSignature), its chain to a trust root at the
//!   token's genTime (the path validation of `notarium-core`), and the
//!   message imprint.
//! - [`TimestampRequest`]: builds a request (SHA-256 imprint, nonce,
//!   certReq) and checks a TSA's response to it.
//! - [`cades`]: CAdES detached signatures (the PDF seal, PAdES): the check
//!   ([`cades::verify_detached`]) and, with feature `sign`, the signer.
//! - `tsa::DevTsa` (feature `tsa`): the development TSA that answers a
//!   request with a signed token.
//!
//! Supported: SHA-256 imprints and digests, ECDSA P-256 with SHA-256 TSA
//! signatures, X.509 chains in the profile of `notarium-core` (ECDSA P-256).
//! Everything else is refused with a message that says what. The ASN.1 is
//! the RustCrypto crates' (`der`, `cms`, `x509-cert`, `x509-tsp`); this crate
//! only declares, with `der`, the few structures those crates lack or get
//! wrong (module `asn1`).
//! No I/O, no clock, no randomness: the caller gives times and nonces.
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations, missing_docs)]

mod asn1;
pub mod cades;
mod request;
#[cfg(feature = "tsa")]
pub mod tsa;
mod verify;

pub use request::TimestampRequest;
pub use verify::{TimestampInfo, TsaTrust, verify_token};

use der::asn1::ObjectIdentifier;

/// id-ct-TSTInfo 1.2.840.113549.1.9.16.1.4 (RFC 3161 §2.4.2).
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-aa-signingCertificateV2 1.2.840.113549.1.9.16.2.47 (RFC 5035, RFC 5816).
pub const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-aa-signingCertificate 1.2.840.113549.1.9.16.2.12 (RFC 2634, SHA-1).
pub const ID_AA_SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// id-kp-timeStamping 1.3.6.1.5.5.7.3.8 (RFC 3161 §2.3).
pub const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// The policy of the development TSA, 1.2.3.4.3161.1: unregistered, in the
/// style of OpenSSL's example TSA policy 1.2.3.4.1, so that no token of it
/// passes for a real TSA's. (Notarium's UUID arc 2.25.… and the example arc
/// 2.999 do not fit the OID type of `const-oid` 0.9.)
pub const DEV_TSA_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.3.4.3161.1");

/// Why a token, a request or a response is refused. Every message names the
/// check that failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampError {
    /// Not DER of the expected structure, or a field outside RFC 3161/5652.
    #[error("malformed timestamp {what}: {why}")]
    Malformed {
        /// token, request or response
        what: &'static str,
        /// what is wrong
        why: String,
    },
    /// An algorithm or form this verifier does not support.
    #[error("unsupported timestamp: {0}")]
    Unsupported(String),
    /// The TSA said no (PKIStatus rejection, waiting, ...).
    #[error("the TSA did not grant the timestamp: {0}")]
    NotGranted(String),
    /// The token is over other bytes than the ones expected.
    #[error("the token's message imprint is {got}, expected {expected} (SHA-256 of other data)")]
    WrongImprint {
        /// hex
        expected: String,
        /// hex
        got: String,
    },
    /// The token's nonce is not the request's.
    #[error("the token's nonce {got} is not the request's nonce {expected}")]
    WrongNonce {
        /// hex
        expected: String,
        /// hex, or "none"
        got: String,
    },
    /// The CMS signature or a signed attribute does not verify.
    #[error("the token's signature does not verify: {0}")]
    BadSignature(String),
    /// The TSA certificate may not sign timestamps.
    #[error("the TSA certificate \"{subject}\" is not acceptable: {why}")]
    BadTsaCertificate {
        /// subject text
        subject: String,
        /// the rule it breaks
        why: String,
    },
    /// The TSA certificate does not chain to a trusted root at genTime.
    #[error("the TSA is not trusted: {0}")]
    Untrusted(notarium_core::error::IdentityError),
}

pub(crate) fn malformed(what: &'static str, why: impl std::fmt::Display) -> TimestampError {
    TimestampError::Malformed { what, why: why.to_string() }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
