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
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod http;
pub mod metrics;
pub mod protocol;
pub mod state;
pub mod witness;

pub use state::{SqliteState, WitnessState};
pub use witness::{Refusal, Witness};
