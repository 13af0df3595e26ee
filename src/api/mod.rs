//! The HTTP API (contract §8): extract what a request carries, call the
//! service, answer. `router` lists every route; `error` maps the service's
//! errors to statuses; one file per resource.

pub mod error;
pub mod evidence;
pub mod log;
pub mod openapi;
pub mod page;
pub mod verify;

use crate::budget::{Budget, InFlight};
use crate::service::{AppState, Error, Invalid, Missing, Sequencing};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use futures::StreamExt;

/// The value of the `Authorization` header, if it is text.
fn authorization(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// The client's address (the peer of the connection).
fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    req.peer_addr().map(|a| a.ip())
}

/// Reads a request body up to `limit` bytes (beyond, 413 without reading
/// more), within `budget`: the declared Content-Length is held before
/// reading, and whatever arrives beyond it as it arrives; past the budget,
/// 503. Keep the returned share until the response is ready.
async fn read_body<'a>(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    budget: &'a Budget,
) -> Result<(web::Bytes, InFlight<'a>), Error> {
    let mut inflight = budget.share();
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if declared > limit {
        return Err(Error::BodyTooLarge { limit });
    }
    if !inflight.hold(declared) {
        return Err(Error::Overloaded);
    }
    let mut body = web::BytesMut::with_capacity(declared);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Error::invalid(Invalid::Body, e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(Error::BodyTooLarge { limit });
        }
        if !inflight.hold(body.len() + chunk.len()) {
            return Err(Error::Overloaded);
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

/// The admin listener's routes (`server.admin_listen`).
pub fn admin_router(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(admin_metrics))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .default_service(web::to(not_found));
}

/// Middleware: counts every refusal the API answers in
/// `notarium_rejections_total`, by the service's reason, in one place.
pub async fn count_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?;
    if let (Some(state), Some(e)) = (
        state,
        res.response().error().and_then(|e| e.as_error::<Error>()),
    ) {
        state.count(e);
    }
    Ok(res)
}

async fn not_found() -> Result<HttpResponse, Error> {
    Err(Error::NotFound(Missing::Route))
}

/// The process is up.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Ready to take submissions: the store answers, and the log is being
/// sequenced (by us, or by another process that holds the lease). Not
/// ready: 503 with the reason's code and a fixed message; what went wrong
/// goes to the operator's log, never to the caller.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.readiness().await {
        Ok(s) => {
            let sequencer = match s {
                Sequencing::ThisProcess => "this process",
                Sequencing::AnotherProcess => "another process",
            };
            HttpResponse::Ok().json(serde_json::json!({"status": "ready", "sequencer": sequencer}))
        }
        Err(e) => not_ready(&e),
    }
}

/// The answer of `/readyz` when not ready.
fn not_ready(e: &Error) -> HttpResponse {
    let reply = error::reply_of(e);
    tracing::warn!(error = %e, code = reply.code, "not ready");
    let (status, code) = match reply.code {
        c @ ("store_unreachable" | "no_sequencer") => (reply.status, c),
        _ => (actix_web::http::StatusCode::SERVICE_UNAVAILABLE, "internal"),
    };
    let message = match code {
        "store_unreachable" => "not ready: the store cannot be reached",
        "no_sequencer" => "not ready: the log is not being sequenced",
        _ => "not ready",
    };
    HttpResponse::build(status)
        .insert_header(("Retry-After", reply.retry_after.unwrap_or(1).to_string()))
        .json(serde_json::json!({"error": {"code": code, "message": message}}))
}

/// `/metrics` on the main listener: only without an admin listener, and
/// only with the configured bearer token (else it is not there: 404).
async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    if state.config().admin_listen.is_some() || state.config().metrics_token.is_none() {
        return Err(Error::NotFound(Missing::Route));
    }
    admin_metrics(req, state).await
}

/// `/metrics` on the admin listener (with the token, if one is set).
async fn admin_metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    if let Some(token) = &state.config().metrics_token {
        let given = authorization(&req)
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !same_secret(given, token) {
            return Err(Error::Unauthorized);
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics_text().await))
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}
