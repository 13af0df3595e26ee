//! The pure verification core of Notarium.
//!
//! Formats and checks that courts rely on (see `docs/format.md`): the RFC 9162
//! Merkle log, C2SP signed notes, checkpoints and cosignatures, tlog-proof,
//! the log entry, the deposit certificate, X.509 identities, witness policies
//! and the verification itself. No I/O, no async, no database.
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations, missing_docs)]

pub mod certificate;
pub mod checkpoint;
pub mod cosignature;
pub mod encoding;
pub mod entry;
pub mod error;
pub mod identity;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod proof;
pub mod receipt;
pub mod time;
pub mod tlog_policy;
pub mod verify;

pub use certificate::CertificateJson;
pub use identity::{Role, TrustRoots};
pub use merkle::Hash;
pub use policy::Policy;
pub use verify::{CheckId, Kind, Report, Status, Verifier};
