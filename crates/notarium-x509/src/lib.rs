//! Notarium's X.509 profile, kept apart from the verification core the way
//! rustls keeps certificate path validation in webpki: ECDSA P-256 keys,
//! PEM, certificates, RFC 5280 certification paths and CRLs. What a
//! certificate may sign for Notarium (roles, the signer EKU) is the core's
//! (`notarium_core::identity`).
//!
//! The profile is small on purpose, for an expert to audit: every
//! certificate is v3, signed with ecdsa-with-SHA256 by a P-256 key; issuers
//! are matched by exact subject bytes and must be CAs (basicConstraints cA,
//! keyCertSign); at most [`MAX_INTERMEDIATES`] intermediates, and at most
//! [`MAX_ISSUER_CANDIDATES`] same-name candidates tried per issuer; an
//! unrecognised or unparseable critical extension refuses the certificate.
//! No clock, randomness or I/O: the caller gives every time.
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations, missing_docs)]

mod cert;
mod crl;
mod key;
pub mod pem;
mod roots;

pub use cert::{ANY_EKU, CertInfo, TIME_STAMPING_EKU};
pub use crl::Crl;
pub use key::VerifyingKey;
pub use roots::{MAX_INTERMEDIATES, MAX_ISSUER_CANDIDATES, TrustRoots};

/// What went wrong with a key, a certificate, a path or a PEM file, in words
/// a court's expert can read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)] // each variant's message is its documentation
pub enum IdentityError {
    #[error("certificate cannot be read: {0}")]
    Malformed(String),
    #[error("certificate \"{subject}\" is not acceptable: {why}")]
    Unacceptable { subject: String, why: String },
    #[error("certificate \"{0}\" does not chain to a configured trust root")]
    UntrustedChain(String),
    #[error(
        "certificate \"{subject}\" is not valid at {at}: valid from {not_before} to {not_after}"
    )]
    NotValidAt {
        subject: String,
        at: String,
        not_before: String,
        not_after: String,
    },
    #[error("no trust root is configured")]
    NoTrustRoots,
    #[error("malformed PEM: {0}")]
    Pem(String),
    #[error("not an ECDSA P-256 public key (SubjectPublicKeyInfo): {0}")]
    BadPublicKey(String),
    #[error("signature does not verify")]
    BadSignature,
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds (times outside 1970..9999 as a number).
pub fn seconds_text(s: i64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    match time::OffsetDateTime::from_unix_timestamp(s) {
        Ok(t) if (0..=253_402_300_799).contains(&s) => t.format(FORMAT).expect("a 4-digit year"),
        _ => s.to_string(),
    }
}

/// Reads every CERTIFICATE block of a PEM file.
pub fn certs_from_pem_file(text: &str) -> Result<Vec<CertInfo>, IdentityError> {
    let blocks = pem::pem_decode_all(text)?;
    blocks
        .iter()
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| CertInfo::from_der(&b.der))
        .collect()
}

/// SHA-256 of `data`.
fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn seconds_text_writes_utc_seconds() {
        assert_eq!(super::seconds_text(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::seconds_text(1_764_849_600), "2025-12-04T12:00:00Z");
        assert_eq!(super::seconds_text(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(super::seconds_text(253_402_300_800), "253402300800");
        assert_eq!(super::seconds_text(-1), "-1");
    }
}
