//! For monitors and auditors: the latest final checkpoint and proofs, and
//! the log as C2SP tlog-tiles (`/checkpoint`, `/tile/...`, docs/tiles.md).

use crate::service::{AppState, Error};
use crate::tiles::{self, Tile};
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

/// `GET /checkpoint` (tlog-tiles): the same note as `/v1/checkpoint`, not
/// to be cached (it moves with every final checkpoint).
pub async fn tlog_checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let note = state.final_checkpoint().await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Cache-Control", tiles::CHECKPOINT))
        .body(note))
}

/// `GET /tile/<L>/<N>[.p/<W>]`: a hash tile.
pub async fn tile(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let tile = Tile::parse(&path).map_err(tiles::malformed)?;
    serve_tile(tile, &state).await
}

/// `GET /tile/entries/<N>[.p/<W>]`: an entry bundle.
pub async fn entry_bundle(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let tile = Tile::parse(&format!("entries/{path}")).map_err(tiles::malformed)?;
    serve_tile(tile, &state).await
}

async fn serve_tile(tile: Tile, state: &AppState) -> Result<HttpResponse, Error> {
    let bytes = state.tile(tile).await?;
    let cache = if tile.is_full() {
        tiles::IMMUTABLE
    } else {
        tiles::PARTIAL
    };
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(("Cache-Control", cache))
        .body(bytes))
}
