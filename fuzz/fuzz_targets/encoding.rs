//! The strict encodings (hex, base64, decimal, PEM) and what is loaded
//! from them: X.509 certificates (DER and canonical PEM), PEM certificate
//! files, trust roots, CRLs (DER or PEM), P-256 public keys, witness
//! policies. Every strict decoder either refuses the text or gives back
//! exactly what it read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notarium_core::encoding::{
    b64, hex_lower, parse_b64, parse_b64_hash, parse_decimal, parse_hex32, parse_hex32_any_case,
    pem_decode_all, pem_decode_canonical, pem_encode,
};
use notarium_core::identity::{CertInfo, Crl, certs_from_pem_file};
use notarium_core::identity::VerifyingKey;
use notarium_core::{Policy, Role, TrustRoots};

fuzz_target!(|data: &[u8]| {
    // Binary: DER certificate, DER or PEM CRL, DER public key.
    if let Ok(c) = CertInfo::from_der(data) {
        assert_eq!(c.der, data, "a certificate keeps its exact DER");
        let pem = pem_encode("CERTIFICATE", &c.der);
        assert_eq!(
            CertInfo::from_canonical_pem(&pem).map(|c| c.der),
            Ok(c.der.clone())
        );
        let _ = (Role::of(&c), c.valid_at(notarium_fuzz::T0 as i64));
    }
    let _ = Crl::from_file(data);
    if let Ok(k) = VerifyingKey::from_spki_der(data) {
        assert_eq!(k.spki_der(), data);
        assert_eq!(VerifyingKey::from_point(k.point()).as_ref(), Ok(&k));
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(h) = parse_hex32("x", s) {
        assert_eq!(hex_lower(&h), s, "lowercase hex has one form");
    }
    if let Ok(h) = parse_hex32_any_case("x", s) {
        assert_eq!(hex_lower(&h), s.to_ascii_lowercase());
    }
    if let Ok(b) = parse_b64("x", s) {
        assert_eq!(b64(&b), s, "base64 has one form");
    }
    if let Ok(h) = parse_b64_hash("x", s) {
        assert_eq!(b64(&h), s);
    }
    if let Ok(n) = parse_decimal("x", s) {
        assert_eq!(n.to_string(), s, "a decimal has one form");
    }
    if let Ok(blocks) = pem_decode_all(s) {
        for b in &blocks {
            let pem = pem_encode(&b.label, &b.der);
            assert_eq!(
                pem_decode_canonical(&b.label, &pem).as_ref(),
                Ok(&b.der),
                "{pem:?}"
            );
        }
    }
    if let Ok(der) = pem_decode_canonical("CERTIFICATE", s) {
        assert_eq!(
            pem_encode("CERTIFICATE", &der),
            s,
            "canonical PEM has one form"
        );
    }
    let _ = CertInfo::from_canonical_pem(s);
    let _ = certs_from_pem_file(s);
    let _ = TrustRoots::from_pem(s);
    if let Ok(p) = Policy::parse(s) {
        assert!(!p.requirements().is_empty());
    }
});
