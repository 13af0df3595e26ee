//! For monitors and auditors: the latest final checkpoint and proofs.

use super::error::ApiError;
use crate::service::AppState;
use crate::store::prove;
use actix_web::{HttpResponse, web};
use notarium_core::encoding::b64;
use notarium_log::tree::Plan;
use serde::Deserialize;

/// `GET /v1/checkpoint`: the latest final checkpoint with its cosignatures.
pub async fn checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.store.latest_final().await? {
        Some(f) => Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(f.note)),
        None => Err(ApiError::not_found("no checkpoint is final yet")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    index: u64,
    size: u64,
}

/// `GET /v1/proof/inclusion?index=&size=`
pub async fn inclusion(
    q: web::Query<InclusionQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let size = state.log_size_at_least(q.size).await?;
    if q.size > size || q.index >= q.size {
        return Err(ApiError::bad_request(
            "out_of_range",
            format!(
                "need index < size <= {size} (the log size); got index {} size {}",
                q.index, q.size
            ),
        ));
    }
    let (index, tree) = (q.index, q.size);
    let plan = Plan::inclusion(index, tree).map_err(ApiError::internal)?;
    let path = prove(&*state.store, &plan).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "index": index, "size": tree, "hashes": path.iter().map(|h| b64(h)).collect::<Vec<_>>()
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    old: u64,
    new: u64,
}

/// `GET /v1/proof/consistency?old=&new=`
pub async fn consistency(
    q: web::Query<ConsistencyQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let size = state.log_size_at_least(q.new).await?;
    if q.new > size || q.old > q.new {
        return Err(ApiError::bad_request(
            "out_of_range",
            format!(
                "need old <= new <= {size} (the log size); got old {} new {}",
                q.old, q.new
            ),
        ));
    }
    let (old, new) = (q.old, q.new);
    let plan = Plan::consistency(old, new).map_err(ApiError::internal)?;
    let path = prove(&*state.store, &plan).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "old": old, "new": new, "hashes": path.iter().map(|h| b64(h)).collect::<Vec<_>>()
    })))
}
