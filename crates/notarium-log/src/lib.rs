//! What issues, as opposed to what verifies: Notarium's signing keys and the
//! OS random source, checkpoint signatures, cosignatures, signed receipts,
//! certificate assembly, tree building and proof generation (plan, then
//! fold), the system clock, and (feature `testkit`) a small in-memory log
//! that issues real certificates for tests.
//!
//! Everything here writes bytes that `notarium-core` parses and verifies;
//! a verifier never needs this crate.
#![forbid(unsafe_code)]

pub mod clock;
pub mod keys;
pub mod sign;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tree;

pub use keys::{SignError, SigningKey};
pub use tree::{Frontier, MemoryTree, NodeId, Plan, TreeError};
