//! What the fuzz targets share: the development PKI (compiled in, so a
//! target binary runs from anywhere) and the splitting of one input into
//! several texts.

use notarium_core::identity::{CertInfo, certs_from_pem_file};
use notarium_core::{Policy, TrustRoots, Verifier};
use std::sync::OnceLock;

/// The log origin of the development PKI (certs/notary.pem's CN).
pub const ORIGIN: &str = "notarium.example/log";
/// 2026-11-29T06:00:00Z: inside the development certificates' validity.
pub const T0: u64 = 1_795_932_000;

pub const ROOT_PEM: &str = include_str!("../../certs/root.pem");
pub const NOTARY_PEM: &str = include_str!("../../certs/notary.pem");
pub const COURT_PEM: &str = include_str!("../../certs/court.pem");
pub const COURT_KEY: &str = include_str!("../../certs/court.key");
pub const ARBITRATION_PEM: &str = include_str!("../../certs/arbitration.pem");

/// A verifier as `notarium-verify` builds it for the development PKI:
/// certs/root.pem, the origin pinned, the default policy.
pub fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let roots = TrustRoots::from_pem(ROOT_PEM).expect("certs/root.pem");
        Verifier::new(roots, Some(ORIGIN.to_string()), Policy::default())
    })
}

/// The same, with no origin pinned (any notary under the roots).
pub fn verifier_any_origin() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let roots = TrustRoots::from_pem(ROOT_PEM).expect("certs/root.pem");
        Verifier::new(roots, None, Policy::default())
    })
}

/// The certificate of certs/`name`.pem.
pub fn cert(pem: &str) -> CertInfo {
    certs_from_pem_file(pem)
        .expect("a development certificate")
        .remove(0)
}

/// Splits an input into `N` parts at NUL bytes (which no valid text
/// carries): the first `N - 1` NULs separate, the last part takes the rest.
/// Missing parts are empty.
pub fn split<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut out = [&data[..0]; N];
    let mut rest = data;
    for (i, slot) in out.iter_mut().enumerate() {
        if i + 1 == N {
            *slot = rest;
            break;
        }
        match rest.iter().position(|&b| b == 0) {
            Some(p) => {
                *slot = &rest[..p];
                rest = &rest[p + 1..];
            }
            None => {
                *slot = rest;
                rest = &rest[rest.len()..];
            }
        }
    }
    out
}

/// The bytes as text, if they are UTF-8.
pub fn text(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// Every report must be self-consistent whatever the input: a valid
/// document passed every check and has a witnessed time; a receipt is
/// never valid. It must also serialise (the CLI's --json, /v1/verify).
pub fn check_report(r: &notarium_core::Report) {
    use notarium_core::{Kind, Status};
    let failed = r.checks.iter().any(|c| c.status == Status::Fail);
    assert_eq!(r.verified, !r.checks.is_empty() && !failed, "{r:?}");
    assert_eq!(r.witnessed, r.witnessed_unix.is_some(), "{r:?}");
    if r.valid {
        assert!(
            r.verified && r.witnessed && r.kind != Kind::Receipt,
            "{r:?}"
        );
        assert!(r.witnessed_at.is_some(), "{r:?}");
    }
    if r.kind == Kind::Receipt {
        assert!(!r.valid, "a receipt reported valid: {r:?}");
    }
    serde_json::to_string(r).expect("a report serialises");
}
