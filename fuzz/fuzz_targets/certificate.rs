//! The deposit certificate JSON: the strict parser, its canonical
//! rendering, and the whole verification (`Verifier::verify_certificate`)
//! under the development roots, with and without an evidence digest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notarium_core::CertificateJson;
use notarium_core::encoding::parse_hex32;
use notarium_core::merkle::sha256;
use notarium_fuzz::{check_report, verifier, verifier_any_origin};

fuzz_target!(|data: &[u8]| {
    // With a digest: the evidence's own (from the certificate, when it
    // parses) so that the file check passes, else any.
    let mut digest = sha256(data);
    if let Ok(cert) = CertificateJson::from_json(data) {
        // The canonical rendering parses back to the same certificate.
        let again = CertificateJson::from_json(cert.to_json().as_bytes())
            .expect("the canonical rendering parses");
        assert_eq!(again, cert);
        if let Ok(d) = parse_hex32("sha256", &cert.evidence.sha256) {
            digest = d;
        }
    }
    check_report(&verifier().verify_certificate(data, None));
    check_report(&verifier_any_origin().verify_certificate(data, Some(&digest)));
});
