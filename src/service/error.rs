//! Everything the notary's service can answer instead of a result, typed.
//! Nothing here knows HTTP: the status, the JSON `code` and the Retry-After
//! of each variant are chosen in one function, `reply_of` in src/api/error.rs.

use notarium_request::{Invalid, Rejected};
use notarium_store::StoreError;
use std::sync::Arc;

/// Why a request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No API key was given.
    #[error("an API key is required: Authorization: Bearer <key>")]
    Unauthorized,
    /// The API key belongs to no tenant.
    #[error("unknown API key")]
    UnknownKey,
    /// The key's token bucket is empty; it refills in `retry_after` seconds.
    #[error("this API key may submit {rate} entries per second")]
    RateLimited { rate: u32, retry_after: u64 },
    /// Too many unknown API keys from this client address lately; it may
    /// try again in `retry_after` seconds (keys it used successfully still
    /// work meanwhile).
    #[error("too many requests with unknown API keys from this address; try again later")]
    TooManyAuthFailures { retry_after: u64 },
    /// The client's `POST /v1/verify` bucket is empty.
    #[error("this client address may ask for {rate} verifications per second")]
    ClientRateLimited { rate: u32, retry_after: u64 },
    #[error("{0}")]
    NotFound(Missing),
    /// The path exists but does not answer this method; `allow` lists the
    /// methods it answers.
    #[error("this path answers only {allow}")]
    MethodNotAllowed { allow: String },
    /// The entry has no certificate yet.
    #[error(
        "the entry is not final yet: its certificate exists once witnesses cosign a checkpoint that includes it"
    )]
    NotFinal,
    /// Admission control: the intake queue or the in-flight body budget is
    /// full.
    #[error("the notary is at capacity, try again shortly")]
    Overloaded,
    #[error("the notary is shutting down")]
    ShuttingDown,
    /// The body is not of the media type the route takes.
    #[error("the request body must be {expected}")]
    UnsupportedMediaType { expected: &'static str },
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// The request is malformed; nothing was stored.
    #[error("{message}")]
    Invalid { kind: Invalid, message: String },
    /// A proof of sizes the log does not have (yet).
    #[error("{0}")]
    OutOfRange(OutOfRange),
    /// Entries wait and no process sequences the log (readiness).
    #[error("{pending} entries wait and no process has sequenced the log in 10 s")]
    NoSequencer { pending: u64 },
    /// The store failed (shared: one failed group commit answers every
    /// submission in the group).
    #[error("storage: {0}")]
    Store(Arc<StoreError>),
    /// The `Idempotency-Key` named another request in the last 24 hours.
    #[error("this Idempotency-Key was used with another request in the last 24 hours")]
    KeyReused,
    /// Our own failure (a bug, or data the store should never have held);
    /// the text is for the operator's log, not for the caller.
    #[error("{0}")]
    Internal(String),
}

/// What was not found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    #[error("no such route")]
    Route,
    /// The caller has no entry with this id (another tenant's entry is
    /// indistinguishable from a missing one).
    #[error("no evidence with id \"{0}\"")]
    Evidence(String),
    #[error("no checkpoint is final yet")]
    FinalCheckpoint,
    /// A tlog-tiles tile or bundle the latest final tree does not have.
    #[error("no {path} in the tree of the latest final checkpoint (size {size})")]
    Tile { path: String, size: u64 },
}

/// A proof request beyond the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutOfRange {
    #[error("need index < size <= {log_size} (the log size); got index {index} size {size}")]
    Inclusion {
        index: u64,
        size: u64,
        log_size: u64,
    },
    #[error("need old <= new <= {log_size} (the log size); got old {old} new {new}")]
    Consistency { old: u64, new: u64, log_size: u64 },
}

impl Error {
    pub fn invalid(kind: Invalid, message: impl Into<String>) -> Self {
        Error::Invalid {
            kind,
            message: message.into(),
        }
    }

    /// Our own failure, with what went wrong for the operator.
    pub fn internal(what: &str, e: impl std::fmt::Display) -> Self {
        Error::Internal(format!("{what}: {e}"))
    }

    /// The `notarium_rejections_total` reason of a refusal, if it is one
    /// (a missing entry or our own failure is not).
    pub fn rejection(&self) -> Option<&'static str> {
        Some(match self {
            Error::Unauthorized | Error::UnknownKey => "unauthorized",
            Error::Invalid { .. }
            | Error::BodyTooLarge { .. }
            | Error::UnsupportedMediaType { .. }
            | Error::OutOfRange(_)
            | Error::KeyReused => "bad_request",
            Error::RateLimited { .. } | Error::ClientRateLimited { .. } => "rate_limited",
            Error::TooManyAuthFailures { .. } => "auth_failures",
            Error::Overloaded | Error::ShuttingDown => "overloaded",
            Error::Store(_) => "store",
            Error::NotFound(_)
            | Error::MethodNotAllowed { .. }
            | Error::NotFinal
            | Error::NoSequencer { .. }
            | Error::Internal(_) => return None,
        })
    }
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Self {
        Error::Invalid {
            kind: r.kind,
            message: r.message,
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(Arc::new(e))
    }
}

impl From<crate::intake::IntakeError> for Error {
    fn from(e: crate::intake::IntakeError) -> Self {
        use crate::intake::IntakeError;
        match e {
            IntakeError::Overloaded => Error::Overloaded,
            IntakeError::ShuttingDown => Error::ShuttingDown,
            IntakeError::KeyReused => Error::KeyReused,
            IntakeError::Store(e) => Error::Store(e),
            e @ IntakeError::Receipts(_) => Error::internal("submission", e),
        }
    }
}

impl From<crate::store::TreeReadError> for Error {
    fn from(e: crate::store::TreeReadError) -> Self {
        use crate::store::TreeReadError;
        match e {
            TreeReadError::Store(e) => e.into(),
            e @ TreeReadError::Inconsistent(_) => Error::internal("proof", e),
        }
    }
}

impl From<crate::render::RenderError> for Error {
    fn from(e: crate::render::RenderError) -> Self {
        Error::internal("certificate PDF", e)
    }
}
