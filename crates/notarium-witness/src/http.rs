//! The HTTP service: thin handlers over [`Witness`], the one function that
//! maps refusals to status codes, /metrics and /healthz.

use crate::metrics::Metrics;
use crate::protocol::MAX_BODY_BYTES;
use crate::state::SqliteState;
use crate::witness::{Refusal, Witness};
use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, CONTENT_LENGTH};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use notarium_http::tls::CertReloader;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Media type of the 409 body (tlog-witness).
pub const TLOG_SIZE: &str = "text/x.tlog.size";
const TEXT: &str = "text/plain; charset=utf-8";

/// What every worker shares.
#[derive(Debug)]
pub struct AppState {
    pub witness: Witness<SqliteState>,
    pub metrics: Metrics,
    /// Where `/metrics` is served, and behind what.
    pub metrics_access: MetricsAccess,
}

/// Where `/metrics` is served: on the admin listener, or on the main one
/// behind a bearer token; with neither it is not served (404).
#[derive(Clone, Debug, Default)]
pub struct MetricsAccess {
    /// An admin listener serves `/metrics` (the main one does not).
    pub admin_listener: bool,
    /// The bearer token `/metrics` requires.
    pub token: Option<String>,
}

impl AppState {
    pub fn new(witness: Witness<SqliteState>) -> Self {
        let metrics = Metrics::new();
        if let Ok(all) = witness.state().latest_all() {
            for c in all {
                metrics.set_latest_size(&c.origin, c.size);
            }
        }
        AppState {
            witness,
            metrics,
            metrics_access: MetricsAccess::default(),
        }
    }
}

/// The HTTP status of each refusal ([`Refusal::status`]).
pub fn status_of(r: &Refusal) -> StatusCode {
    StatusCode::from_u16(r.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn refusal_response(r: &Refusal) -> HttpResponse {
    match r {
        // SPEC: "The response body MUST consist of the tree size of the latest
        // cosigned checkpoint in decimal, followed by a newline (U+000A). The
        // response MUST have a `Content-Type` of `text/x.tlog.size`."
        Refusal::Conflict { latest, .. } => HttpResponse::build(StatusCode::CONFLICT)
            .content_type(TLOG_SIZE)
            .body(format!("{latest}\n")),
        _ => HttpResponse::build(status_of(r))
            .content_type(TEXT)
            .body(format!("{r}\n")),
    }
}

fn log_refusal(endpoint: &str, r: &Refusal) {
    let status = status_of(r).as_u16();
    if status >= 500 {
        tracing::error!(endpoint, status, reason = %r, "refused");
    } else if matches!(r, Refusal::BadProof(_))
        || matches!(r, Refusal::Conflict { why, .. } if why.contains("two histories"))
    {
        tracing::warn!(endpoint, status, reason = %r, "refused: possible log misbehaviour");
    } else {
        tracing::info!(endpoint, status, reason = %r, "refused");
    }
}

async fn add_checkpoint(
    data: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let start = Instant::now();
    let result = match read_body(&req, payload).await {
        Ok(body) => data.witness.add_checkpoint(&body).await,
        Err(r) => Err(r),
    };
    match &result {
        Err(Refusal::ClockBehind { clock, last }) => data.metrics.clock_behind(last - clock),
        Ok(_) => data.metrics.clock_behind(0),
        Err(_) => {}
    }
    match result {
        Ok(ok) => {
            let elapsed = start.elapsed();
            data.metrics.request("add-checkpoint", 200);
            data.metrics.cosigned(&ok.origin, ok.size, elapsed);
            tracing::debug!(
                origin = %ok.origin,
                size = ok.size,
                cosigned_at = ok.cosigned_at,
                micros = elapsed.as_micros() as u64,
                "cosigned"
            );
            // SPEC: "The response body MUST be a sequence of one or more note
            // signature lines, each starting with the `—` character (U+2014)
            // and ending with a newline character (U+000A)."
            HttpResponse::Ok().content_type(TEXT).body(ok.line)
        }
        Err(r) => {
            data.metrics
                .request("add-checkpoint", status_of(&r).as_u16());
            log_refusal("add-checkpoint", &r);
            refusal_response(&r)
        }
    }
}

/// Reads at most [`MAX_BODY_BYTES`]; a larger body is a malformed request.
async fn read_body(req: &HttpRequest, payload: web::Payload) -> Result<web::Bytes, Refusal> {
    let too_large = || {
        Refusal::Malformed(format!(
            "request body is larger than {MAX_BODY_BYTES} bytes"
        ))
    };
    if let Some(len) = req.headers().get(CONTENT_LENGTH) {
        let len: usize = len
            .to_str()
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Refusal::Malformed("bad Content-Length".into()))?;
        if len > MAX_BODY_BYTES {
            return Err(too_large());
        }
    }
    match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => Err(Refusal::Malformed(format!("request body: {e}"))),
        Err(_) => Err(too_large()),
    }
}

#[derive(serde::Deserialize)]
struct CheckpointQuery {
    origin: String,
}

async fn get_checkpoint(data: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let result = web::Query::<CheckpointQuery>::from_query(req.query_string())
        .map_err(|_| Refusal::Malformed("expected the query ?origin=<log origin>".into()))
        .and_then(|q| data.witness.latest(&q.origin));
    match result {
        Ok(c) => {
            data.metrics.request("checkpoint", 200);
            HttpResponse::Ok()
                .content_type(TEXT)
                .body(c.cosigned_note())
        }
        Err(r) => {
            data.metrics.request("checkpoint", status_of(&r).as_u16());
            refusal_response(&r)
        }
    }
}

/// `/metrics` on the main listener: only without an admin listener and
/// with a token.
async fn metrics(data: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let a = &data.metrics_access;
    if a.admin_listener || a.token.is_none() {
        return not_found(data).await;
    }
    admin_metrics(data, req).await
}

/// `/metrics` on the admin listener (with the token, if one is set).
async fn admin_metrics(data: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if let Some(token) = &data.metrics_access.token {
        let given = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !same_secret(given, token) {
            data.metrics.request("metrics", 401);
            return HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "Bearer"))
                .content_type(TEXT)
                .body("/metrics needs Authorization: Bearer <metrics_token>\n");
        }
    }
    data.metrics.request("metrics", 200);
    let s = data.witness.state().stats();
    let text = data.metrics.render((
        s.commits.load(Ordering::Relaxed),
        s.updates.load(Ordering::Relaxed),
        s.largest_batch.load(Ordering::Relaxed),
    ));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
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

async fn healthz(data: web::Data<AppState>) -> HttpResponse {
    data.metrics.request("healthz", 200);
    HttpResponse::Ok().content_type(TEXT).body("ok\n")
}

fn method_not_allowed(allow: &'static str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((ALLOW, allow))
        .content_type(TEXT)
        .body(format!("method not allowed; use {allow}\n"))
}

async fn post_only(data: web::Data<AppState>) -> HttpResponse {
    // SPEC: "The request MUST be an HTTP POST."
    data.metrics.request("add-checkpoint", 405);
    method_not_allowed("POST")
}

async fn get_only(data: web::Data<AppState>) -> HttpResponse {
    data.metrics.request("checkpoint", 405);
    method_not_allowed("GET")
}

async fn not_found(data: web::Data<AppState>) -> HttpResponse {
    data.metrics.request("other", 404);
    HttpResponse::NotFound()
        .content_type(TEXT)
        .body("not found\n")
}

/// The routes, under `prefix` for the tlog-witness endpoints.
pub fn routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    cfg.service(
        web::resource(format!("{prefix}/add-checkpoint"))
            .route(web::post().to(add_checkpoint))
            .default_service(web::to(post_only)),
    )
    .service(
        web::resource(format!("{prefix}/checkpoint"))
            .route(web::get().to(get_checkpoint))
            .default_service(web::to(get_only)),
    )
    .route("/metrics", web::get().to(metrics))
    .route("/healthz", web::get().to(healthz))
    .default_service(web::to(not_found));
}

/// The admin listener's routes: `/metrics` and `/healthz`.
pub fn admin_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(admin_metrics))
        .route("/healthz", web::get().to(healthz))
        .default_service(web::to(not_found));
}

/// Binds the admin listener (one worker; stops with the main server on
/// SIGINT and SIGTERM unless `signals` is false).
pub fn bind_admin(
    data: web::Data<AppState>,
    listen: SocketAddr,
    signals: bool,
    tls: Option<&Arc<CertReloader>>,
) -> std::io::Result<Bound> {
    let listener = TcpListener::bind(listen)?;
    let addr = listener.local_addr()?;
    let server = HttpServer::new(move || App::new().app_data(data.clone()).configure(admin_routes))
        .workers(1)
        .shutdown_timeout(5);
    let mut server = match tls {
        Some(t) => server.listen_rustls_0_23(listener, t.server_config())?,
        None => server.listen(listener)?,
    };
    if !signals {
        server = server.disable_signals();
    }
    Ok(Bound {
        server: server.run(),
        addr,
    })
}

/// A bound, not yet running, server.
pub struct Bound {
    pub server: actix_web::dev::Server,
    pub addr: SocketAddr,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Binds `listen` and builds the server (graceful shutdown on SIGINT and
/// SIGTERM unless `signals` is false). Run it by awaiting `server`.
pub fn bind(
    data: web::Data<AppState>,
    listen: SocketAddr,
    prefix: &str,
    workers: Option<usize>,
    signals: bool,
) -> std::io::Result<Bound> {
    bind_with_tls(data, listen, prefix, workers, signals, None)
}

/// [`bind`], speaking only TLS with `tls`'s certificate when given.
pub fn bind_with_tls(
    data: web::Data<AppState>,
    listen: SocketAddr,
    prefix: &str,
    workers: Option<usize>,
    signals: bool,
    tls: Option<&Arc<CertReloader>>,
) -> std::io::Result<Bound> {
    let listener = TcpListener::bind(listen)?;
    let addr = listener.local_addr()?;
    let prefix = prefix.to_string();
    let server = HttpServer::new(move || {
        let prefix = prefix.clone();
        App::new()
            .app_data(data.clone())
            .configure(move |cfg| routes(cfg, &prefix))
    })
    .shutdown_timeout(10);
    let mut server = match tls {
        Some(t) => server.listen_rustls_0_23(listener, t.server_config())?,
        None => server.listen(listener)?,
    };
    if let Some(n) = workers {
        server = server.workers(n);
    }
    if !signals {
        server = server.disable_signals();
    }
    Ok(Bound {
        server: server.run(),
        addr,
    })
}
