//! The core verification, for the judge's page. The evidence file never
//! reaches the notary, only its digest.

use super::evidence::{parse_json, parse_sha256};
use super::{AppState, Error, Invalid};
use base64::Engine;
use notarium_core::Verifier;
use notarium_core::merkle::Hash;
use notarium_core::verify::Report;
use serde::Deserialize;

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

/// The body of `POST /v1/verify`, parsed: the certificate JSON (given as
/// text, or extracted from the base64 PDF) and the evidence digest, if
/// given; or the 4xx error the handler answers. Pure (no store, no
/// runtime), so the fuzz target `notary_request` calls exactly this.
pub fn parse_verify_request(body: &[u8]) -> Result<(Vec<u8>, Option<Hash>), Error> {
    let req: VerifyRequest = parse_json(body)?;
    let json = match (req.certificate, req.certificate_pdf) {
        (Some(c), None) => c.into_bytes(),
        (None, Some(pdf)) => {
            let pdf = base64::engine::general_purpose::STANDARD
                .decode(pdf.as_bytes())
                .map_err(|e| {
                    Error::invalid(
                        Invalid::Request,
                        format!("certificate_pdf is not base64: {e}"),
                    )
                })?;
            notarium_pdf::extract_certificate_json(&pdf)
                .map_err(|e| Error::invalid(Invalid::Pdf, e.to_string()))?
        }
        _ => {
            return Err(Error::invalid(
                Invalid::Request,
                "give exactly one of certificate (JSON text) and certificate_pdf (base64)",
            ));
        }
    };
    let digest = req.sha256.as_deref().map(parse_sha256).transpose()?;
    Ok((json, digest))
}

impl AppState {
    /// `POST /v1/verify`: a report, valid or not; an error only when the
    /// request itself is malformed. The work (JSON, base64, the PDF, the
    /// verification) runs on the blocking pool, [`super::VERIFY_SLOTS`]
    /// requests at a time, never on the workers that answer other requests.
    pub async fn verify<B: AsRef<[u8]> + Send + 'static>(&self, body: B) -> Result<Report, Error> {
        let _slot = self
            .verify_slots
            .acquire()
            .await
            .map_err(|e| Error::internal("the verification slots", e))?;
        let verifier = self.verifier.clone();
        tokio::task::spawn_blocking(move || verify_blocking(&verifier, body.as_ref()))
            .await
            .map_err(|e| Error::internal("the verification task", e))?
    }
}

fn verify_blocking(verifier: &Verifier, body: &[u8]) -> Result<Report, Error> {
    let (json, digest) = parse_verify_request(body)?;
    Ok(verifier.verify_certificate(&json, digest.as_ref()))
}
