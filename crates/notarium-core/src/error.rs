//! One error enum per core concern, each with messages a court expert can read.
//! Each variant's `#[error]` message is its documentation.
#![allow(missing_docs)]

use thiserror::Error;

/// Merkle tree maths and proofs (RFC 9162 §2.1).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MerkleError {
    #[error("leaf index {index} is not inside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {old} is larger than tree size {new}")]
    SizeOutOfRange { old: u64, new: u64 },
    #[error("inclusion proof does not verify: {0}")]
    BadInclusionProof(String),
    #[error("consistency proof does not verify: {0}")]
    BadConsistencyProof(String),
}

/// Text formats: signed notes, checkpoints, tlog-proof, entries, encodings.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    #[error("malformed signed note: {0}")]
    Note(String),
    #[error("malformed checkpoint: {0}")]
    Checkpoint(String),
    #[error("malformed tlog-proof: {0}")]
    Proof(String),
    #[error("malformed entry: {0}")]
    Entry(String),
    #[error("malformed {what}: {why}")]
    Field { what: &'static str, why: String },
    #[error("malformed PEM: {0}")]
    Pem(String),
}

impl FormatError {
    pub(crate) fn field(what: &'static str, why: impl Into<String>) -> Self {
        FormatError::Field { what, why: why.into() }
    }
}

/// Keys and signatures.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    #[error("not an ECDSA P-256 public key (SubjectPublicKeyInfo): {0}")]
    BadPublicKey(String),
    #[error("signature does not verify")]
    BadSignature,
}

/// X.509 certificates and trust.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    NotValidAt { subject: String, at: String, not_before: String, not_after: String },
    #[error("no trust root is configured")]
    NoTrustRoots,
}

/// Witness policies.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("bad policy \"{text}\": {why}")]
    Syntax { text: String, why: String },
    #[error("policy file, line {line}: {why}")]
    File { line: usize, why: String },
}
