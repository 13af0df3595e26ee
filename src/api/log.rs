//! For monitors and auditors: the latest final checkpoint and proofs, and
//! the log as C2SP tlog-tiles (`/checkpoint`, `/tile/...`, docs/tiles.md).

use crate::service::{AppState, Error};
use crate::tiles::{self, Tile};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
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

/// `GET /tile/<L>/<N>[.p/<W>]`: a hash tile (hashes do not compress: sent
/// as they are).
pub async fn tile(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let tile = Tile::parse(&path).map_err(tiles::malformed)?;
    let bytes = state.tile(tile).await?;
    Ok(tile_response(tile).body(bytes))
}

/// `GET /tile/entries/<N>[.p/<W>]`: an entry bundle, gzip-compressed if
/// the client accepts gzip (the spec: bundles SHOULD be compressed at the
/// HTTP layer).
pub async fn entry_bundle(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let tile = Tile::parse(&format!("entries/{path}")).map_err(tiles::malformed)?;
    let bytes = state.tile(tile).await?;
    let mut r = tile_response(tile);
    r.insert_header(("Vary", "Accept-Encoding"));
    if !accepts_gzip(&req) {
        return Ok(r.body(bytes));
    }
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 2),
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(&mut gz, &bytes)
        .and_then(|_| gz.finish())
        .map(|gz| r.insert_header(("Content-Encoding", "gzip")).body(gz))
        .map_err(|e| Error::internal("compressing an entry bundle", e))
}

/// A tile's answer without its body: its type, and cached forever when
/// full.
fn tile_response(tile: Tile) -> HttpResponseBuilder {
    let cache = if tile.is_full() {
        tiles::IMMUTABLE
    } else {
        tiles::PARTIAL
    };
    let mut r = HttpResponse::Ok();
    r.content_type("application/octet-stream")
        .insert_header(("Cache-Control", cache));
    r
}

/// Whether `Accept-Encoding` names gzip (or `*`) with a non-zero quality.
fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(actix_web::http::header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let zero = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !zero
        })
}
