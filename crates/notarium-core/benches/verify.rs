//! Certificate verifications per second (goal: >= 3,000 per core), with a
//! baseline measured in the same run: one bare ECDSA P-256 verification,
//! since a certificate costs three (notary + two witnesses) plus the chain
//! checks of its signer certificates.
//!
//! Also the worst certificate the caps let through (issue 19, CPU): before
//! the caps, the review's 857 KB file cost 3.75 s.
//!
//!     cargo bench -p notarium-core --bench verify

#[path = "../tests/common/mod.rs"]
mod common;

use common::{ORIGIN, T0, dev, five_entry_log, fixture, read, repo};
use criterion::{Criterion, criterion_group, criterion_main};
use notarium_core::{Policy, Status, TrustRoots, Verifier};
use notarium_log::SigningKey;
use notarium_log::testkit::{Cosign, Signer};

/// As much work as the caps allow (docs/format.md, Limits): 63 cosignature
/// lines (with the notary's, the 64 lines of a note), every one by a key
/// whose certificate is carried, so each costs a signature verification
/// and a chain; and 24 certificates, the rest filled with CA certificates
/// of the chain corpus, several with the same subject name (issuer
/// candidates tried in turn).
fn worst_certificate() -> Vec<u8> {
    let witnesses: Vec<Signer> = vec![
        dev("court"),
        dev("arbitration"),
        fixture("court2"),
        fixture("other-court"),
        fixture("expired-court"),
        fixture("nods-court"),
    ];
    let cosigs: Vec<Cosign<'_>> = (0..63)
        .map(|i| Cosign { witness: &witnesses[i % witnesses.len()], time: T0 + i as u64 })
        .collect();
    let log = five_entry_log();
    let note = log.checkpoint_note(ORIGIN, &dev("notary"), &cosigs);
    let mut pems = vec![dev("notary").cert_pem];
    pems.extend(witnesses.iter().map(|w| w.cert_pem.clone()));
    pems.push(read("tests/fixtures/pki/intermediate.pem"));
    let chains = repo().join("crates/notarium-core/tests/chains");
    let mut files: Vec<_> = std::fs::read_dir(&chains)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pem"))
        .collect();
    files.sort();
    let v = common::verifier();
    let format_ok = |pems: &[String]| {
        let json = log.certificate(0, note.clone(), pems.to_vec()).to_json();
        let r = v.verify_certificate(json.as_bytes(), None);
        r.checks.iter().any(|c| c.id.as_str() == "format" && c.status == Status::Pass)
    };
    for f in files {
        if pems.len() == notarium_core::certificate::MAX_CERTIFICATES {
            break;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for pem in text.split_inclusive("-----END CERTIFICATE-----\n") {
            pems.push(pem.to_string());
            if pems.len() > notarium_core::certificate::MAX_CERTIFICATES || !format_ok(&pems) {
                pems.pop();
            }
        }
    }
    assert_eq!(pems.len(), notarium_core::certificate::MAX_CERTIFICATES);
    log.certificate(0, note, pems).to_json().into_bytes()
}

fn bench(c: &mut Criterion) {
    let cert = read("tests/golden/valid-metadata.json").into_bytes();
    let root = read("certs/root.pem");
    let roots = TrustRoots::from_pem(&root).unwrap();
    let warm = Verifier::new(roots.clone(), Some("notarium.example/log".into()), Policy::default());
    assert!(warm.verify_certificate(&cert, None).valid);

    let key = SigningKey::from_pkcs8_der(&SigningKey::generate_pkcs8().unwrap()).unwrap();
    let sig = key.sign(b"baseline message").unwrap();
    c.bench_function("baseline: one ECDSA P-256 verification", |b| {
        b.iter(|| key.public().verify(b"baseline message", &sig).unwrap())
    });
    c.bench_function("certificate: verifier reused (chain checks cached)", |b| {
        b.iter(|| assert!(warm.verify_certificate(&cert, None).valid))
    });
    let worst = worst_certificate();
    let report = warm.verify_certificate(&worst, None);
    assert!(report.checks.iter().all(|c| !c.detail.contains("more than")), "{report:?}");
    c.bench_function("worst certificate the caps allow: fresh verifier", |b| {
        b.iter(|| {
            let v = Verifier::new(roots.clone(), Some(ORIGIN.into()), Policy::default());
            v.verify_certificate(&worst, None)
        })
    });
    c.bench_function("certificate: fresh verifier (chains checked too)", |b| {
        b.iter(|| {
            let v = Verifier::new(
                roots.clone(),
                Some("notarium.example/log".into()),
                Policy::default(),
            );
            assert!(v.verify_certificate(&cert, None).valid)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
