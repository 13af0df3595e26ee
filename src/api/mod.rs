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

/// A method's name and the route that answers it.
pub type MethodRoute = (&'static str, fn() -> actix_web::Route);

/// One path and the methods it answers; any other method answers 405
/// with `Allow` listing these (unknown paths answer 404).
pub struct Endpoint {
    pub path: &'static str,
    pub methods: &'static [MethodRoute],
}

impl Endpoint {
    /// The declared methods, in order: the `Allow` header's value.
    pub fn allow(&self) -> String {
        self.methods
            .iter()
            .map(|(m, _)| *m)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Every route of the main listener; `/v1/openapi.json` describes exactly
/// these (tests/api_contract.rs and `openapi::tests` hold them together).
pub static ROUTES: &[Endpoint] = &[
    Endpoint {
        path: "/v1/evidence",
        methods: &[
            ("GET", || web::get().to(evidence::lookup)),
            ("POST", || web::post().to(evidence::submit)),
        ],
    },
    Endpoint {
        path: "/v1/evidence:batch",
        methods: &[("POST", || web::post().to(evidence::submit_batch))],
    },
    Endpoint {
        path: "/v1/evidence/{id}",
        methods: &[("GET", || web::get().to(evidence::get))],
    },
    Endpoint {
        path: "/v1/evidence/{id}/certificate.json",
        methods: &[("GET", || web::get().to(evidence::certificate_json))],
    },
    Endpoint {
        path: "/v1/evidence/{id}/certificate.pdf",
        methods: &[("GET", || web::get().to(evidence::certificate_pdf))],
    },
    Endpoint {
        path: "/v1/checkpoint",
        methods: &[("GET", || web::get().to(log::checkpoint))],
    },
    Endpoint {
        path: "/v1/proof/inclusion",
        methods: &[("GET", || web::get().to(log::inclusion))],
    },
    Endpoint {
        path: "/v1/proof/consistency",
        methods: &[("GET", || web::get().to(log::consistency))],
    },
    // C2SP tlog-tiles (contract §9, docs/tiles.md): at the root, as the
    // spec's `<prefix>/checkpoint` and `<prefix>/tile/...`. The bundles'
    // route comes first: `/tile/{tile}` would match it too.
    Endpoint {
        path: "/checkpoint",
        methods: &[("GET", || web::get().to(log::tlog_checkpoint))],
    },
    Endpoint {
        path: "/tile/entries/{bundle:.+}",
        methods: &[("GET", || web::get().to(log::entry_bundle))],
    },
    Endpoint {
        path: "/tile/{tile:.+}",
        methods: &[("GET", || web::get().to(log::tile))],
    },
    Endpoint {
        path: "/v1/verify",
        methods: &[("POST", || web::post().to(verify::verify))],
    },
    Endpoint {
        path: "/v1/openapi.json",
        methods: &[("GET", || web::get().to(openapi::openapi))],
    },
    Endpoint {
        path: "/verify",
        methods: &[("GET", || web::get().to(page::verify_page))],
    },
    Endpoint {
        path: "/healthz",
        methods: &[("GET", || web::get().to(healthz))],
    },
    Endpoint {
        path: "/readyz",
        methods: &[("GET", || web::get().to(readyz))],
    },
    Endpoint {
        path: "/metrics",
        methods: &[("GET", || web::get().to(metrics))],
    },
];

/// The admin listener's routes (`server.admin_listen`).
pub static ADMIN_ROUTES: &[Endpoint] = &[
    Endpoint {
        path: "/metrics",
        methods: &[("GET", || web::get().to(admin_metrics))],
    },
    Endpoint {
        path: "/healthz",
        methods: &[("GET", || web::get().to(healthz))],
    },
    Endpoint {
        path: "/readyz",
        methods: &[("GET", || web::get().to(readyz))],
    },
];

/// Registers `endpoints`, each a resource whose other methods answer 405,
/// and 404 for every other path.
fn register(cfg: &mut web::ServiceConfig, endpoints: &'static [Endpoint]) {
    for e in endpoints {
        let allow = e.allow();
        let mut resource = web::resource(e.path);
        for (_, route) in e.methods {
            resource = resource.route(route());
        }
        cfg.service(resource.default_service(web::to(move || {
            let allow = allow.clone();
            async move { Err::<HttpResponse, _>(Error::MethodNotAllowed { allow }) }
        })));
    }
    cfg.default_service(web::to(not_found));
}

/// Every route.
pub fn router(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error));
    register(cfg, ROUTES);
}

/// The admin listener's routes (`server.admin_listen`).
pub fn admin_router(cfg: &mut web::ServiceConfig) {
    register(cfg, ADMIN_ROUTES);
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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::Method;
    use actix_web::{App, test as atest};

    const ALL: [&str; 8] = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "HEAD",
    ];

    /// On every route, each undeclared method answers 405 with `Allow`
    /// listing the declared ones and the JSON error body; a declared one
    /// reaches its handler; an unknown path answers 404, whatever the
    /// method.
    async fn methods_of(config: fn(&mut web::ServiceConfig), endpoints: &[Endpoint]) {
        let app = atest::init_service(App::new().configure(config)).await;
        for e in endpoints {
            let path = e
                .path
                .replace("{id}", &"0".repeat(32))
                .replace("{bundle:.+}", "000")
                .replace("{tile:.+}", "0/000");
            for m in ALL {
                let req = atest::TestRequest::default()
                    .method(Method::from_bytes(m.as_bytes()).unwrap())
                    .uri(&path)
                    .to_request();
                let resp = atest::call_service(&app, req).await;
                let declared = e.methods.iter().any(|(d, _)| *d == m);
                let status = resp.status().as_u16();
                if declared {
                    assert!(
                        status != 405 && status != 404 || e.path == "/metrics",
                        "{m} {path}: {status}"
                    );
                    continue;
                }
                assert_eq!(status, 405, "{m} {path}");
                let allow = resp.headers().get("allow").map(|v| v.to_str().unwrap());
                assert_eq!(allow, Some(e.allow().as_str()), "{m} {path}");
                if m != "HEAD" {
                    let body: serde_json::Value = atest::read_body_json(resp).await;
                    assert_eq!(body["error"]["code"], "method_not_allowed", "{m} {path}");
                }
            }
        }
        for m in ["GET", "TRACE", "PUT"] {
            let req = atest::TestRequest::default()
                .method(Method::from_bytes(m.as_bytes()).unwrap())
                .uri("/v1/nowhere")
                .to_request();
            let resp = atest::call_service(&app, req).await;
            assert_eq!(resp.status().as_u16(), 404, "{m} /v1/nowhere");
        }
    }

    #[actix_web::test]
    async fn undeclared_methods_answer_405_with_allow() {
        methods_of(router, ROUTES).await;
        methods_of(admin_router, ADMIN_ROUTES).await;
    }

    #[test]
    fn allow_lists_the_declared_methods() {
        let e = ROUTES.iter().find(|e| e.path == "/v1/evidence").unwrap();
        assert_eq!(e.allow(), "GET, POST");
    }
}
