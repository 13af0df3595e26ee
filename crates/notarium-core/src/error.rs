//! One error enum per core concern, each with messages a court expert can read.
//! Each variant's `#[error]` message is its documentation.
#![allow(missing_docs)]

pub use notarium_x509::IdentityError;
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
}

impl FormatError {
    pub(crate) fn field(what: &'static str, why: impl Into<String>) -> Self {
        FormatError::Field { what, why: why.into() }
    }
}

/// Keys and signatures.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("bad policy \"{text}\": {why}")]
    Syntax { text: String, why: String },
    #[error("policy file, line {line}: {why}")]
    File { line: usize, why: String },
}
