//! Shared by the core's integration tests: the development PKI and golden
//! certificates.
#![allow(dead_code)]

use notarium_core::{Policy, TrustRoots, Verifier};
use notarium_log::testkit::{Cosign, Signer, TestLog};
use std::path::PathBuf;

pub(crate) const ORIGIN: &str = "notarium.example/log";
/// 2026-11-29T06:00:00Z
pub(crate) const T0: u64 = 1_795_932_000;

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub(crate) fn signer(dir: &str, name: &str) -> Signer {
    Signer::from_pem(&read(&format!("{dir}/{name}.key")), &read(&format!("{dir}/{name}.pem")))
}

pub(crate) fn dev(name: &str) -> Signer {
    signer("certs", name)
}

pub(crate) fn fixture(name: &str) -> Signer {
    signer("tests/fixtures/pki", name)
}

pub(crate) fn verifier() -> Verifier {
    Verifier::new(
        TrustRoots::from_pem(&read("certs/root.pem")).unwrap(),
        Some(ORIGIN.to_string()),
        Policy::default(),
    )
}

pub(crate) fn digest(i: u8) -> [u8; 32] {
    notarium_core::merkle::sha256(&[i; 100])
}

/// A log of five entries; entry 3 has metadata.
pub(crate) fn five_entry_log() -> TestLog {
    let mut log = TestLog::new();
    for i in 0..5u8 {
        let meta = (i == 3).then_some(
            r#"{"case_reference":"(2026) Jing 0105 Min Chu 1234","file_name":"contract.pdf","media_type":"application/pdf","size":48213,"title":"Supply contract"}"#,
        );
        log.append(
            digest(i),
            [i + 0x40; 32],
            meta,
            "acme-trading",
            &format!("2026-11-29T05:59:5{i}.12{i}Z"),
        );
    }
    log
}

/// A certificate from `log` for `index` cosigned by `cosigs`, carrying
/// the notary's and the witnesses' certificates plus `extra` PEMs.
pub(crate) fn issue(
    log: &TestLog,
    index: u64,
    notary: &Signer,
    cosigs: &[Cosign<'_>],
    extra: &[String],
) -> Vec<u8> {
    let note = log.checkpoint_note(ORIGIN, notary, cosigs);
    let mut pems = vec![notary.cert_pem.clone()];
    pems.extend(cosigs.iter().map(|c| c.witness.cert_pem.clone()));
    pems.extend(extra.iter().cloned());
    log.certificate(index, note, pems).to_json().into_bytes()
}

/// Reads a golden certificate; `UPDATE_GOLDEN=1` rewrites it first.
pub(crate) fn golden(name: &str, make: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
    let path = repo().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, make()).unwrap();
    }
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()))
}

pub(crate) fn golden_metadata() -> Vec<u8> {
    golden("valid-metadata.json", || {
        let log = five_entry_log();
        let (court, arb) = (dev("court"), dev("arbitration"));
        issue(
            &log,
            3,
            &dev("notary"),
            &[Cosign { witness: &court, time: T0 + 2 }, Cosign { witness: &arb, time: T0 + 3 }],
            &[],
        )
    })
}

pub(crate) fn golden_minimal() -> Vec<u8> {
    golden("valid-minimal.json", || {
        let mut log = TestLog::new();
        log.append(digest(9), [7; 32], None, "a", "2026-11-29T05:00:00.000Z");
        let (court, arb) = (dev("court"), dev("arbitration"));
        issue(
            &log,
            0,
            &dev("notary"),
            &[Cosign { witness: &arb, time: T0 }, Cosign { witness: &court, time: T0 }],
            &[],
        )
    })
}

pub(crate) fn golden_intermediate() -> Vec<u8> {
    golden("valid-intermediate.json", || {
        let log = five_entry_log();
        let (court2, arb) = (fixture("court2"), dev("arbitration"));
        let inter = notarium_core::encoding::pem_encode(
            "CERTIFICATE",
            &notarium_core::identity::certs_from_pem_file(&read(
                "tests/fixtures/pki/intermediate.pem",
            ))
            .unwrap()[0]
                .der,
        );
        issue(
            &log,
            4,
            &dev("notary"),
            &[Cosign { witness: &court2, time: T0 + 10 }, Cosign { witness: &arb, time: T0 + 11 }],
            &[inter],
        )
    })
}
