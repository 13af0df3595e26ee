//! The one place where errors become HTTP statuses. Every error body is
//! `{"error": {"code": "...", "message": "..."}}`; 4xx for what the caller
//! did wrong, 5xx only for our own failures.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!(error = %message, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the operator has been told",
        )
    }
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        if let Some(s) = self.retry_after {
            r.insert_header(("Retry-After", s.to_string()));
        }
        r.json(serde_json::json!({"error": {"code": self.code, "message": self.message}}))
    }
}

impl From<notarium_store::StoreError> for ApiError {
    fn from(e: notarium_store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl From<crate::intake::IntakeError> for ApiError {
    fn from(e: crate::intake::IntakeError) -> Self {
        use crate::intake::IntakeError::*;
        match e {
            Overloaded => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", e.to_string())
                    .retry_after(1)
            }
            ShuttingDown => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                e.to_string(),
            )
            .retry_after(5),
            Store(_) => ApiError::internal(e),
        }
    }
}

/// Maps actix's own extractor errors (bad query strings, bad paths,
/// oversized payloads) to our JSON errors.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad_request("invalid_query", err.to_string()).into()
}

pub fn path_error(
    err: actix_web::error::PathError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad_request("invalid_path", err.to_string()).into()
}

pub fn payload_error(
    err: actix_web::error::PayloadError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    match err {
        actix_web::error::PayloadError::Overflow => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is too large",
        )
        .into(),
        e => ApiError::bad_request("invalid_body", e.to_string()).into(),
    }
}
