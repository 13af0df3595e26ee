//! `POST /v1/verify`: the core verification, for the judge's page. The
//! evidence file never reaches the server, only its digest.

use super::error::ApiError;
use super::read_budgeted_body;
use crate::service::AppState;
use actix_web::{HttpResponse, web};
use base64::Engine;
use notarium_core::encoding::parse_hex32_any_case;
use serde::Deserialize;

/// A certificate PDF is a few hundred KB; base64 adds a third.
const MAX_VERIFY_BODY: usize = 4 * 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    /// The certificate JSON text, exactly as in the file.
    #[serde(default)]
    certificate: Option<String>,
    /// Or the certificate PDF, base64.
    #[serde(default)]
    certificate_pdf: Option<String>,
    /// Hex SHA-256 of the evidence file, computed by the caller.
    #[serde(default)]
    sha256: Option<String>,
}

pub async fn verify(
    req: actix_web::HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (body, _inflight) =
        read_budgeted_body(&req, payload, MAX_VERIFY_BODY, &state.verify_bytes, &state).await?;
    let req: VerifyRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))?;
    let json = match (req.certificate, req.certificate_pdf) {
        (Some(c), None) => c.into_bytes(),
        (None, Some(pdf)) => {
            let pdf = base64::engine::general_purpose::STANDARD
                .decode(pdf.as_bytes())
                .map_err(|e| {
                    ApiError::bad_request(
                        "invalid_request",
                        format!("certificate_pdf is not base64: {e}"),
                    )
                })?;
            notarium_pdf::extract_certificate_json(&pdf)
                .map_err(|e| ApiError::bad_request("invalid_pdf", e.to_string()))?
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "give exactly one of certificate (JSON text) and certificate_pdf (base64)",
            ));
        }
    };
    let digest = req
        .sha256
        .map(|s| parse_hex32_any_case("sha256", &s))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_sha256", e.to_string()))?;
    let verifier = state.verifier.clone();
    let report =
        tokio::task::spawn_blocking(move || verifier.verify_certificate(&json, digest.as_ref()))
            .await
            .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(report))
}
