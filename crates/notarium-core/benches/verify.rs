//! Certificate verifications per second (goal: >= 3,000 per core), with a
//! baseline measured in the same run: one bare ECDSA P-256 verification,
//! since a certificate costs three (notary + two witnesses) plus the chain
//! checks of its signer certificates.
//!
//!     cargo bench -p notarium-core --bench verify

use criterion::{Criterion, criterion_group, criterion_main};
use notarium_core::{Policy, TrustRoots, Verifier};
use notarium_log::SigningKey;
use std::path::PathBuf;

fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

fn bench(c: &mut Criterion) {
    let cert = std::fs::read(repo("tests/golden/valid-metadata.json")).unwrap();
    let root = std::fs::read_to_string(repo("certs/root.pem")).unwrap();
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
