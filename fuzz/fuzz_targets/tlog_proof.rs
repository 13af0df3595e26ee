//! A bare tlog-proof with its entry text and signer certificates (three
//! parts separated by NUL bytes: entry, proof, PEM certificates): the
//! tlog-proof parser, the entry text parser, PEM certificate loading and
//! `Verifier::verify_tlog_proof`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notarium_core::identity::certs_from_pem_file;
use notarium_core::proof::TlogProof;
use notarium_fuzz::{check_report, split, text, verifier};

fuzz_target!(|data: &[u8]| {
    let [entry, proof, certs] = split::<3>(data);
    let Some(proof) = text(proof) else { return };
    if let Ok(p) = TlogProof::parse(proof) {
        // The canonical text of what was parsed parses to the same proof.
        assert_eq!(TlogProof::parse(&p.to_text()).as_ref(), Ok(&p));
    }
    let certs = text(certs)
        .and_then(|t| certs_from_pem_file(t).ok())
        .unwrap_or_default();
    check_report(&verifier().verify_tlog_proof(entry, proof, certs));
});
