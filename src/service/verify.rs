//! The core verification, for the judge's page. The evidence file never
//! reaches the notary, only its digest.

use super::{AppState, Error};
use notarium_core::Verifier;
use notarium_core::verify::Report;
use notarium_request::parse_verify_request;

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
