//! Reading `certificate.json` out of a certificate PDF (notarium-pdf's
//! extraction, on lopdf): any bytes, refused or read, within the size
//! limits; what is read goes on to the certificate parser as the verifier
//! does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notarium_core::CertificateJson;
use notarium_pdf::{MAX_ATTACHMENT_BYTES, extract_certificate_json};

fuzz_target!(|data: &[u8]| {
    if let Ok(json) = extract_certificate_json(data) {
        assert!(
            json.len() <= MAX_ATTACHMENT_BYTES,
            "{} bytes read",
            json.len()
        );
        let _ = CertificateJson::from_json(&json);
    }
});
