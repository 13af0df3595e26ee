//! `POST /v1/verify`: the core verification, for the judge's page. The
//! evidence file never reaches the server, only its digest.

use super::read_body;
use crate::service::{AppState, Error};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

/// A certificate PDF is a few hundred KB; base64 adds a third.
const MAX_VERIFY_BODY: usize = 4 * 1024 * 1024;

pub async fn verify(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    // The body is JSON (certificate text or base64 PDF, openapi.json):
    // anything else is refused before it is read.
    let json = matches!(req.mime_type(), Ok(Some(m)) if m.essence_str() == "application/json");
    if !json {
        return Err(Error::UnsupportedMediaType {
            expected: "application/json",
        });
    }
    // Per client address, before the body is read.
    state.verify_rate_limit(req.peer_addr().map(|a| a.ip()))?;
    let (body, _inflight) = read_body(&req, payload, MAX_VERIFY_BODY, &state.verify_bytes).await?;
    let report = state.verify(body).await?;
    Ok(HttpResponse::Ok().json(report))
}
