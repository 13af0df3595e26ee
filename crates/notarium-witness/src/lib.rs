//! The Notarium witness node: what a court or an arbitration commission runs
//! to cosign the notary's checkpoints (C2SP tlog-witness, with the ECDSA
//! P-256 cosignatures of the Notarium contract §3-4).
//!
//! - [`protocol`]: the add-checkpoint request body, parsed strictly;
//! - [`witness`]: the tlog-witness rules, over any [`state::WitnessState`];
//! - [`state`]: the narrow state interface and its SQLite implementation
//!   (atomic, durable, group-committed);
//! - [`http`]: the actix-web service and the one status mapping;
//! - [`config`]: the TOML configuration, validated at start;
//! - [`metrics`]: Prometheus text exposition.
//!
//! Without the default feature `server`, only the protocol, the rules and
//! the in-memory state are built (no HTTP server, SQLite or CLI): what the
//! fuzz target `witness_add_checkpoint` links (docs/fuzzing.md).
#![forbid(unsafe_code)]

#[cfg(feature = "server")]
pub mod cli;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod metrics;
pub mod protocol;
pub mod state;
pub mod witness;

#[cfg(feature = "server")]
pub use state::SqliteState;
pub use state::WitnessState;
pub use witness::{Refusal, Witness};
