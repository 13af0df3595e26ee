//! The HTTP API (contract §8). `router` lists every route; `error` maps
//! errors to statuses; one file per resource.

pub mod error;
pub mod evidence;
pub mod log;
pub mod openapi;
pub mod page;
pub mod verify;

use crate::service::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use error::ApiError;
use futures::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of submission requests being read, parsed and committed at once,
/// across all connections. Beyond it a submission gets 503 (with
/// Retry-After) before its body is read: a request needs a few times its
/// body size while it is parsed, so without this bound the notary's memory
/// grew with the number of clients sending large batches together (64
/// concurrent 4 MB batches took it past 340 MB, tests/notary_flood.rs).
pub const MAX_INFLIGHT_SUBMISSION_BYTES: usize = 32 << 20;

/// The same for `POST /v1/verify` (public, bodies up to 4 MB), kept apart
/// so that verifications can never crowd out submissions, or the reverse.
pub const MAX_INFLIGHT_VERIFY_BYTES: usize = 16 << 20;

/// Bytes of request bodies in flight, bounded.
#[derive(Debug)]
pub struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    pub fn new(max: usize) -> Self {
        Budget {
            used: AtomicUsize::new(0),
            max,
        }
    }
}

/// A request's share of a [`Budget`], given back when dropped (when the
/// handler returns).
pub struct InFlight<'a> {
    budget: &'a Budget,
    held: usize,
}

impl InFlight<'_> {
    /// Holds at least `bytes` of the budget; false once it is spent.
    fn hold(&mut self, bytes: usize) -> bool {
        if bytes <= self.held {
            return true;
        }
        let more = bytes - self.held;
        let before = self.budget.used.fetch_add(more, Ordering::Relaxed);
        self.held = bytes;
        before + more <= self.budget.max
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::Relaxed);
    }
}

/// Reads a request body up to `limit` bytes (beyond, 413 without reading
/// more), within `budget`: the declared Content-Length is held before
/// reading, and whatever arrives beyond it as it arrives; past the budget,
/// 503 (counted as `overloaded`). Keep the
/// returned guard until the response is ready.
pub async fn read_budgeted_body<'a>(
    req: &actix_web::HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    budget: &'a Budget,
    state: &AppState,
) -> Result<(web::Bytes, InFlight<'a>), ApiError> {
    let overloaded = || {
        state.metrics.reject("overloaded");
        ApiError::from(crate::intake::IntakeError::Overloaded)
    };
    let mut inflight = InFlight { budget, held: 0 };
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if declared > limit {
        return Err(too_large());
    }
    if !inflight.hold(declared) {
        return Err(overloaded());
    }
    let mut body = web::BytesMut::with_capacity(declared);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        if !inflight.hold(body.len() + chunk.len()) {
            return Err(overloaded());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), inflight))
}

/// Every route.
pub fn router(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .route("/v1/evidence", web::post().to(evidence::submit))
        .route("/v1/evidence:batch", web::post().to(evidence::submit_batch))
        .route("/v1/evidence", web::get().to(evidence::lookup))
        .route("/v1/evidence/{id}", web::get().to(evidence::get))
        .route(
            "/v1/evidence/{id}/certificate.json",
            web::get().to(evidence::certificate_json),
        )
        .route(
            "/v1/evidence/{id}/certificate.pdf",
            web::get().to(evidence::certificate_pdf),
        )
        .route("/v1/checkpoint", web::get().to(log::checkpoint))
        .route("/v1/proof/inclusion", web::get().to(log::inclusion))
        .route("/v1/proof/consistency", web::get().to(log::consistency))
        .route("/v1/verify", web::post().to(verify::verify))
        .route("/v1/openapi.json", web::get().to(openapi::openapi))
        .route("/verify", web::get().to(page::verify_page))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .default_service(web::to(not_found));
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("no such route"))
}

/// The process is up.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Ready to take submissions: the store answers, and the log is being
/// sequenced (by us, or by another process that holds the lease).
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if let Err(e) = state.store.ping().await {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unreachable",
            e.to_string(),
        )
        .retry_after(1));
    }
    let leader = state.metrics.leader.load(Ordering::Relaxed);
    if !leader {
        // Another process holds the lease if the log keeps moving: nothing
        // waits, or a checkpoint was signed in the last 10 seconds.
        let pending = state.store.pending_count().await?;
        let recent = state
            .store
            .latest_checkpoint()
            .await?
            .is_some_and(|c| notarium_log::clock::now().millis() - c.created_ms < 10_000);
        if pending > 0 && !recent {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_sequencer",
                format!("{pending} entries wait and no process has sequenced the log in 10 s"),
            )
            .retry_after(1));
        }
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready", "sequencer": if leader { "this process" } else { "another process" }})))
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    // Pending first: a batch leaves the queue and enters the log in one
    // transaction, so once nothing is pending the size read next counts it.
    let pending = state.store.pending_count().await.ok();
    let log_size = state.store.log_state().await.ok().map(|s| s.size);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(
            pending,
            log_size,
            (state.intake.queued(), state.intake.committing()),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_shared_and_given_back() {
        let budget = Budget::new(100);
        let mut a = InFlight {
            budget: &budget,
            held: 0,
        };
        assert!(a.hold(60));
        assert!(a.hold(40), "holding less than held asks nothing");
        let mut b = InFlight {
            budget: &budget,
            held: 0,
        };
        assert!(b.hold(40));
        assert!(!b.hold(41), "60 + 41 passes 100");
        drop(b);
        assert_eq!(
            budget.used.load(Ordering::Relaxed),
            60,
            "b gave back all it held"
        );
        drop(a);
        assert_eq!(budget.used.load(Ordering::Relaxed), 0);
    }
}
