//! `/v1/evidence*`: submissions, status, lookup, certificates.

use super::error::ApiError;
use super::{InFlight, read_budgeted_body};
use crate::intake::Accepted;
use crate::service::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use notarium_core::encoding::parse_hex32_any_case;
use notarium_core::entry::{MAX_METADATA_BYTES, Metadata, SubmitterId};
use notarium_core::merkle::Hash;
use notarium_core::time::UtcMillis;
use notarium_store::StoredEntry;
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::atomic::Ordering;

/// Largest batch.
pub const MAX_BATCH: usize = 1000;
/// Body limits: one item, a batch.
pub const MAX_ITEM_BODY: usize = 16 * 1024;
pub const MAX_BATCH_BODY: usize = MAX_BATCH * 6 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item<'a> {
    /// Borrowed from the request body unless it has escapes.
    #[serde(borrow)]
    sha256: Cow<'a, str>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRequest<'a> {
    #[serde(borrow)]
    items: Vec<Item<'a>>,
}

fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let code = if e.is_syntax() || e.is_eof() {
            "invalid_json"
        } else {
            "invalid_request"
        };
        ApiError::bad_request(code, e.to_string())
    })
}

/// Validates one item; `at` names it in batch errors.
fn validate(item: Item, at: Option<usize>) -> Result<([u8; 32], Option<Metadata>), ApiError> {
    let place = || at.map(|i| format!("items[{i}]: ")).unwrap_or_default();
    let digest = parse_hex32_any_case("sha256", &item.sha256)
        .map_err(|e| ApiError::bad_request("invalid_sha256", format!("{}{e}", place())))?;
    let metadata = match item.metadata {
        None | Some(serde_json::Value::Null) => None,
        Some(v @ serde_json::Value::Object(_)) => {
            let m = Metadata::normalise(&v).map_err(|_| {
                ApiError::bad_request(
                    "metadata_too_large",
                    format!(
                        "{}metadata is larger than {MAX_METADATA_BYTES} bytes",
                        place()
                    ),
                )
            })?;
            Some(m)
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_metadata",
                format!("{}metadata must be a JSON object", place()),
            ));
        }
    };
    Ok((digest, metadata))
}

/// The 202 body of one accepted entry, serialised straight from borrowed
/// fields (no intermediate `serde_json::Value` and its copies of the
/// receipt). Fields in the order `json!` used to emit them (sorted).
#[derive(serde::Serialize)]
struct AcceptedJson<'a> {
    entry: &'a str,
    id: &'a str,
    received_at: &'a str,
    receipt: &'a str,
    salt: &'a str,
    status: &'static str,
}

#[derive(serde::Serialize)]
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

fn authorization(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
}

/// The start of both submission endpoints: the caller's tenant and key
/// hash, then the body, read within the shared submission budget (keep the
/// guard until the response is ready).
async fn submission<'a>(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    state: &'a AppState,
) -> Result<(SubmitterId, Hash, web::Bytes, InFlight<'a>), ApiError> {
    let (tenant, key) = state.authenticate(authorization(req)).await?;
    let (body, inflight) =
        read_budgeted_body(req, payload, limit, &state.submission_bytes, state).await?;
    Ok((tenant, key, body, inflight))
}

/// `POST /v1/evidence`
pub async fn submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, key, body, _inflight) = submission(&req, payload, MAX_ITEM_BODY, &state).await?;
    let item = validate(
        parse_json::<Item>(&body).inspect_err(|_| state.metrics.reject("bad_request"))?,
        None,
    )
    .inspect_err(|_| state.metrics.reject("bad_request"))?;
    state.rate_limit(&key, 1)?;
    let accepted = state
        .intake
        .submit(&tenant, vec![item])
        .await
        .inspect_err(|_| state.metrics.reject("overloaded"))?;
    state.metrics.submissions.fetch_add(1, Ordering::Relaxed);
    Ok(HttpResponse::Accepted().json(accepted_json(&accepted[0])))
}

/// `POST /v1/evidence:batch`: all items or none.
pub async fn submit_batch(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, key, body, _inflight) = submission(&req, payload, MAX_BATCH_BODY, &state).await?;
    let batch: BatchRequest =
        parse_json(&body).inspect_err(|_| state.metrics.reject("bad_request"))?;
    if batch.items.is_empty() {
        state.metrics.reject("bad_request");
        return Err(ApiError::bad_request(
            "empty_batch",
            "items must not be empty",
        ));
    }
    if batch.items.len() > MAX_BATCH {
        state.metrics.reject("bad_request");
        return Err(ApiError::bad_request(
            "batch_too_large",
            format!("{} items; at most {MAX_BATCH} per batch", batch.items.len()),
        ));
    }
    let items = batch
        .items
        .into_iter()
        .enumerate()
        .map(|(i, it)| validate(it, Some(i)))
        .collect::<Result<Vec<_>, _>>()
        .inspect_err(|_| state.metrics.reject("bad_request"))?;
    state.rate_limit(&key, items.len())?;
    let n = items.len();
    let accepted = state
        .intake
        .submit(&tenant, items)
        .await
        .inspect_err(|_| state.metrics.reject("overloaded"))?;
    state
        .metrics
        .submissions
        .fetch_add(n as u64, Ordering::Relaxed);
    Ok(HttpResponse::Accepted().json(AcceptedBatchJson {
        items: accepted.iter().map(accepted_json).collect(),
    }))
}

fn check_id(id: &str) -> Result<(), ApiError> {
    if id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no evidence with id \"{id}\"")))
    }
}

async fn own_entry(req: &HttpRequest, state: &AppState, id: &str) -> Result<StoredEntry, ApiError> {
    let (tenant, _) = state.authenticate(authorization(req)).await?;
    check_id(id)?;
    // Another tenant's entry is indistinguishable from a missing one.
    state
        .store
        .get_entry(tenant.as_str(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no evidence with id \"{id}\"")))
}

async fn status_json(state: &AppState, e: &StoredEntry) -> Result<serde_json::Value, ApiError> {
    let cert = state.certificate(e).await?;
    let r = &e.entry;
    let metadata: serde_json::Value = match &r.metadata {
        Some(m) => serde_json::from_str(m).map_err(ApiError::internal)?,
        None => serde_json::Value::Null,
    };
    let mut v = serde_json::json!({
        "id": r.id,
        "status": if cert.is_some() { "final" } else { "pending" },
        "sha256": hex::encode(r.evidence_sha256),
        "metadata": metadata,
        "submitter": r.tenant,
        "received_at": UtcMillis::from_millis(r.received_ms).map_err(ApiError::internal)?.to_text(),
        "index": e.log_index,
    });
    if let Some((_, size)) = cert {
        v["tree_size"] = size.into();
        v["certificate_json"] = format!("/v1/evidence/{}/certificate.json", r.id).into();
        v["certificate_pdf"] = format!("/v1/evidence/{}/certificate.pdf", r.id).into();
    }
    Ok(v)
}

/// `GET /v1/evidence/{id}`
pub async fn get(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let e = own_entry(&req, &state, &id).await?;
    Ok(HttpResponse::Ok().json(status_json(&state, &e).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    sha256: String,
}

/// `GET /v1/evidence?sha256=`
pub async fn lookup(
    req: HttpRequest,
    q: web::Query<Lookup>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, _) = state.authenticate(authorization(&req)).await?;
    let digest = parse_hex32_any_case("sha256", &q.sha256)
        .map_err(|e| ApiError::bad_request("invalid_sha256", e.to_string()))?;
    let entries = state
        .store
        .find_entries(tenant.as_str(), &digest, 100)
        .await?;
    let mut items = Vec::with_capacity(entries.len());
    for e in &entries {
        items.push(status_json(&state, e).await?);
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

async fn final_certificate(
    req: &HttpRequest,
    state: &AppState,
    id: &str,
) -> Result<(String, StoredEntry), ApiError> {
    let e = own_entry(req, state, id).await?;
    match state.certificate(&e).await? {
        Some((json, _)) => Ok((json, e)),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_final",
            "the entry is not final yet: its certificate exists once witnesses cosign a checkpoint that includes it",
        )),
    }
}

/// `GET /v1/evidence/{id}/certificate.json`
pub async fn certificate_json(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (json, _) = final_certificate(&req, &state, &id).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"certificate.json\"",
        ))
        .body(json))
}

/// `GET /v1/evidence/{id}/certificate.pdf`
pub async fn certificate_pdf(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (json, e) = final_certificate(&req, &state, &id).await?;
    let pdf = crate::render::pdf(&state.renderer, &state.config, &e.entry.id, json).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"certificate.pdf\"",
        ))
        .body(pdf))
}
