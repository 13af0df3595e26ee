//! For monitors and auditors: the latest final checkpoint and proofs.

use crate::service::{AppState, Error};
use actix_web::{HttpResponse, web};
use notarium_core::encoding::b64;
use notarium_request::{ConsistencyQuery, InclusionQuery};

/// `GET /v1/checkpoint`: the latest final checkpoint with its cosignatures.
pub async fn checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let note = state.final_checkpoint().await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(note))
}

/// `GET /v1/proof/inclusion?index=&size=`
pub async fn inclusion(
    q: web::Query<InclusionQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let path = state.inclusion_proof(q.index, q.size).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "index": q.index, "size": q.size, "hashes": path.iter().map(|h| b64(h)).collect::<Vec<_>>()
    })))
}

/// `GET /v1/proof/consistency?old=&new=`
pub async fn consistency(
    q: web::Query<ConsistencyQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let path = state.consistency_proof(q.old, q.new).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "old": q.old, "new": q.new, "hashes": path.iter().map(|h| b64(h)).collect::<Vec<_>>()
    })))
}
