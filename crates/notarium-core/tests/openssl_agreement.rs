//! The core's certificate-chain decisions agree with OpenSSL's RFC 5280 path
//! validation (contract §9), case by case, over the crafted chains in
//! `tests/chains/` (made by `certs/make-chain-corpus.sh`; `manifest.json`
//! there lists the cases).
//!
//! For every case, `openssl verify -x509_strict -attime T` is run live and
//! must still give the verdict recorded in the manifest; the core must then
//! accept exactly the chains openssl accepts, except the few that Notarium's
//! own profile refuses besides (contract §1: P-256 and ecdsa-with-SHA256
//! only, one CN, a role OU, a signer that is not a CA and has
//! digitalSignature; §9: the signer EKU), which the manifest marks `profile`.
//! openssl is required: these tests fail, never skip, without it.

use notarium_core::identity::{TrustRoots, certs_from_pem_file};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;

/// The core's decision: is the certificate `signer_pem` acceptable for a
/// signature made at `at` (Unix seconds), with `intermediates` (PEM texts,
/// in the order given) and the trust root `root_pem`? A certificate the core
/// cannot parse counts as a refusal. The only place this file touches the
/// core's API.
fn core_decision(
    root_pem: &str,
    intermediates: &[String],
    signer_pem: &str,
    at: i64,
) -> Result<(), String> {
    let roots = certs_from_pem_file(root_pem).map_err(|e| format!("root: {e}"))?;
    let roots = TrustRoots::new(roots).map_err(|e| format!("root: {e}"))?;
    let mut pool = Vec::new();
    for pem in intermediates {
        pool.extend(certs_from_pem_file(pem).map_err(|e| format!("intermediate: {e}"))?);
    }
    let signer =
        match certs_from_pem_file(signer_pem).map_err(|e| format!("signer: {e}"))?.as_slice() {
            [one] => one.clone(),
            other => return Err(format!("{} certificates in the signer file", other.len())),
        };
    notarium_core::identity::Chain::build(&roots, &signer, &pool, at)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[derive(Debug, Deserialize)]
struct Manifest {
    openssl_version: String,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    description: String,
    signer: String,
    intermediates: Vec<String>,
    root: String,
    /// Unix seconds.
    at: i64,
    at_text: String,
    openssl: OpensslVerdict,
    profile: Profile,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct OpensslVerdict {
    /// "ok" or "refused".
    verdict: String,
    /// openssl's first "error N at D depth lookup: ..." line when refused.
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    refuses: bool,
    why: Option<String>,
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/chains")
}

fn manifest() -> Manifest {
    let path = corpus_dir().join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn read(file: &str) -> String {
    let path = corpus_dir().join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Runs `openssl verify -x509_strict -attime T -CAfile root [-untrusted i]... signer`.
fn openssl_verify(case: &Case) -> OpensslVerdict {
    let dir = corpus_dir();
    let mut cmd = Command::new("openssl");
    cmd.args(["verify", "-x509_strict", "-attime"])
        .arg(case.at.to_string())
        .arg("-CAfile")
        .arg(dir.join(&case.root));
    for i in &case.intermediates {
        cmd.arg("-untrusted").arg(dir.join(i));
    }
    cmd.arg(dir.join(&case.signer));
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run openssl ({e}): it is required by this test and must be installed")
    });
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let error = text
        .lines()
        .find(|l| l.starts_with("error ") && l.contains(" depth lookup: "))
        .map(str::to_string);
    if out.status.success() {
        assert_eq!(error, None, "{}: openssl said OK and {text}", case.name);
        OpensslVerdict { verdict: "ok".into(), error: None }
    } else {
        assert!(error.is_some(), "{}: openssl failed with: {text}", case.name);
        OpensslVerdict { verdict: "refused".into(), error }
    }
}

/// Every case's live openssl verdict, or the differences from the manifest.
fn openssl_differences(m: &Manifest) -> Vec<String> {
    let installed = Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}): it is required by this test"));
    m.cases
        .iter()
        .filter_map(|case| {
            let live = openssl_verify(case);
            (live != case.openssl).then(|| {
                format!(
                    "{}: openssl now says {live:?}, the manifest {:?} (recorded with {}, installed {installed})",
                    case.name, case.openssl, m.openssl_version
                )
            })
        })
        .collect()
}

/// The corpus itself: complete, no stray file, and openssl still gives
/// every recorded verdict.
#[test]
fn corpus_is_complete_and_openssl_gives_the_recorded_verdicts() {
    let m = manifest();
    assert!(m.cases.len() >= 30, "only {} cases", m.cases.len());
    let mut names = HashSet::new();
    let mut used = HashSet::new();
    for case in &m.cases {
        assert!(names.insert(&case.name), "case {} twice", case.name);
        assert!(!case.description.is_empty(), "{}: no description", case.name);
        assert!(!case.at_text.is_empty(), "{}: no at_text", case.name);
        for file in [&case.signer, &case.root].into_iter().chain(&case.intermediates) {
            let text = read(file);
            assert!(
                text.starts_with("-----BEGIN CERTIFICATE-----\n")
                    && text.ends_with("-----END CERTIFICATE-----\n")
                    && text.matches("BEGIN").count() == 1,
                "{}: {file} is not one PEM certificate",
                case.name
            );
            used.insert(file.clone());
        }
        match case.openssl.verdict.as_str() {
            "ok" => assert_eq!(case.openssl.error, None, "{}", case.name),
            "refused" => assert!(case.openssl.error.is_some(), "{}", case.name),
            other => panic!("{}: verdict {other}", case.name),
        }
        // The profile only refuses more than openssl, and says why.
        assert_eq!(case.profile.refuses, case.profile.why.is_some(), "{}: profile", case.name);
        assert!(
            !case.profile.refuses || case.openssl.verdict == "ok",
            "{}: a profile refusal of a chain openssl refuses anyway",
            case.name
        );
    }
    // Both verdicts, and profile refusals kept few.
    let ok = m.cases.iter().filter(|c| c.openssl.verdict == "ok").count();
    let profile = m.cases.iter().filter(|c| c.profile.refuses).count();
    assert!(ok >= 10 && m.cases.len() - ok >= 10, "{ok} of {} ok", m.cases.len());
    assert!(profile <= 10, "{profile} profile cases");
    let stray: Vec<_> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f != "manifest.json" && !used.contains(f))
        .collect();
    assert!(stray.is_empty(), "files no case uses: {stray:?}");
    let differences = openssl_differences(&m);
    assert!(
        differences.is_empty(),
        "the corpus no longer matches openssl (regenerate with bash certs/make-chain-corpus.sh?):\n{}",
        differences.join("\n")
    );
}

/// The core accepts a chain exactly when openssl does and Notarium's
/// profile does not refuse it.
#[test]
fn core_agrees_with_openssl_on_every_chain() {
    let m = manifest();
    let differences = openssl_differences(&m);
    assert!(
        differences.is_empty(),
        "the corpus no longer matches openssl:\n{}",
        differences.join("\n")
    );
    let mut mismatches = Vec::new();
    for case in &m.cases {
        let intermediates: Vec<String> = case.intermediates.iter().map(|f| read(f)).collect();
        let core = core_decision(&read(&case.root), &intermediates, &read(&case.signer), case.at);
        let expected = case.openssl.verdict == "ok" && !case.profile.refuses;
        // The whole table, for --no-capture: agreeing for another reason
        // than openssl's is worth a look too.
        println!(
            "{:<45} openssl {:<60} core {}",
            case.name,
            case.openssl.error.as_deref().unwrap_or("ok"),
            core.as_ref().err().map_or("ok", String::as_str)
        );
        if core.is_ok() != expected {
            let openssl = case.openssl.error.as_deref().unwrap_or("ok");
            let profile = case.profile.why.as_deref().unwrap_or("no objection");
            let core = match &core {
                Ok(()) => "accepted".to_string(),
                Err(e) => format!("refused: {e}"),
            };
            mismatches.push(format!(
                "{} ({}, at {}):\n    expected {}\n    openssl: {openssl}\n    profile: {profile}\n    core:    {core}",
                case.name,
                case.description,
                case.at_text,
                if expected { "accepted" } else { "refused" },
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases disagree:\n{}",
        mismatches.len(),
        m.cases.len(),
        mismatches.join("\n")
    );
}
