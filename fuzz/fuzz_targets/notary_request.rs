//! The notary's request bodies and query parameters, through exactly the
//! functions its handlers call before touching the store: `POST
//! /v1/evidence` and `/v1/evidence:batch` (JSON, digest, metadata
//! normalisation), `POST /v1/verify` (JSON, base64 PDF extraction, then
//! the verification), the evidence id of a path, and the query strings of
//! `/v1/evidence?sha256=`, `/v1/proof/inclusion` and
//! `/v1/proof/consistency`. Every refusal must be a 4xx answer.
#![no_main]

use actix_web::web::Query;
use libfuzzer_sys::fuzz_target;
use notarium::api::error::reply_of;
use notarium::api::evidence::Lookup;
use notarium::api::log::{ConsistencyQuery, InclusionQuery};
use notarium::service::{
    Error, is_evidence_id, parse_batch, parse_sha256, parse_submission, parse_verify_request,
};
use notarium_core::entry::MAX_METADATA_BYTES;
use notarium_fuzz::{check_report, verifier};

fn refused(e: &Error) {
    let status = reply_of(e).status;
    assert!(status.is_client_error(), "{status} for {e}");
}

fuzz_target!(|data: &[u8]| {
    match parse_submission(data) {
        Ok((_, m)) => assert!(m.is_none_or(|m| m.as_str().len() <= MAX_METADATA_BYTES)),
        Err(e) => refused(&e),
    }
    match parse_batch(data) {
        Ok(items) => assert!(!items.is_empty() && items.len() <= notarium::service::MAX_BATCH),
        Err(e) => refused(&e),
    }
    match parse_verify_request(data) {
        Ok((json, digest)) => check_report(&verifier().verify_certificate(&json, digest.as_ref())),
        Err(e) => refused(&e),
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match parse_sha256(s) {
        Ok(d) => assert_eq!(
            notarium_core::encoding::hex_lower(&d),
            s.to_ascii_lowercase()
        ),
        Err(e) => refused(&e),
    }
    if is_evidence_id(s) {
        assert_eq!(s.len(), 32);
    }
    let _ = Query::<Lookup>::from_query(s);
    let _ = Query::<InclusionQuery>::from_query(s);
    let _ = Query::<ConsistencyQuery>::from_query(s);
});
