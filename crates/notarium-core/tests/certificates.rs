//! Deposit certificates end to end through the core verifier: the golden
//! certificates under tests/golden pass; every tampered byte, foreign signer,
//! forged role, expired or unusable certificate is rejected with a reason.

mod common;

use common::*;
use notarium_core::certificate::CertificateJson;
use notarium_core::encoding::pem_encode;
use notarium_core::identity::certs_from_pem_file;
use notarium_core::{Policy, Report, Role, Status, TrustRoots, Verifier};
use notarium_log::testkit::{Cosign, TestLog};

fn failed(report: &Report) -> Vec<(String, String)> {
    report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| (c.id.as_str().to_string(), c.detail.clone()))
        .collect()
}

fn assert_rejected_by(report: &Report, check: &str, reason: &str) {
    assert!(!report.valid, "accepted: {report:#?}");
    let f = failed(report);
    assert!(
        f.iter().any(|(id, d)| id == check && d.contains(reason)),
        "expected check {check} to fail with \"{reason}\", failures: {f:#?}"
    );
}

#[test]
fn golden_certificates_verify() {
    let v = verifier();
    for (name, json) in [
        ("metadata", golden_metadata()),
        ("minimal", golden_minimal()),
        ("intermediate", golden_intermediate()),
    ] {
        let r = v.verify_certificate(&json, None);
        assert!(r.valid, "{name}: {:#?}", failed(&r));
        assert!(r.checks.iter().any(|c| c.id.as_str() == "file" && c.status == Status::Skipped));
        assert_eq!(r.witnesses.len(), 2, "{name}");
        assert!(r.witnesses.iter().all(|w| w.counted), "{name}");
        assert!(r.witnessed && r.witnessed_at.is_some(), "{name}");
    }
}

#[test]
fn golden_report_says_what_was_certified() {
    let r = verifier().verify_certificate(&golden_metadata(), Some(&digest(3)));
    assert!(r.valid, "{:#?}", failed(&r));
    assert_eq!(r.evidence_sha256.as_deref(), Some(hex::encode(digest(3)).as_str()));
    assert_eq!(r.submitter.as_deref(), Some("acme-trading"));
    assert_eq!(r.received_at.as_deref(), Some("2026-11-29T05:59:53.123Z"));
    let log = r.log.as_ref().unwrap();
    assert_eq!((log.origin.as_str(), log.index, log.tree_size), (ORIGIN, 3, 5));
    // Court at 06:00:02, arbitration at 06:00:03: the default policy was
    // first met when the arbitration witness cosigned (contract §9).
    let times: Vec<(Role, &str)> = r.witnesses.iter().map(|w| (w.role, w.time.as_str())).collect();
    assert_eq!(
        times,
        [(Role::Court, "2026-11-29T06:00:02Z"), (Role::Arbitration, "2026-11-29T06:00:03Z")]
    );
    assert_eq!(r.witnessed_at.as_deref(), Some("2026-11-29T06:00:03Z"));
    assert_eq!(r.witnessed_unix, Some(T0 + 3));
    assert_eq!(r.groups.len(), 2);
    let file = r.checks.iter().find(|c| c.id.as_str() == "file").unwrap();
    assert_eq!(file.status, Status::Pass);
}

#[test]
fn wrong_evidence_file_is_rejected() {
    let r = verifier().verify_certificate(&golden_metadata(), Some(&digest(4)));
    assert_rejected_by(&r, "file", "the certificate is for");
}

#[test]
fn golden_json_is_canonical_rendering() {
    let json = golden_metadata();
    let parsed = CertificateJson::from_json(&json).unwrap();
    assert_eq!(parsed.to_json().into_bytes(), json);
}

/// Changes one byte of a string: the ASCII byte is replaced by a different
/// printable character; inside a multi-byte character the whole character is
/// replaced (a string must stay UTF-8).
fn mutate(s: &str, byte: usize) -> Option<String> {
    if !s.is_char_boundary(byte) {
        return None;
    }
    let c = s[byte..].chars().next()?;
    let replacement = match c {
        'a' => 'b',
        '0'..='8' | 'A'..='Y' | 'b'..='y' => char::from(c as u8 + 1),
        '9' => '0',
        'Z' => 'A',
        'z' => 'y',
        '\n' => ' ',
        ' ' => '\n',
        '\u{2014}' => '-',
        _ => '#',
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..byte]);
    out.push(replacement);
    out.push_str(&s[byte + c.len_utf8()..]);
    Some(out)
}

#[test]
fn every_changed_byte_of_every_field_is_rejected() {
    let json = golden_metadata();
    let base = CertificateJson::from_json(&json).unwrap();
    let v = verifier();
    type Field = (&'static str, fn(&mut CertificateJson) -> &mut String, &'static [&'static str]);
    let fields: Vec<Field> = vec![
        ("format", |c| &mut c.format, &["format"]),
        ("evidence.sha256", |c| &mut c.evidence.sha256, &["format", "entry"]),
        ("evidence.salt", |c| &mut c.evidence.salt, &["format", "entry"]),
        ("evidence.metadata", |c| c.evidence.metadata.as_mut().unwrap(), &["format", "entry"]),
        ("evidence.submitter", |c| &mut c.evidence.submitter, &["format", "entry"]),
        ("evidence.received_at", |c| &mut c.evidence.received_at, &["format", "entry"]),
        ("entry", |c| &mut c.entry, &["entry", "inclusion"]),
        (
            "proof",
            |c| &mut c.proof,
            &["format", "inclusion", "origin", "notary-signature", "cosignature", "policy"],
        ),
    ];
    let mut tried = 0;
    let mut check = |field: &str, tampered: CertificateJson, allowed: &[&str], pos: usize| {
        let r = v.verify_certificate(tampered.to_json().as_bytes(), None);
        let f = failed(&r);
        assert!(!r.valid, "{field} byte {pos}: tampered certificate accepted");
        assert!(
            f.iter().all(|(_, d)| !d.is_empty()),
            "{field} byte {pos}: failure without a reason"
        );
        assert!(
            f.iter().any(|(id, _)| allowed.contains(&id.as_str())),
            "{field} byte {pos}: unexpected failures {f:?}"
        );
        tried += 1;
    };
    for (name, get, allowed) in &fields {
        let len = get(&mut base.clone()).len();
        for pos in 0..len {
            let mut t = base.clone();
            let s = get(&mut t);
            let Some(m) = mutate(s, pos) else { continue };
            *s = m;
            check(name, t, allowed, pos);
        }
    }
    for i in 0..base.certificates.len() {
        let len = base.certificates[i].len();
        for pos in 0..len {
            let mut t = base.clone();
            let Some(m) = mutate(&t.certificates[i], pos) else {
                continue;
            };
            t.certificates[i] = m;
            check(
                "certificates",
                t,
                &["format", "notary-signature", "cosignature", "policy", "certificates"],
                pos,
            );
        }
    }
    assert!(tried > 3000, "only {tried} variants tried");
}

#[test]
fn structural_changes_are_rejected() {
    let base = CertificateJson::from_json(&golden_metadata()).unwrap();
    let v = verifier();
    let mut no_meta = base.clone();
    no_meta.evidence.metadata = None;
    assert_rejected_by(
        &v.verify_certificate(no_meta.to_json().as_bytes(), None),
        "entry",
        "differs",
    );
    let mut dropped = base.clone();
    dropped.certificates.pop();
    assert!(!v.verify_certificate(dropped.to_json().as_bytes(), None).valid);
    let mut dup = base.clone();
    dup.certificates.push(base.certificates[0].clone());
    assert!(!v.verify_certificate(dup.to_json().as_bytes(), None).valid);
    let text = String::from_utf8(golden_metadata()).unwrap();
    let unknown = text.replacen("\"entry\"", "\"note\": \"x\",\n  \"entry\"", 1);
    assert_rejected_by(&v.verify_certificate(unknown.as_bytes(), None), "format", "unknown field");
    assert_rejected_by(&v.verify_certificate(b"not json", None), "format", "certificate JSON");
}

#[test]
fn signers_under_another_root_are_rejected() {
    let log = five_entry_log();
    let (notary, court, arb) =
        (fixture("other-notary"), fixture("other-court"), dev("arbitration"));
    let json = issue(
        &log,
        1,
        &notary,
        &[Cosign { witness: &court, time: T0 }, Cosign { witness: &arb, time: T0 }],
        &[],
    );
    let r = verifier().verify_certificate(&json, None);
    assert_rejected_by(&r, "notary-signature", "does not chain to a configured trust root");
    assert_rejected_by(&r, "cosignature", "does not chain to a configured trust root");
    assert_rejected_by(&r, "policy", "1 court required, 0 counted");
    // And our own certificates are rejected by a verifier trusting only the other root.
    let other = Verifier::new(
        TrustRoots::from_pem(&read("tests/fixtures/pki/other-root.pem")).unwrap(),
        Some(ORIGIN.into()),
        Policy::default(),
    );
    assert_rejected_by(
        &other.verify_certificate(&golden_metadata(), None),
        "notary-signature",
        "does not chain",
    );
}

#[test]
fn a_role_cannot_be_claimed_by_another_witness() {
    // The arbitration witness signs under the court witness's name: its key
    // does not match the court certificate, so it counts for nobody.
    let log = five_entry_log();
    let (court, arb) = (dev("court"), dev("arbitration"));
    let mut impostor = dev("arbitration");
    impostor.name = court.name.clone();
    let note = log.checkpoint_note(
        ORIGIN,
        &dev("notary"),
        &[Cosign { witness: &impostor, time: T0 }, Cosign { witness: &arb, time: T0 }],
    );
    let pems = vec![dev("notary").cert_pem, court.cert_pem.clone(), arb.cert_pem.clone()];
    let json = log.certificate(2, note, pems).to_json().into_bytes();
    let r = verifier().verify_certificate(&json, None);
    assert_rejected_by(
        &r,
        "cosignature",
        "no witness certificate in the file has this name and key ID",
    );
    assert_rejected_by(&r, "policy", "court");
    // A notary certificate cannot act as a witness either.
    let mut notary_as_witness = dev("notary");
    notary_as_witness.name = "court.example/witness".into();
    let note = log.checkpoint_note(
        ORIGIN,
        &dev("notary"),
        &[Cosign { witness: &notary_as_witness, time: T0 }, Cosign { witness: &arb, time: T0 }],
    );
    let pems = vec![dev("notary").cert_pem, arb.cert_pem.clone()];
    let json = log.certificate(2, note, pems).to_json().into_bytes();
    assert_rejected_by(
        &verifier().verify_certificate(&json, None),
        "cosignature",
        "no witness certificate",
    );
    assert_rejected_by(&verifier().verify_certificate(&json, None), "policy", "court");
}

#[test]
fn cosignatures_outside_certificate_validity_are_rejected() {
    let log = five_entry_log();
    let (court, arb, expired) = (dev("court"), dev("arbitration"), fixture("expired-court"));
    // The expired witness cosigns today.
    let json = issue(
        &log,
        0,
        &dev("notary"),
        &[Cosign { witness: &expired, time: T0 }, Cosign { witness: &arb, time: T0 }],
        &[],
    );
    assert_rejected_by(
        &verifier().verify_certificate(&json, None),
        "cosignature",
        "is not valid at 2026-11-29T06:00:00Z",
    );
    // A valid witness whose cosignature claims a time before its certificate (2024).
    let json = issue(
        &log,
        0,
        &dev("notary"),
        &[Cosign { witness: &court, time: 1_704_067_200 - 1 }, Cosign { witness: &arb, time: T0 }],
        &[],
    );
    let r = verifier().verify_certificate(&json, None);
    assert_rejected_by(&r, "cosignature", "is not valid at 2023-12-31T23:59:59Z");
}

#[test]
fn witness_certificate_without_digital_signature_is_rejected() {
    let log = five_entry_log();
    let (nods, arb) = (fixture("nods-court"), dev("arbitration"));
    let json = issue(
        &log,
        0,
        &dev("notary"),
        &[Cosign { witness: &nods, time: T0 }, Cosign { witness: &arb, time: T0 }],
        &[],
    );
    assert_rejected_by(
        &verifier().verify_certificate(&json, None),
        "cosignature",
        "no digitalSignature key usage",
    );
}

#[test]
fn unused_certificates_and_unknown_signatures_are_rejected() {
    let log = five_entry_log();
    let (court, arb) = (dev("court"), dev("arbitration"));
    let extra = pem_encode(
        "CERTIFICATE",
        &certs_from_pem_file(&read("tests/fixtures/pki/court2.pem")).unwrap()[0].der,
    );
    let json = issue(
        &log,
        0,
        &dev("notary"),
        &[Cosign { witness: &court, time: T0 }, Cosign { witness: &arb, time: T0 }],
        &[extra],
    );
    assert_rejected_by(
        &verifier().verify_certificate(&json, None),
        "certificates",
        "court2.example/witness",
    );
    // A cosignature line from a witness whose certificate is not included.
    let c2 = fixture("court2");
    let note = log.checkpoint_note(
        ORIGIN,
        &dev("notary"),
        &[
            Cosign { witness: &court, time: T0 },
            Cosign { witness: &arb, time: T0 },
            Cosign { witness: &c2, time: T0 },
        ],
    );
    let pems = vec![dev("notary").cert_pem, court.cert_pem.clone(), arb.cert_pem.clone()];
    let json = log.certificate(0, note, pems).to_json();
    assert_rejected_by(
        &verifier().verify_certificate(json.as_bytes(), None),
        "cosignature",
        "court2.example/witness",
    );
}

#[test]
fn policy_and_origin_are_enforced() {
    let json = golden_metadata();
    let strict = Verifier::new(
        TrustRoots::from_pem(&read("certs/root.pem")).unwrap(),
        Some(ORIGIN.into()),
        Policy::parse("court>=2 arbitration>=1").unwrap(),
    );
    assert_rejected_by(
        &strict.verify_certificate(&json, None),
        "policy",
        "2 court required, 1 counted",
    );
    let elsewhere = Verifier::new(
        TrustRoots::from_pem(&read("certs/root.pem")).unwrap(),
        Some("other.example/log".into()),
        Policy::default(),
    );
    assert_rejected_by(
        &elsewhere.verify_certificate(&json, None),
        "origin",
        "expected other.example/log",
    );
    let unpinned = Verifier::new(
        TrustRoots::from_pem(&read("certs/root.pem")).unwrap(),
        None,
        Policy::default(),
    );
    assert!(unpinned.verify_certificate(&json, None).valid);
    // A single witness is not enough under the default policy.
    let log = five_entry_log();
    let court = dev("court");
    let one = issue(&log, 0, &dev("notary"), &[Cosign { witness: &court, time: T0 }], &[]);
    assert_rejected_by(&verifier().verify_certificate(&one, None), "policy", "arbitration");
    let none = issue(&log, 0, &dev("notary"), &[], &[]);
    assert_rejected_by(
        &verifier().verify_certificate(&none, None),
        "notary-signature",
        "no counted cosignature",
    );
}

#[test]
fn bare_tlog_proof_verifies_with_entry_and_signer_certificates() {
    let cert = CertificateJson::from_json(&golden_metadata()).unwrap();
    let certs: Vec<_> = cert
        .certificates
        .iter()
        .map(|p| notarium_core::identity::CertInfo::from_canonical_pem(p).unwrap())
        .collect();
    let v = verifier();
    let r = v.verify_tlog_proof(cert.entry.as_bytes(), &cert.proof, certs.clone());
    assert!(r.valid, "{:#?}", failed(&r));
    assert_eq!(r.submitter.as_deref(), Some("acme-trading"));
    let other_entry = cert.entry.replace("acme-trading", "acme-tradinh");
    assert_rejected_by(
        &v.verify_tlog_proof(other_entry.as_bytes(), &cert.proof, certs),
        "inclusion",
        "different root",
    );
}

#[test]
fn empty_log_certificates_cannot_exist() {
    // A checkpoint of size 0 proves nothing: index 0 is out of range.
    let log = TestLog::new();
    let (court, arb) = (dev("court"), dev("arbitration"));
    let note = log.checkpoint_note(
        ORIGIN,
        &dev("notary"),
        &[Cosign { witness: &court, time: T0 }, Cosign { witness: &arb, time: T0 }],
    );
    let mut other = five_entry_log();
    other.tree = log.tree;
    let c = notarium_log::sign::issue_certificate(
        &other.entries[0],
        0,
        vec![],
        note,
        vec![dev("notary").cert_pem, court.cert_pem, arb.cert_pem],
    );
    assert_rejected_by(
        &verifier().verify_certificate(c.to_json().as_bytes(), None),
        "inclusion",
        "not inside a tree of size 0",
    );
}
