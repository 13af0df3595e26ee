//! The PDF seal in `notarium-verify`: valid, tampered (exit 1), sealed by a
//! key outside the trust roots (untrusted, reported) and absent (reported).

use notarium_core::{Policy, TrustRoots, Verifier};
use notarium_pdf::{Renderer, Seal, TemplateSource};
use std::path::PathBuf;
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap()
}

fn render(seal: Option<(&str, &str)>) -> Vec<u8> {
    let json = std::fs::read(repo().join("tests/golden/valid-metadata.json")).unwrap();
    let verifier = Verifier::new(
        TrustRoots::from_pem(&read("certs/root.pem")).unwrap(),
        Some("notarium.example/log".into()),
        Policy::default(),
    );
    let r = Renderer::new(&TemplateSource::Builtin).unwrap();
    let url = "https://notary.example/verify";
    match seal {
        None => r.render(&json, "NT-1", url, &verifier).unwrap(),
        Some((key, cert)) => {
            let seal = Seal::from_pem(&read(key), &read(cert)).unwrap();
            r.render_sealed(&json, "NT-1", url, &verifier, &seal, None)
                .unwrap()
        }
    }
}

fn verify(name: &str, pdf: &[u8], json: bool) -> (Output, String) {
    let path = std::env::temp_dir().join(format!(
        "notarium-verify-seal-{}-{name}.pdf",
        std::process::id()
    ));
    std::fs::write(&path, pdf).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_notarium-verify"));
    cmd.arg(&path)
        .arg("--trust")
        .arg(repo().join("certs/root.pem"));
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, text)
}

#[test]
fn a_sealed_pdf_reports_its_seal_valid() {
    let pdf = render(Some(("certs/seal.key", "certs/seal.pem")));
    let (o, out) = verify("valid", &pdf, false);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("PASS  pdf_seal          valid: the whole file is sealed by Notarium Development PDF Seal"), "{out}");
    let (o, out) = verify("valid-json", &pdf, true);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["pdf_seal"]["status"], "valid");
    assert_eq!(v["pdf_seal"]["signer"], "Notarium Development PDF Seal");
    assert_eq!(v["valid"], true);
}

#[test]
fn a_changed_byte_breaks_the_seal_and_the_verdict() {
    let mut pdf = render(Some(("certs/seal.key", "certs/seal.pem")));
    let at = pdf
        .windows(14)
        .position(|w| w == b"(notarium-pdf ")
        .unwrap();
    pdf[at + 1] = b'N';
    let (o, out) = verify("tampered", &pdf, false);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL  pdf_seal"), "{out}");
    assert!(out.contains("INVALID: pdf_seal: "), "{out}");
    assert!(out.contains("message-digest"), "{out}");
    let (o, out) = verify("tampered-json", &pdf, true);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["pdf_seal"]["status"], "invalid");
    assert_eq!(v["valid"], false);
}

#[test]
fn a_seal_outside_the_trust_roots_is_untrusted_and_an_unsealed_pdf_absent() {
    let pdf = render(Some((
        "tests/fixtures/pki/other-notary.key",
        "tests/fixtures/pki/other-notary.pem",
    )));
    let (o, out) = verify("untrusted", &pdf, true);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["pdf_seal"]["status"], "untrusted", "{out}");
    let (o, out) = verify("absent", &render(None), false);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("NOTE  pdf_seal          absent: the PDF is not sealed"),
        "{out}"
    );
}
