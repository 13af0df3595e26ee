//! Contract §9's counting rules apply to standard C2SP witnesses (Ed25519
//! cosignature/v1, named by a tlog-policy file) exactly as to X.509
//! witnesses: "Each distinct public key (SPKI) and each distinct witness
//! name counts at most once over the whole policy; a key or name certified
//! in two roles counts for neither."

mod common;

use common::*;
use notarium_core::cosignature::cosignature_message;
use notarium_core::encoding::{b64, hex_lower};
use notarium_core::note::NoteSignature;
use notarium_core::tlog_policy::{PolicyFile, VKEY_COSIGNATURE, Vkey};
use notarium_core::{Report, Status};
use notarium_log::testkit::Cosign;
use ring::signature::{Ed25519KeyPair, KeyPair};

/// A standard witness: an Ed25519 key and the name its cosignatures carry.
struct Standard {
    key: Ed25519KeyPair,
    vkey: Vkey,
}

fn standard(seed: u8, name: &str) -> Standard {
    let key = Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
    let raw = key.public_key().as_ref().to_vec();
    Standard { key, vkey: Vkey { name: name.into(), key_type: VKEY_COSIGNATURE, key: raw } }
}

impl Standard {
    /// `<name>+<key ID>+<base64(0x04 || key)>`, as a policy file lists it.
    fn vkey_text(&self) -> String {
        let data = [&[VKEY_COSIGNATURE][..], &self.vkey.key].concat();
        format!("{}+{}+{}", self.vkey.name, hex_lower(&self.vkey.key_id()), b64(&data))
    }

    fn cosign(&self, body: &str, time: u64) -> NoteSignature {
        let sig = self.key.sign(&cosignature_message(time, body));
        let signature = [&time.to_be_bytes()[..], sig.as_ref()].concat();
        NoteSignature { name: self.vkey.name.clone(), key_id: self.vkey.key_id(), signature }
    }
}

/// A certificate whose checkpoint the dev court and arbitration witnesses
/// cosign at T0 + 1 and T0 + 2, and each standard witness at its time; and
/// the report under `policy_file`, after checking that the independent
/// Python verifier (tests/interop) comes to the same verdict.
fn verify(standards: &[(&Standard, u64)], policy_file: &str) -> Report {
    let (court, arb) = (dev("court"), dev("arbitration"));
    let log = five_entry_log();
    let cosigs = [Cosign { witness: &court, time: T0 + 1 }, Cosign { witness: &arb, time: T0 + 2 }];
    let mut note = log.checkpoint_note(ORIGIN, &dev("notary"), &cosigs);
    let body = note.text().to_string();
    for (s, t) in standards {
        note.add_signature(s.cosign(&body, *t)).unwrap();
    }
    let pems = vec![dev("notary").cert_pem, court.cert_pem, arb.cert_pem];
    let json = log.certificate(0, note, pems).to_json();
    let file = PolicyFile::parse(policy_file).unwrap();
    let report = verifier().with_policy_file(file).verify_certificate(json.as_bytes(), None);
    assert_eq!(python_accepts(&json, policy_file), report.valid, "{report:#?}");
    report
}

/// Whether tests/interop/verify_certificate.py accepts the certificate.
fn python_accepts(json: &str, policy_file: &str) -> bool {
    let dir = std::env::temp_dir().join(format!(
        "notarium-standard-counting-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, policy) = (dir.join("certificate.json"), dir.join("policy.txt"));
    std::fs::write(&cert, json).unwrap();
    std::fs::write(&policy, policy_file).unwrap();
    let out = std::process::Command::new("python3")
        .arg(repo().join("tests/interop/verify_certificate.py"))
        .arg(&cert)
        .arg(repo().join("certs/root.pem"))
        .arg(ORIGIN)
        .arg("--policy-file")
        .arg(&policy)
        .output()
        .expect("python3 runs");
    std::fs::remove_dir_all(&dir).unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "the Python verifier broke: {said}");
    out.status.success()
}

/// A policy file whose quorum needs both witnesses A and B.
fn both_needed(a: &Standard, b: &Standard) -> String {
    let (a, b) = (a.vkey_text(), b.vkey_text());
    format!("witness A {a}\nwitness B {b}\ngroup AB all A B\nquorum AB\n")
}

fn detail(r: &Report, id: &str) -> String {
    r.checks.iter().filter(|c| c.id.as_str() == id).map(|c| c.detail.as_str()).collect()
}

#[test]
fn two_standard_witnesses_count_when_keys_and_names_differ() {
    let (a, b) = (standard(1, "a.example/w"), standard(2, "b.example/w"));
    let file = both_needed(&a, &b);
    let r = verify(&[(&a, T0 + 3), (&b, T0 + 4)], &file);
    assert!(r.valid, "{:#?}", r.first_failure());
    // The quorum is met when the second standard witness cosigns.
    assert_eq!(r.witnessed_unix, Some(T0 + 4));
    assert!(r.standard_witnesses.iter().all(|s| s.counted), "{:#?}", r.standard_witnesses);
}

#[test]
fn two_standard_keys_with_one_name_are_one_witness_and_count_once() {
    // Two lines of the file, two keys, one key name: §9 counts a name once,
    // so a quorum of two is not met by one party holding two keys.
    let (a, b) = (standard(1, "same.example/w"), standard(2, "same.example/w"));
    let file = both_needed(&a, &b);
    let r = verify(&[(&a, T0 + 3), (&b, T0 + 4)], &file);
    assert!(!r.valid);
    assert!(detail(&r, "policy").contains("2 standard required, 1 counted"), "{r:#?}");
    let later = &r.standard_witnesses[1];
    assert_eq!((later.name.as_str(), later.counted), ("B", false));
    let why = later.reason.as_deref().unwrap();
    assert!(why.contains("the same witness (by key or name) as same.example/w"), "{why}");
}

#[test]
fn a_standard_witness_named_like_an_x509_witness_counts_for_neither() {
    // The standard witness takes the court witness's name: one name in two
    // roles, so neither counts, and court>=1 is no longer met.
    let twin = standard(3, "court.example/witness");
    let file = format!("witness T {}\nquorum T\n", twin.vkey_text());
    let r = verify(&[(&twin, T0 + 3)], &file);
    assert!(!r.valid);
    let court = r.witnesses.iter().find(|w| w.name == "court.example/witness").unwrap();
    assert!(!court.counted && court.reason.as_deref().unwrap().contains("two roles"));
    assert!(!r.standard_witnesses[0].counted);
    let policy = detail(&r, "policy");
    assert!(policy.contains("1 court required, 0 counted"), "{policy}");
    assert!(policy.contains("1 standard required, 0 counted"), "{policy}");
    let ignored = r.checks.iter().filter(|c| c.status == Status::Ignored).count();
    assert_eq!(ignored, 2, "{:#?}", r.checks);
}
