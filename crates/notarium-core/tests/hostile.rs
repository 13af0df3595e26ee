//! What a dishonest witness can and cannot do to a certificate (contract
//! §9): move the witnessed time, or make one institution count as two.
//! Each test failed before the §9 rules were implemented.

mod common;

use common::*;
use notarium_core::{Policy, Report, Role, Status, TrustRoots, Verifier};
use notarium_log::testkit::{Cosign, Signer};

const YEAR: u64 = 365 * 86_400;

fn counting(key: &str, cert: &str) -> Signer {
    Signer::from_pem(
        &read(&format!("tests/fixtures/pki/counting/{key}.key")),
        &read(&format!("tests/fixtures/pki/counting/{cert}.pem")),
    )
}

fn with_policy(p: &str) -> Verifier {
    Verifier::new(
        TrustRoots::from_pem(&read("certs/root.pem")).unwrap(),
        Some(ORIGIN.to_string()),
        Policy::parse(p).unwrap(),
    )
}

fn cosigned(cosigs: &[(&Signer, u64)], extra: &[String]) -> Vec<u8> {
    let cs: Vec<Cosign<'_>> = cosigs.iter().map(|(w, t)| Cosign { witness: w, time: *t }).collect();
    let mut pems: Vec<String> = Vec::new();
    for (w, _) in cosigs {
        if !pems.contains(&w.cert_pem) {
            pems.push(w.cert_pem.clone());
        }
    }
    let log = five_entry_log();
    let note = log.checkpoint_note(ORIGIN, &dev("notary"), &cs);
    let mut all = vec![dev("notary").cert_pem];
    all.extend(pems);
    all.extend(extra.iter().cloned());
    log.certificate(0, note, all).to_json().into_bytes()
}

/// The policy check's detail.
fn policy(r: &Report) -> &str {
    &r.checks.iter().find(|c| c.id.as_str() == "policy").unwrap().detail
}

fn counted(r: &Report) -> Vec<(String, bool)> {
    r.witnesses.iter().map(|w| (w.name.clone(), w.counted)).collect()
}

fn intermediate_pem() -> String {
    notarium_core::encoding::pem_encode(
        "CERTIFICATE",
        &notarium_core::identity::certs_from_pem_file(&read("tests/fixtures/pki/intermediate.pem"))
            .unwrap()[0]
            .der,
    )
}

#[test]
fn a_backdated_cosignature_does_not_count_and_the_headline_is_when_the_policy_was_met() {
    // Entry 0 was received at 05:59:50.120 (T0 - 10 s). The court witness
    // cosigns "a year earlier"; a second court witness and the arbitration
    // witness cosign honestly.
    let (court, court2, arb) = (dev("court"), fixture("court2"), dev("arbitration"));
    let json =
        cosigned(&[(&court, T0 - YEAR), (&court2, T0 + 1), (&arb, T0 + 5)], &[intermediate_pem()]);
    let r = verifier().verify_certificate(&json, None);
    assert!(r.valid, "{:#?}", r.first_failure());
    let backdated = &r.witnesses[0];
    assert_eq!((backdated.name.as_str(), backdated.counted), ("court.example/witness", false));
    let why = backdated.reason.as_deref().unwrap();
    assert!(
        why.contains("before the entry was received") && why.contains("allowed skew of 300 s"),
        "{why}"
    );
    assert!(
        r.checks.iter().any(|c| c.status == Status::Ignored && c.detail.contains("not counted"))
    );
    // The headline is the arbitration witness's time: when the default
    // policy was first met, never the backdated court time.
    assert_eq!(r.witnessed_at.as_deref(), Some("2026-11-29T06:00:05Z"));
    assert_eq!(r.witnessed_unix, Some(T0 + 5));
    // Without the honest court witness, nothing attests the court's part.
    let json = cosigned(&[(&court, T0 - YEAR), (&arb, T0 + 5)], &[]);
    let r = verifier().verify_certificate(&json, None);
    assert!(!r.valid && r.witnessed_at.is_none());
    assert!(policy(&r).contains("1 court required, 0 counted"));
}

#[test]
fn one_witness_cannot_move_the_time_before_the_other_institutions() {
    // An early (but within the skew) court time: the time is still the
    // latest of the per-group times, the arbitration witness's.
    let (court, arb) = (dev("court"), dev("arbitration"));
    let json = cosigned(&[(&court, T0 - 200), (&arb, T0 + 3600)], &[]);
    let r = verifier().verify_certificate(&json, None);
    assert!(r.valid);
    assert_eq!(r.witnessed_unix, Some(T0 + 3600));
    // court>=2 takes the second court time.
    let court2 = fixture("court2");
    let json = cosigned(
        &[(&court, T0 - 200), (&court2, T0 + 100), (&arb, T0 + 50)],
        &[intermediate_pem()],
    );
    let r = with_policy("court>=2 arbitration>=1").verify_certificate(&json, None);
    assert_eq!(r.witnessed_unix, Some(T0 + 100), "{:#?}", r.first_failure());
}

#[test]
fn the_skew_is_exact_and_configurable() {
    // Received at T0 - 10 (whole seconds): the default 300 s allows T0 - 310.
    let (court, arb) = (dev("court"), dev("arbitration"));
    let ok = cosigned(&[(&court, T0 - 310), (&arb, T0)], &[]);
    assert!(verifier().verify_certificate(&ok, None).valid);
    let late = cosigned(&[(&court, T0 - 311), (&arb, T0)], &[]);
    assert!(!verifier().verify_certificate(&late, None).valid);
    assert!(verifier().with_max_skew(301).verify_certificate(&late, None).valid);
    assert!(!verifier().with_max_skew(0).verify_certificate(&ok, None).valid);
}

#[test]
fn a_key_certified_in_two_roles_counts_for_neither() {
    let (court_side, arb_side) =
        (counting("dual", "dual-court"), counting("dual", "dual-arbitration"));
    let json = cosigned(&[(&court_side, T0 + 1), (&arb_side, T0 + 2)], &[]);
    let r = verifier().verify_certificate(&json, None);
    assert!(!r.valid);
    assert_eq!(counted(&r).iter().filter(|(_, c)| *c).count(), 0, "{:#?}", r.witnesses);
    assert!(r.witnesses[0].reason.as_deref().unwrap().contains("two roles"));
    assert!(policy(&r).contains("1 court required, 0 counted"));
    // Beside honest witnesses of both roles, it still counts for neither.
    let json = cosigned(
        &[
            (&court_side, T0 + 1),
            (&arb_side, T0 + 2),
            (&dev("court"), T0 + 3),
            (&dev("arbitration"), T0 + 4),
        ],
        &[],
    );
    let r = verifier().verify_certificate(&json, None);
    assert!(r.valid);
    assert_eq!(r.witnessed_unix, Some(T0 + 4));
    assert_eq!(
        counted(&r),
        [
            ("dual-court.example/witness".to_string(), false),
            ("dual-arbitration.example/witness".to_string(), false),
            ("court.example/witness".to_string(), true),
            ("arbitration.example/witness".to_string(), true),
        ]
    );
}

#[test]
fn a_name_certified_in_two_roles_counts_for_neither() {
    // "court.example/witness" certified as arbitration too (another key).
    let json = cosigned(
        &[(&dev("court"), T0 + 1), (&counting("alias-arbitration", "alias-arbitration"), T0 + 2)],
        &[],
    );
    let r = verifier().verify_certificate(&json, None);
    assert!(!r.valid);
    assert!(r.witnesses.iter().all(|w| !w.counted), "{:#?}", r.witnesses);
}

#[test]
fn one_key_under_two_names_counts_once() {
    let (a, b, arb) = (counting("twin", "twin-a"), counting("twin", "twin-b"), dev("arbitration"));
    let json = cosigned(&[(&a, T0 + 1), (&b, T0 + 2), (&arb, T0 + 3)], &[]);
    let r = with_policy("court>=2 arbitration>=1").verify_certificate(&json, None);
    assert!(!r.valid);
    assert!(policy(&r).contains("2 court required, 1 counted"));
    let r = verifier().verify_certificate(&json, None);
    assert!(r.valid);
    let twin_b = r.witnesses.iter().find(|w| w.name == "twin-b.example/witness").unwrap();
    assert!(!twin_b.counted);
    assert!(
        twin_b
            .reason
            .as_deref()
            .unwrap()
            .contains("same witness (by key or name) as twin-a.example/witness")
    );
    assert_eq!(r.groups[0].counted, 1);
}

#[test]
fn one_name_with_two_keys_counts_once() {
    let (court, alias, arb) =
        (dev("court"), counting("alias-court", "alias-court"), dev("arbitration"));
    let json = cosigned(&[(&court, T0 + 1), (&alias, T0 + 2), (&arb, T0 + 3)], &[]);
    let r = with_policy("court>=2 arbitration>=1").verify_certificate(&json, None);
    assert!(!r.valid, "{:#?}", r.witnesses);
    let roles: Vec<(Role, bool)> = r.witnesses.iter().map(|w| (w.role, w.counted)).collect();
    assert_eq!(roles, [(Role::Court, true), (Role::Court, false), (Role::Arbitration, true)]);
}

/// The verdict and witnessed time of the independent Python verifier
/// (tests/interop/verify_certificate.py, written from docs/format.md).
fn python_verdict(json: &[u8], policy: &str, max_skew: u64) -> Option<String> {
    let dir = std::env::temp_dir().join(format!("notarium-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{:x}.json", notarium_core::merkle::sha256(json)[0]));
    std::fs::write(&path, json).unwrap();
    let out = std::process::Command::new("python3")
        .arg(repo().join("tests/interop/verify_certificate.py"))
        .arg(&path)
        .arg(repo().join("certs/root.pem"))
        .arg(ORIGIN)
        .args(["--policy", policy, "--max-skew", &max_skew.to_string()])
        .output()
        .expect("python3 runs (scripts/test installs the cryptography package)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let last = text.lines().last().unwrap_or_default().to_string();
    assert!(
        last.starts_with("VALID: ") || last.starts_with("INVALID: "),
        "python verifier: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    last.strip_prefix("VALID: existed no later than ").map(str::to_string)
}

#[test]
fn the_independent_python_verifier_agrees_on_every_case() {
    let (court, court2, arb) = (dev("court"), fixture("court2"), dev("arbitration"));
    let (dual_c, dual_a) = (counting("dual", "dual-court"), counting("dual", "dual-arbitration"));
    let (twin_a, twin_b) = (counting("twin", "twin-a"), counting("twin", "twin-b"));
    let alias_a = counting("alias-arbitration", "alias-arbitration");
    let alias_c = counting("alias-court", "alias-court");
    let inter = [intermediate_pem()];
    let d = "court>=1 arbitration>=1";
    let cases: Vec<(&str, Vec<u8>, &str, u64)> = vec![
        ("plain", cosigned(&[(&court, T0 + 2), (&arb, T0 + 3)], &[]), d, 300),
        (
            "backdated",
            cosigned(&[(&court, T0 - YEAR), (&court2, T0 + 1), (&arb, T0 + 5)], &inter),
            d,
            300,
        ),
        ("backdated alone", cosigned(&[(&court, T0 - YEAR), (&arb, T0 + 5)], &[]), d, 300),
        ("skew edge", cosigned(&[(&court, T0 - 310), (&arb, T0)], &[]), d, 300),
        ("skew edge + 1", cosigned(&[(&court, T0 - 311), (&arb, T0)], &[]), d, 300),
        ("skew 0", cosigned(&[(&court, T0 - 310), (&arb, T0)], &[]), d, 0),
        (
            "court>=2",
            cosigned(&[(&court, T0 - 200), (&court2, T0 + 100), (&arb, T0 + 50)], &inter),
            "court>=2 arbitration>=1",
            300,
        ),
        ("dual key", cosigned(&[(&dual_c, T0 + 1), (&dual_a, T0 + 2)], &[]), d, 300),
        (
            "dual key beside honest",
            cosigned(
                &[(&dual_c, T0 + 1), (&dual_a, T0 + 2), (&court, T0 + 3), (&arb, T0 + 4)],
                &[],
            ),
            d,
            300,
        ),
        ("dual name", cosigned(&[(&court, T0 + 1), (&alias_a, T0 + 2)], &[]), d, 300),
        (
            "twin keys",
            cosigned(&[(&twin_a, T0 + 1), (&twin_b, T0 + 2), (&arb, T0 + 3)], &[]),
            "court>=2 arbitration>=1",
            300,
        ),
        (
            "twin keys, one needed",
            cosigned(&[(&twin_a, T0 + 1), (&twin_b, T0 + 2), (&arb, T0 + 3)], &[]),
            d,
            300,
        ),
        (
            "alias name",
            cosigned(&[(&court, T0 + 1), (&alias_c, T0 + 2), (&arb, T0 + 3)], &[]),
            "court>=2 arbitration>=1",
            300,
        ),
    ];
    for (name, json, policy, skew) in cases {
        let core = with_policy(policy).with_max_skew(skew).verify_certificate(&json, None);
        let core = core.valid.then(|| core.witnessed_at.unwrap());
        assert_eq!(python_verdict(&json, policy, skew), core, "{name}");
    }
}

/// Issue 19 (CPU): a certificate carrying 1,700 certificates (the review's
/// 857 KB file) is refused by counting them, before any is parsed: here
/// every one past the first is not even a PEM, and the refusal names the
/// count, not a parse failure. The work is one length check.
#[test]
fn too_many_certificates_are_refused_before_any_is_parsed() {
    let json = cosigned(&[(&dev("court"), T0 + 1), (&dev("arbitration"), T0 + 5)], &[]);
    let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let certs = v["certificates"].as_array_mut().unwrap();
    certs.extend((0..1_700).map(|i| serde_json::Value::String(format!("garbage {i}"))));
    let json = serde_json::to_vec(&v).unwrap();
    let r = verifier().verify_certificate(&json, None);
    assert!(!r.valid);
    let why = &r.first_failure().unwrap().detail;
    assert!(why.contains("more than 24"), "{why}");
}
