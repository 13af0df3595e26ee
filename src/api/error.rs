//! The one place where the service's errors become HTTP answers. Every
//! error body is `{"error": {"code": "...", "message": "..."}}`; 4xx for
//! what the caller did wrong, 503 (with Retry-After) for what passes by
//! itself (load, shutdown, a store that cannot be reached), 500 only for
//! our own bugs.

use crate::service::{Error, Invalid};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use notarium_store::StoreError;

/// Every JSON `code` the API answers (documented in openapi.json).
pub const CODES: &[&str] = &[
    "unauthorized",
    "rate_limited",
    "not_found",
    "method_not_allowed",
    "not_final",
    "overloaded",
    "shutting_down",
    "body_too_large",
    "unsupported_media_type",
    "invalid_json",
    "invalid_request",
    "invalid_sha256",
    "invalid_metadata",
    "metadata_too_large",
    "empty_batch",
    "batch_too_large",
    "invalid_pdf",
    "invalid_query",
    "invalid_path",
    "invalid_body",
    "invalid_idempotency_key",
    "idempotency_key_reused",
    "out_of_range",
    "no_sequencer",
    "store_unreachable",
    "internal",
];

/// How an error is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub status: StatusCode,
    /// The JSON `code`.
    pub code: &'static str,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

/// The status, JSON code and Retry-After of every error: the one place
/// where they are decided.
pub fn reply_of(e: &Error) -> Reply {
    use StatusCode as S;
    let (status, code, retry_after) = match e {
        Error::Unauthorized | Error::UnknownKey => (S::UNAUTHORIZED, "unauthorized", None),
        Error::RateLimited { retry_after, .. }
        | Error::TooManyAuthFailures { retry_after }
        | Error::ClientRateLimited { retry_after, .. } => {
            (S::TOO_MANY_REQUESTS, "rate_limited", Some(*retry_after))
        }
        Error::NotFound(_) => (S::NOT_FOUND, "not_found", None),
        Error::MethodNotAllowed { .. } => (S::METHOD_NOT_ALLOWED, "method_not_allowed", None),
        Error::NotFinal => (S::CONFLICT, "not_final", None),
        Error::Overloaded => (S::SERVICE_UNAVAILABLE, "overloaded", Some(1)),
        Error::ShuttingDown => (S::SERVICE_UNAVAILABLE, "shutting_down", Some(5)),
        Error::BodyTooLarge { .. } => (S::PAYLOAD_TOO_LARGE, "body_too_large", None),
        Error::UnsupportedMediaType { .. } => {
            (S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None)
        }
        Error::Invalid { kind, .. } => (S::BAD_REQUEST, invalid_code(*kind), None),
        Error::OutOfRange(_) => (S::BAD_REQUEST, "out_of_range", None),
        Error::KeyReused => (S::UNPROCESSABLE_ENTITY, "idempotency_key_reused", None),
        Error::NoSequencer { .. } => (S::SERVICE_UNAVAILABLE, "no_sequencer", Some(1)),
        Error::Store(e) => match &**e {
            // The database cannot be reached, refuses connections, or
            // failed the statement (a lost connection, a full disk, a
            // locked file): the request may succeed shortly.
            StoreError::Database(_) => (S::SERVICE_UNAVAILABLE, "store_unreachable", Some(1)),
            StoreError::NotFound(_) => (S::NOT_FOUND, "not_found", None),
            // Lease fencing and uniqueness are the sequencer's and the
            // admin's outcomes: a request that meets one is a bug.
            _ => (S::INTERNAL_SERVER_ERROR, "internal", None),
        },
        Error::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal", None),
    };
    Reply {
        status,
        code,
        retry_after,
    }
}

fn invalid_code(kind: Invalid) -> &'static str {
    match kind {
        Invalid::Json => "invalid_json",
        Invalid::Request => "invalid_request",
        Invalid::Sha256 => "invalid_sha256",
        Invalid::Metadata => "invalid_metadata",
        Invalid::MetadataTooLarge => "metadata_too_large",
        Invalid::EmptyBatch => "empty_batch",
        Invalid::BatchTooLarge => "batch_too_large",
        Invalid::Pdf => "invalid_pdf",
        Invalid::Query => "invalid_query",
        Invalid::Path => "invalid_path",
        Invalid::Body => "invalid_body",
        Invalid::IdempotencyKey => "invalid_idempotency_key",
    }
}

/// The message the caller reads. Our own failures and the store's are
/// told to the operator's log, not to the caller.
fn message(e: &Error, reply: &Reply) -> String {
    match e {
        Error::Store(s) if reply.status == StatusCode::NOT_FOUND => s.to_string(),
        Error::Store(_) if reply.status == StatusCode::SERVICE_UNAVAILABLE => {
            "the notary's store cannot be reached; try again shortly".into()
        }
        Error::Store(_) | Error::Internal(_) => "internal error; the operator has been told".into(),
        e => e.to_string(),
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        reply_of(self).status
    }

    fn error_response(&self) -> HttpResponse {
        let reply = reply_of(self);
        match self {
            Error::Internal(_) => tracing::error!(error = %self, "internal error"),
            Error::Store(_) => tracing::error!(error = %self, code = reply.code, "store error"),
            _ => {}
        }
        let mut r = HttpResponse::build(reply.status);
        if let Some(s) = reply.retry_after {
            r.insert_header(("Retry-After", s.to_string()));
        }
        if let Error::MethodNotAllowed { allow } = self {
            r.insert_header(("Allow", allow.as_str()));
        }
        r.json(serde_json::json!({"error": {"code": reply.code, "message": message(self, &reply)}}))
    }
}

/// actix's own extractor errors (bad query strings, bad paths) as ours.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    Error::invalid(Invalid::Query, err.to_string()).into()
}

pub fn path_error(
    err: actix_web::error::PathError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    Error::invalid(Invalid::Path, err.to_string()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{Missing, OutOfRange};
    use std::sync::Arc;

    fn store(e: StoreError) -> Error {
        Error::Store(Arc::new(e))
    }

    /// Every variant's answer, as the API has given it (and documents it
    /// in openapi.json).
    #[test]
    fn every_error_has_its_status_code_and_retry_after() {
        let cases: Vec<(Error, u16, &str, Option<u64>)> = vec![
            (Error::Unauthorized, 401, "unauthorized", None),
            (Error::UnknownKey, 401, "unauthorized", None),
            (
                Error::RateLimited {
                    rate: 10,
                    retry_after: 3,
                },
                429,
                "rate_limited",
                Some(3),
            ),
            (
                Error::TooManyAuthFailures { retry_after: 7 },
                429,
                "rate_limited",
                Some(7),
            ),
            (
                Error::ClientRateLimited {
                    rate: 5,
                    retry_after: 1,
                },
                429,
                "rate_limited",
                Some(1),
            ),
            (Error::NotFound(Missing::Route), 404, "not_found", None),
            (
                Error::NotFound(Missing::Tile {
                    path: "tile/0/001".into(),
                    size: 17,
                }),
                404,
                "not_found",
                None,
            ),
            (
                Error::MethodNotAllowed {
                    allow: "GET, POST".into(),
                },
                405,
                "method_not_allowed",
                None,
            ),
            (Error::NotFinal, 409, "not_final", None),
            (Error::Overloaded, 503, "overloaded", Some(1)),
            (Error::ShuttingDown, 503, "shutting_down", Some(5)),
            (
                Error::BodyTooLarge { limit: 10 },
                413,
                "body_too_large",
                None,
            ),
            (
                Error::UnsupportedMediaType {
                    expected: "application/json",
                },
                415,
                "unsupported_media_type",
                None,
            ),
            (
                Error::invalid(Invalid::Sha256, "x"),
                400,
                "invalid_sha256",
                None,
            ),
            (
                Error::OutOfRange(OutOfRange::Consistency {
                    old: 2,
                    new: 1,
                    log_size: 5,
                }),
                400,
                "out_of_range",
                None,
            ),
            (
                Error::NoSequencer { pending: 3 },
                503,
                "no_sequencer",
                Some(1),
            ),
            (
                store(StoreError::Database("connection closed".into())),
                503,
                "store_unreachable",
                Some(1),
            ),
            (
                store(StoreError::NotFound("tenant acme".into())),
                404,
                "not_found",
                None,
            ),
            (store(StoreError::NotLeader), 500, "internal", None),
            (
                store(StoreError::Conflict("size".into())),
                500,
                "internal",
                None,
            ),
            (Error::Internal("bug".into()), 500, "internal", None),
            (Error::KeyReused, 422, "idempotency_key_reused", None),
        ];
        let mut answered = std::collections::BTreeSet::new();
        for (e, status, code, retry_after) in cases {
            let r = reply_of(&e);
            answered.insert(r.code);
            assert_eq!(
                (r.status.as_u16(), r.code, r.retry_after),
                (status, code, retry_after),
                "{e:?}"
            );
        }
        answered.extend(ALL_INVALID.iter().map(|k| invalid_code(*k)));
        let documented: std::collections::BTreeSet<_> = CODES.iter().copied().collect();
        assert_eq!(
            answered, documented,
            "CODES (and openapi.json) list every code"
        );
    }

    const ALL_INVALID: [Invalid; 12] = [
        Invalid::Json,
        Invalid::Request,
        Invalid::Sha256,
        Invalid::Metadata,
        Invalid::MetadataTooLarge,
        Invalid::EmptyBatch,
        Invalid::BatchTooLarge,
        Invalid::Pdf,
        Invalid::Query,
        Invalid::Path,
        Invalid::Body,
        Invalid::IdempotencyKey,
    ];

    /// Each validation failure keeps its own code.
    #[test]
    fn every_validation_failure_has_its_own_code() {
        let codes: std::collections::BTreeSet<_> =
            ALL_INVALID.iter().map(|k| invalid_code(*k)).collect();
        assert_eq!(codes.len(), ALL_INVALID.len());
    }

    /// The body is the documented JSON; a bug or a store failure does not
    /// leak its text to the caller, and 429/503 say when to come back.
    #[actix_web::test]
    async fn error_bodies_are_json_and_keep_internals_private() {
        for (e, private) in [
            (Error::Internal("secret bug detail".into()), true),
            (store(StoreError::Database("password=hunter2".into())), true),
            (
                Error::invalid(Invalid::Json, "expected value at line 1"),
                false,
            ),
        ] {
            let text = e.to_string();
            let resp = e.error_response();
            let status = resp.status();
            let retry = resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let body = actix_web::body::to_bytes(resp.into_body()).await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"]["code"], reply_of(&e).code);
            let msg = v["error"]["message"].as_str().unwrap();
            assert!(!msg.is_empty());
            assert_eq!(msg.contains(&text), !private, "{msg}");
            assert_eq!(
                retry.is_some(),
                status == StatusCode::SERVICE_UNAVAILABLE,
                "{status}"
            );
        }
    }
}
