//! `/v1/evidence*`: submissions, status, lookup, certificates.

use super::{authorization, client_ip, read_body};
use crate::intake::Accepted;
use crate::service::{AppState, EntryStatus, Error, Invalid, MAX_BATCH};
use actix_web::{HttpRequest, HttpResponse, web};
use notarium_core::encoding::hex_lower;
use notarium_request::Lookup;
use serde::Serialize;

/// Body limits: one item, a batch.
const MAX_ITEM_BODY: usize = 16 * 1024;
const MAX_BATCH_BODY: usize = MAX_BATCH * 6 * 1024;

/// The 202 body of one accepted entry, serialised straight from borrowed
/// fields (no intermediate `serde_json::Value` and its copies of the
/// receipt). Fields in the order `json!` used to emit them (sorted).
#[derive(Serialize)]
struct AcceptedJson<'a> {
    entry: &'a str,
    id: &'a str,
    received_at: &'a str,
    receipt: &'a str,
    salt: &'a str,
    status: &'static str,
}

#[derive(Serialize)]
struct AcceptedBatchJson<'a> {
    items: Vec<AcceptedJson<'a>>,
}

fn accepted_json(a: &Accepted) -> AcceptedJson<'_> {
    AcceptedJson {
        entry: &a.entry_text,
        id: &a.id,
        received_at: &a.received_at,
        receipt: &a.receipt,
        salt: &a.salt_hex,
        status: "pending",
    }
}

/// `GET /v1/evidence/{id}`'s body; fields sorted, as `json!` emitted them.
#[derive(Serialize)]
struct StatusJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_json: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_pdf: Option<String>,
    id: String,
    index: Option<u64>,
    metadata: serde_json::Value,
    received_at: String,
    sha256: String,
    status: &'static str,
    submitter: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tree_size: Option<u64>,
}

fn status_json(s: EntryStatus) -> Result<StatusJson, Error> {
    let link = |file: &str| format!("/v1/evidence/{}/{file}", s.id);
    let metadata = match &s.entry.metadata {
        Some(m) => {
            serde_json::from_str(m.as_str()).map_err(|e| Error::internal("stored metadata", e))?
        }
        None => serde_json::Value::Null,
    };
    Ok(StatusJson {
        certificate_json: s.final_size.map(|_| link("certificate.json")),
        certificate_pdf: s.final_size.map(|_| link("certificate.pdf")),
        index: s.index,
        metadata,
        received_at: s.entry.received.to_text(),
        sha256: hex_lower(&s.entry.evidence_sha256),
        status: if s.final_size.is_some() {
            "final"
        } else {
            "pending"
        },
        submitter: s.entry.submitter.to_string(),
        tree_size: s.final_size,
        id: s.id,
    })
}

/// The `Idempotency-Key` header's value, if sent (contract §9); sent
/// twice, it names no one key.
fn idempotency_key(req: &HttpRequest) -> Result<Option<&[u8]>, Error> {
    let mut values = req.headers().get_all("idempotency-key");
    let first = values.next();
    if values.next().is_some() {
        return Err(Error::invalid(
            Invalid::IdempotencyKey,
            "Idempotency-Key must be sent once",
        ));
    }
    Ok(first.map(|v| v.as_bytes()))
}

/// `POST /v1/evidence`
pub async fn submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let caller = state
        .authenticate(authorization(&req), client_ip(&req))
        .await?;
    let key = idempotency_key(&req)?;
    let (body, _inflight) =
        read_body(&req, payload, MAX_ITEM_BODY, &state.submission_bytes).await?;
    let accepted = state.submit(&caller, &body, key).await?;
    Ok(HttpResponse::Accepted().json(accepted_json(&accepted)))
}

/// `POST /v1/evidence:batch`: all items or none.
pub async fn submit_batch(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let caller = state
        .authenticate(authorization(&req), client_ip(&req))
        .await?;
    let key = idempotency_key(&req)?;
    let (body, _inflight) =
        read_body(&req, payload, MAX_BATCH_BODY, &state.submission_bytes).await?;
    let accepted = state.submit_batch(&caller, &body, key).await?;
    Ok(HttpResponse::Accepted().json(AcceptedBatchJson {
        items: accepted.iter().map(accepted_json).collect(),
    }))
}

/// `GET /v1/evidence/{id}`
pub async fn get(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let caller = state
        .authenticate(authorization(&req), client_ip(&req))
        .await?;
    let status = state.status(&caller, &id).await?;
    Ok(HttpResponse::Ok().json(status_json(status)?))
}

/// `GET /v1/evidence?sha256=`
pub async fn lookup(
    req: HttpRequest,
    q: web::Query<Lookup>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let caller = state
        .authenticate(authorization(&req), client_ip(&req))
        .await?;
    let items = state
        .lookup(&caller, &q.sha256)
        .await?
        .into_iter()
        .map(status_json)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// `GET /v1/evidence/{id}/certificate.json`
pub async fn certificate_json(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let caller = state
        .authenticate(authorization(&req), client_ip(&req))
        .await?;
    let json = state.certificate_json(&caller, &id).await?;
    Ok(attachment(
        "application/json",
        "certificate.json",
        json.into_bytes(),
    ))
}

/// A download: `body` as `content_type`, saved as `name`.
fn attachment(content_type: &str, name: &str, body: Vec<u8>) -> HttpResponse {
    let disposition = format!("attachment; filename=\"{name}\"");
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Content-Disposition", disposition))
        .body(body)
}

/// `GET /v1/evidence/{id}/certificate.pdf`
pub async fn certificate_pdf(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let caller = state
        .authenticate(authorization(&req), client_ip(&req))
        .await?;
    let pdf = state.certificate_pdf(&caller, &id).await?;
    Ok(attachment("application/pdf", "certificate.pdf", pdf))
}
