//! The sealed PDF (PAdES baseline B-T) checked by validators no one on this
//! project wrote: pyHanko (PyPI, driven by tests/interop/pyhanko_validate.py
//! with the development root as the only trust root) and poppler's
//! `pdfsig`. Then one changed byte, which both must refuse.
//!
//! These tests need `python3` with `pyhanko==0.29.1
//! pyhanko-certvalidator==0.27.0` and poppler-utils (`pdfsig`); they fail,
//! never skip, when those are missing (scripts/test installs them).
#![cfg(feature = "seal")]

mod common;

use common::*;
use notarium_core::TrustRoots;
use notarium_pdf::{Renderer, Seal, TemplateSource, extract_certificate_json, pdf_signature};
use notarium_timestamp::TimestampRequest;
use notarium_timestamp::cades::{DetachedError, verify_detached};
use notarium_timestamp::tsa::DevTsa;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The development TSA's genTime for the seal: after the certificate.
const TS_TIME: u64 = T0 + 60;

fn cert() -> &'static [u8] {
    static CERT: OnceLock<Vec<u8>> = OnceLock::new();
    CERT.get_or_init(|| certificate(3))
}

fn renderer() -> &'static Renderer {
    static R: OnceLock<Renderer> = OnceLock::new();
    R.get_or_init(|| Renderer::new(&TemplateSource::Builtin).unwrap())
}

fn seal() -> Seal {
    Seal::from_pem(&read("certs/seal.key"), &read("certs/seal.pem")).unwrap()
}

fn root() -> TrustRoots {
    TrustRoots::from_pem(&read("certs/root.pem")).unwrap()
}

/// Renders and seals `cert()`, timestamped by the development TSA; returns
/// the PDF and the imprints the TSA was asked for.
fn sealed_with_imprints() -> (Vec<u8>, Vec<[u8; 32]>) {
    let tsa = DevTsa::from_pem(&read("certs/tsa.key"), &read("certs/tsa.pem")).unwrap();
    let asked = Mutex::new(Vec::new());
    let ask = |imprint: &[u8; 32]| -> Result<Vec<u8>, String> {
        asked.lock().unwrap().push(*imprint);
        let req = TimestampRequest::new(*imprint, &[7; 16]).map_err(|e| e.to_string())?;
        let resp = tsa.respond(req.der(), TS_TIME, &[0x51; 16]);
        let (token, _) = req
            .check_response(&resp, &root(), &[])
            .map_err(|e| e.to_string())?;
        Ok(token)
    };
    let pdf = renderer()
        .render_sealed(
            cert(),
            CERT_ID,
            VERIFY_URL,
            &verifier(),
            &seal(),
            Some(&ask),
        )
        .unwrap();
    (pdf, asked.into_inner().unwrap())
}

fn sealed() -> &'static [u8] {
    static PDF: OnceLock<Vec<u8>> = OnceLock::new();
    PDF.get_or_init(|| sealed_with_imprints().0)
}

struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn temp_pdf(name: &str, pdf: &[u8]) -> TempFile {
    let path = std::env::temp_dir().join(format!(
        "notarium-pdf-sig-{}-{name}.pdf",
        std::process::id()
    ));
    std::fs::write(&path, pdf).unwrap();
    TempFile(path)
}

/// pyHanko's verdict, as the JSON object tests/interop/pyhanko_validate.py
/// prints.
fn pyhanko(pdf: &[u8], name: &str, root_pem: &str) -> serde_json::Value {
    let file = temp_pdf(name, pdf);
    let script = repo().join("tests/interop/pyhanko_validate.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&file.0)
        .arg(repo().join(root_pem))
        .output()
        .expect("cannot run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("ModuleNotFoundError"),
        "pyHanko is missing: pip install pyhanko==0.29.1 pyhanko-certvalidator==0.27.0\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "pyhanko_validate.py printed no JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// poppler's `pdfsig` report (stdout).
fn pdfsig(pdf: &[u8], name: &str) -> String {
    let file = temp_pdf(name, pdf);
    let out = Command::new("pdfsig")
        .arg(&file.0)
        .output()
        .unwrap_or_else(|e| panic!("cannot run pdfsig ({e}): apt-get install poppler-utils"));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The PDF with one byte of the signed range changed: the `n` of the
/// producer `notarium-pdf` in the document information.
fn tampered() -> Vec<u8> {
    let mut pdf = sealed().to_vec();
    let at = pdf
        .windows(14)
        .position(|w| w == b"(notarium-pdf ")
        .expect("the producer is in the file");
    pdf[at + 1] = b'N';
    let sig = pdf_signature(sealed()).unwrap().unwrap();
    assert!(at + 1 < sig.byte_range[1], "the changed byte is signed");
    pdf
}

#[test]
fn pyhanko_finds_the_seal_intact_trusted_and_timestamped() {
    let v = pyhanko(sealed(), "good", "certs/root.pem");
    assert_eq!(v["intact"], true, "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["trusted"], true, "{v}");
    assert_eq!(v["coverage"], "ENTIRE_FILE", "{v}");
    assert_eq!(v["sub_filter"], "/ETSI.CAdES.detached", "{v}");
    let ts = &v["timestamp"];
    assert_eq!(ts["intact"], true, "{v}");
    assert_eq!(ts["valid"], true, "{v}");
    assert_eq!(ts["trusted"], true, "{v}");
    assert!(
        ts["time"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-29T06:01:00"),
        "{v}"
    );
}

/// qpdf, a third reader: no syntax or stream encoding error in the sealed
/// PDF nor in the plain one.
#[test]
fn qpdf_finds_no_structural_error_in_the_sealed_or_the_plain_pdf() {
    let qpdf = |pdf: &[u8], name: &str| {
        let file = temp_pdf(name, pdf);
        let out = Command::new("qpdf")
            .arg("--check")
            .arg(&file.0)
            .output()
            .unwrap_or_else(|e| panic!("cannot run qpdf ({e}): apt-get install qpdf"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    let plain = renderer().render(cert(), CERT_ID, VERIFY_URL, &verifier());
    for (pdf, name) in [
        (sealed().to_vec(), "qpdf-sealed"),
        (plain.unwrap(), "qpdf-plain"),
    ] {
        let (code, text) = qpdf(&pdf, name);
        assert_eq!(code, Some(0), "{name}: {text}");
        assert!(
            text.contains("No syntax or stream encoding errors found"),
            "{name}: {text}"
        );
    }
}

#[test]
fn pdfsig_finds_the_seal_valid() {
    let report = pdfsig(sealed(), "good");
    assert!(report.contains("Signature is Valid"), "{report}");
    assert!(report.contains("ETSI.CAdES.detached"), "{report}");
    assert!(report.contains("Notarium Development PDF Seal"), "{report}");
    assert!(
        report.contains("Signature Type: ETSI.CAdES.detached"),
        "{report}"
    );
}

#[test]
fn one_changed_byte_is_refused_by_pyhanko_pdfsig_and_our_check() {
    let pdf = tampered();
    let v = pyhanko(&pdf, "tampered", "certs/root.pem");
    assert_ne!(v["intact"], true, "{v}");
    assert_eq!(v["summary"], "INVALID", "{v}");
    let report = pdfsig(&pdf, "tampered");
    assert!(!report.contains("Signature is Valid"), "{report}");
    assert!(report.contains("Digest Mismatch"), "{report}");
    let err = check(&pdf, &root()).unwrap_err();
    assert!(matches!(err, DetachedError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("message-digest"), "{err}");
}

fn check(
    pdf: &[u8],
    roots: &TrustRoots,
) -> Result<notarium_timestamp::cades::DetachedInfo, DetachedError> {
    use sha2::Digest;
    let sig = pdf_signature(pdf).unwrap().unwrap();
    let mut h = sha2::Sha256::new();
    for part in sig.signed_parts(pdf) {
        h.update(part);
    }
    let digest: [u8; 32] = h.finalize().into();
    verify_detached(&sig.cms, &digest, roots, Some(roots), T0 as i64 + 100)
}

#[test]
fn our_own_check_accepts_it_and_says_untrusted_under_another_root() {
    let info = check(sealed(), &root()).unwrap();
    assert_eq!(
        info.chain[0].common_name.as_deref(),
        Some("Notarium Development PDF Seal")
    );
    assert_eq!(info.timestamp.as_ref().unwrap().gen_time, TS_TIME as i64);
    let other = TrustRoots::from_pem(&read("tests/fixtures/pki/other-root.pem")).unwrap();
    let err = check(sealed(), &other).unwrap_err();
    assert!(matches!(err, DetachedError::Untrusted(_)), "{err}");
    let v = pyhanko(sealed(), "other-root", "tests/fixtures/pki/other-root.pem");
    assert_eq!(v["intact"], true, "{v}");
    assert_eq!(v["trusted"], false, "{v}");
}

#[test]
fn the_sealed_pdf_is_small_deterministic_and_keeps_its_attachment() {
    let pdf = sealed();
    assert!(pdf.len() <= 300 * 1024, "{} bytes", pdf.len());
    assert_eq!(extract_certificate_json(pdf).unwrap(), cert());
    // PDF/A-3b: XMP identification, an sRGB output intent, the attachment
    // an associated file of type application/json, fonts embedded.
    let has = |s: &str| pdf.windows(s.len()).any(|w| w == s.as_bytes());
    for s in [
        "<pdfaid:part>3</pdfaid:part>",
        "<pdfaid:conformance>B</pdfaid:conformance>",
        "/OutputIntents",
        "/GTS_PDFA1",
        "/AFRelationship/Source",
        "/Subtype/application#2Fjson",
        "/FontFile2",
    ] {
        assert!(has(s), "no {s} in the PDF");
    }
    // The same certificate gives the same bytes and asks the TSA for the
    // same imprint: a stored token can be reused.
    let (again, imprints) = sealed_with_imprints();
    let (third, imprints2) = sealed_with_imprints();
    assert_eq!(again, third);
    assert_eq!(imprints, imprints2);
    assert_eq!(imprints.len(), 1);
    assert_eq!(again, pdf);
    // Without a timestamp it is baseline B-B: still a valid seal.
    let plain = renderer()
        .render_sealed(cert(), CERT_ID, VERIFY_URL, &verifier(), &seal(), None)
        .unwrap();
    let info = check(&plain, &root()).unwrap();
    assert!(info.timestamp.is_none());
    // An unsealed rendering has no signature.
    let unsealed = renderer()
        .render(cert(), CERT_ID, VERIFY_URL, &verifier())
        .unwrap();
    assert_eq!(pdf_signature(&unsealed).unwrap(), None);
}
