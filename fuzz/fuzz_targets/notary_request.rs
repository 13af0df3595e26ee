//! The notary's request bodies and query parameters, through exactly the
//! functions its handlers call before touching the store (the crate
//! notarium-request): `POST /v1/evidence` and `/v1/evidence:batch` (JSON,
//! digest, metadata normalisation), `POST /v1/verify` (JSON, base64 PDF
//! extraction, then the verification), the evidence id of a path, and the
//! query strings of `/v1/evidence?sha256=`, `/v1/proof/inclusion` and
//! `/v1/proof/consistency`, and the `Idempotency-Key` header. A refusal is a `Rejected`, which the notary
//! answers 400 whatever its kind: the type says it is the client's
//! mistake; the target checks what an accepted request promises.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notarium_core::entry::MAX_METADATA_BYTES;
use notarium_fuzz::{check_report, verifier};
use notarium_request::{
    ConsistencyQuery, InclusionQuery, Lookup, MAX_BATCH, MAX_IDEMPOTENCY_KEY, Rejected,
    is_evidence_id, parse_batch, parse_idempotency_key, parse_query, parse_sha256,
    parse_submission, parse_verify_request,
};

/// A refusal names what is wrong.
fn explained(e: &Rejected) {
    assert!(!e.message.is_empty(), "{:?} without a message", e.kind);
}

fuzz_target!(|data: &[u8]| {
    match parse_submission(data) {
        Ok((_, m)) => assert!(m.is_none_or(|m| m.as_str().len() <= MAX_METADATA_BYTES)),
        Err(e) => explained(&e),
    }
    match parse_batch(data) {
        Ok(items) => assert!(!items.is_empty() && items.len() <= MAX_BATCH),
        Err(e) => explained(&e),
    }
    match parse_verify_request(data) {
        Ok((json, digest)) => check_report(&verifier().verify_certificate(&json, digest.as_ref())),
        Err(e) => explained(&e),
    }
    match parse_idempotency_key(data) {
        // A key is printable ASCII, 1 to 255 characters, and a bare key
        // (not starting with a quote) is the header value itself.
        Ok(k) => {
            assert!((1..=MAX_IDEMPOTENCY_KEY).contains(&k.len()));
            assert!(k.bytes().all(|c| (0x20..=0x7e).contains(&c)));
            if data.first() != Some(&b'"') {
                assert_eq!(k.as_bytes(), data);
            }
        }
        Err(e) => explained(&e),
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match parse_sha256(s) {
        Ok(d) => assert_eq!(
            notarium_core::encoding::hex_lower(&d),
            s.to_ascii_lowercase()
        ),
        Err(e) => explained(&e),
    }
    if is_evidence_id(s) {
        assert_eq!(s.len(), 32);
    }
    if let Ok(q) = parse_query::<Lookup>(s) {
        let _ = parse_sha256(&q.sha256);
    }
    let _ = parse_query::<InclusionQuery>(s);
    let _ = parse_query::<ConsistencyQuery>(s);
});
