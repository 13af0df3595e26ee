//! Witness state: for each log, every checkpoint the witness cosigned (the
//! last one is the log's latest), and refused requests kept as evidence.
//!
//! The one way to change it is [`WitnessState::update`]: the check against
//! the latest cosigned checkpoint and the write of the next one are a single
//! atomic step, durable before the caller sees its result. This is what
//! prevents the race described in tlog-witness, where a slower request for a
//! smaller size overwrites a larger one and rolls the log back.

mod memory;
#[cfg(feature = "server")]
pub mod sqlite;

use notarium_core::merkle::Hash;
use std::future::Future;

pub use memory::MemoryState;
#[cfg(feature = "server")]
pub use sqlite::SqliteState;

/// One checkpoint the witness cosigned, as it is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// The cosignature's time (Unix seconds, the witness's clock).
    pub cosigned_at: u64,
    /// The checkpoint as a signed note carrying the notary signature(s) that
    /// verified, without the cosignature: what the log claimed.
    pub note: String,
    /// The witness's cosignature line over it, final newline included.
    pub cosignature: String,
}

impl Cosigned {
    /// The signed note with the notary signature(s) and the cosignature.
    pub fn cosigned_note(&self) -> String {
        let mut s = String::with_capacity(self.note.len() + self.cosignature.len());
        s.push_str(&self.note);
        s.push_str(&self.cosignature);
        s
    }
}

/// Why a refused request is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidenceKind {
    /// A checkpoint with a valid notary signature whose consistency proof from
    /// the latest cosigned checkpoint does not verify.
    BadProof,
    /// A checkpoint with a valid notary signature, of the size of the latest
    /// cosigned checkpoint but with another root hash: two histories.
    Fork,
}

impl EvidenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::BadProof => "bad-proof",
            EvidenceKind::Fork => "fork",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bad-proof" => Some(EvidenceKind::BadProof),
            "fork" => Some(EvidenceKind::Fork),
            _ => None,
        }
    }
}

/// A refused request that carried a valid notary signature: possible proof
/// of log misbehaviour. Kept bounded per log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub origin: String,
    pub kind: EvidenceKind,
    /// Unix seconds, the witness's clock.
    pub received_at: u64,
    /// Why it was refused, in words.
    pub reason: String,
    /// The request body exactly as received.
    pub request: String,
}

/// What an update sees: the log's latest cosigned checkpoint and the latest
/// time at which the witness cosigned anything (for any log).
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    pub latest: Option<&'a Cosigned>,
    pub last_cosigned_at: Option<u64>,
}

/// What an update decides, and what it returns to its caller once the
/// decision is durable.
#[derive(Debug)]
pub enum Decision<R> {
    /// Store `next` as the log's latest cosigned checkpoint.
    Commit { next: Cosigned, reply: R },
    /// Change nothing but, optionally, keep evidence.
    Refuse {
        evidence: Option<Evidence>,
        reply: R,
    },
}

/// The store could not do its work; nothing was promised to anyone.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    #[error("witness state {path}: {why}")]
    Open { path: String, why: String },
    #[error("witness state could not be read or written: {0}")]
    Io(String),
    #[error(
        "the update was abandoned (the witness state failed or is shutting down); nothing was stored"
    )]
    Stopped,
    #[error("an update failed while deciding (bug): {0}")]
    Panicked(String),
}

#[cfg(feature = "server")]
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

/// The narrow interface the witness logic needs from its state.
pub trait WitnessState: Send + Sync + 'static {
    /// Runs `f` on the log's current view and applies its decision as one
    /// atomic step: no other update of any log runs between `f` reading the
    /// view and its decision being stored, and the returned future resolves
    /// only once the decision is durable (or with an error, in which case
    /// nothing `f` decided took effect as far as any caller knows).
    fn update<R, F>(
        &self,
        origin: &str,
        f: F,
    ) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: for<'a> FnOnce(View<'a>) -> Decision<R> + Send + 'static;

    /// The log's latest durable cosigned checkpoint.
    fn latest(&self, origin: &str) -> Result<Option<Cosigned>, StoreError>;
}
