//! Writes the seed corpora of the fuzz targets (fuzz/seeds/<target>/, see
//! docs/fuzzing.md) from the golden certificates and from receipts, PDFs
//! and witness requests issued here with the development PKI:
//!
//!     cargo run --example fuzz_seeds -- fuzz/seeds
//!
//! Deterministic (ECDSA signatures aside): seeds are small, valid inputs
//! and a few near misses, for the fuzzer to mutate.
use base64::Engine;
use notarium_core::CertificateJson;
use notarium_core::checkpoint::Checkpoint;
use notarium_core::encoding::{b64, hex_lower, pem_decode_all};
use notarium_core::merkle::sha256;
use notarium_log::SigningKey;
use notarium_log::sign::{SignCheckpoint, sign_receipts};
use notarium_log::testkit::{Cosign, Signer, TestLog};
use notarium_log::tree::MemoryTree;
use notarium_pdf::{RenderOptions, render};
use std::path::{Path, PathBuf};

const ORIGIN: &str = "notarium.example/log";
/// 2026-11-29T06:00:00Z, inside the development certificates' validity.
const T0: u64 = 1_795_932_000;

fn read(rel: &str) -> String {
    std::fs::read_to_string(rel).unwrap_or_else(|e| panic!("{rel}: {e} (run from the repository)"))
}

fn signer(name: &str) -> Signer {
    Signer::from_pem(
        &read(&format!("certs/{name}.key")),
        &read(&format!("certs/{name}.pem")),
    )
}

struct Out(PathBuf);

impl Out {
    fn put(&self, target: &str, name: &str, bytes: impl AsRef<[u8]>) {
        let dir = self.0.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// Parts of one input, separated by NUL bytes (fuzz/src/lib.rs `split`).
fn parts(p: &[&[u8]]) -> Vec<u8> {
    p.join(&0u8)
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/seeds".into());
    let out = Out(PathBuf::from(dir));
    let golden: Vec<(String, Vec<u8>)> = ["minimal", "metadata", "intermediate"]
        .iter()
        .map(|n| {
            let name = format!("valid-{n}.json");
            let bytes = std::fs::read(Path::new("tests/golden").join(&name)).unwrap();
            (name, bytes)
        })
        .collect();
    let notary = signer("notary");
    let (court, arb) = (signer("court"), signer("arbitration"));

    // certificate: the golden certificates, one tampered, one of another shape.
    for (name, bytes) in &golden {
        out.put("certificate", name, bytes);
    }
    let tampered = String::from_utf8(golden[1].1.clone())
        .unwrap()
        .replace("acme-trading", "acme-tradinh");
    out.put("certificate", "tampered-metadata.json", &tampered);

    // Two that do not satisfy the default policy: one witness only; the
    // court's cosignature backdated a year (before received minus the skew).
    let mut one = TestLog::new();
    one.append(sha256(b"f"), [3; 32], None, "b", "2026-11-29T05:00:00.000Z");
    for (name, cosigs) in [
        (
            "court-only.json",
            vec![Cosign {
                witness: &court,
                time: T0,
            }],
        ),
        (
            "backdated-court.json",
            vec![
                Cosign {
                    witness: &court,
                    time: T0 - 365 * 86_400,
                },
                Cosign {
                    witness: &arb,
                    time: T0 + 5,
                },
            ],
        ),
    ] {
        let note = one.checkpoint_note(ORIGIN, &notary, &cosigs);
        let mut pems = vec![notary.cert_pem.clone()];
        pems.extend(cosigs.iter().map(|c| c.witness.cert_pem.clone()));
        out.put(
            "certificate",
            name,
            one.certificate(0, note, pems).to_json(),
        );
    }

    // note, tlog_proof, encoding: from the golden certificates.
    for (name, bytes) in &golden {
        let stem = name.trim_end_matches(".json");
        let c = CertificateJson::from_json(bytes).unwrap();
        let note = c.proof.split_once("\n\n").unwrap().1;
        out.put("note", &format!("{stem}-checkpoint.note"), note);
        out.put(
            "note",
            &format!("{stem}-body"),
            note.split_once("\n\n").unwrap().0.to_string() + "\n",
        );
        let pems = c.certificates.concat();
        out.put(
            "tlog_proof",
            &format!("{stem}.in"),
            parts(&[c.entry.as_bytes(), c.proof.as_bytes(), pems.as_bytes()]),
        );
        out.put("encoding", &format!("{stem}-salt.hex"), &c.evidence.salt);
        out.put(
            "encoding",
            &format!("{stem}-sha256.hex"),
            c.evidence.sha256.to_uppercase(),
        );
        out.put("encoding", &format!("{stem}-certs.pem"), &pems);
    }
    out.put(
        "note",
        "cosignature-line",
        "\u{2014} court.example AQIDBAUGBwgJCgsM\n",
    );

    // encoding: DER certificates, roots, keys, numbers, policies.
    for name in ["root", "notary", "court", "arbitration"] {
        let pem = read(&format!("certs/{name}.pem"));
        let der = &pem_decode_all(&pem).unwrap()[0].der;
        out.put("encoding", &format!("{name}.der"), der);
        out.put("encoding", &format!("{name}.pem"), &pem);
        let cert = notarium_core::identity::CertInfo::from_der(der).unwrap();
        out.put("encoding", &format!("{name}.spki"), cert.key.spki_der());
    }
    out.put("encoding", "hash.b64", b64(&sha256(b"x")));
    out.put("encoding", "decimal", "18446744073709551615");
    out.put("encoding", "policy", "court>=2 arbitration>=1,tsa>=1");

    // receipt: a group of three entries signed by the notary.
    let mut log = TestLog::new();
    for i in 0..3u8 {
        let meta = (i == 1).then_some(r#"{"case_reference":"(2026) 1234","title":"Contract"}"#);
        log.append(
            sha256(&[i]),
            [i + 1; 32],
            meta,
            "acme-trading",
            &format!("2026-11-29T05:59:5{i}.12{i}Z"),
        );
    }
    let texts: Vec<String> = log.entries.iter().map(|e| e.leaf_text()).collect();
    let refs: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
    let receipts = sign_receipts(ORIGIN, &notary.key, &refs).unwrap();
    for (i, r) in receipts.iter().enumerate() {
        let certs = if i == 0 { notary.cert_pem.as_str() } else { "" };
        out.put(
            "receipt",
            &format!("receipt-{i}.in"),
            parts(&[r.as_bytes(), texts[i].as_bytes(), certs.as_bytes()]),
        );
    }
    out.put(
        "receipt",
        "metadata.json",
        parts(&[b"", b"", b""])
            .into_iter()
            .chain(br#"{"b":[1,2.5e3,"\u00e9"],"a":{"c":null}}"#.iter().copied())
            .collect::<Vec<u8>>(),
    );

    // pdf_extract and notary_request: a rendered certificate PDF.
    let roots = notarium_core::TrustRoots::from_pem(&read("certs/root.pem")).unwrap();
    let verifier =
        notarium_core::Verifier::new(roots, Some(ORIGIN.into()), notarium_core::Policy::default());
    let opts = RenderOptions::new(
        "https://notary.example/verify",
        "0123456789abcdef0123456789abcdef",
        verifier,
    );
    let pdf = render(&golden[0].1, &opts).unwrap();
    out.put("pdf_extract", "minimal.pdf", &pdf);

    let cert_text = String::from_utf8(golden[0].1.clone()).unwrap();
    let sha = CertificateJson::from_json(&golden[0].1)
        .unwrap()
        .evidence
        .sha256;
    let json = |v: serde_json::Value| v.to_string();
    out.put(
        "notary_request",
        "submit.json",
        json(serde_json::json!({"sha256": hex_lower(&sha256(b"e")), "metadata": {"title": "x", "n": [1, 2]}})),
    );
    out.put(
        "notary_request",
        "batch.json",
        json(serde_json::json!({"items": [
            {"sha256": hex_lower(&sha256(b"a"))},
            {"sha256": hex_lower(&sha256(b"b")).to_uppercase(), "metadata": null}
        ]})),
    );
    out.put(
        "notary_request",
        "verify.json",
        json(serde_json::json!({"certificate": cert_text, "sha256": sha})),
    );
    let small_pdf = base64::engine::general_purpose::STANDARD.encode(&pdf);
    if small_pdf.len() < 64 * 1024 {
        out.put(
            "notary_request",
            "verify-pdf.json",
            json(serde_json::json!({"certificate_pdf": small_pdf})),
        );
    }
    out.put("notary_request", "lookup.query", format!("sha256={sha}"));
    out.put("notary_request", "inclusion.query", "index=3&size=10");
    out.put(
        "notary_request",
        "consistency.query",
        "old=1&new=18446744073709551615",
    );

    // witness_add_checkpoint: a log growing 1 → 3 → 7 → 8, each checkpoint
    // signed by the notary, each body building on the one before; a fork.
    let mut tree = MemoryTree::new();
    let mut note_at = Vec::new();
    for i in 0..8u64 {
        tree.push_leaf_data(format!("leaf {i}").as_bytes());
        let cp = Checkpoint::new(ORIGIN, tree.size(), tree.root()).unwrap();
        note_at.push(cp.signed_note(&notary.key).unwrap().to_text());
    }
    let body = |old: u64, new: u64| {
        let proof = if old == 0 {
            Vec::new()
        } else {
            tree.consistency_proof(old, new).unwrap()
        };
        let mut s = format!("old {old}\n");
        for h in proof {
            s.push_str(&b64(&h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&note_at[new as usize - 1]);
        s
    };
    let steps = [body(0, 1), body(1, 3), body(3, 7), body(7, 8), body(8, 8)];
    let refs: Vec<&[u8]> = steps.iter().map(|s| s.as_bytes()).collect();
    out.put("witness_add_checkpoint", "grow.in", parts(&refs));
    out.put("witness_add_checkpoint", "first.in", &steps[0]);
    out.put(
        "witness_add_checkpoint",
        "jump.in",
        parts(&[steps[0].as_bytes(), body(1, 8).as_bytes()]),
    );
    let other = SigningKey::generate().unwrap();
    let mut fork = MemoryTree::new();
    fork.push_leaf_data(b"another history");
    let forged = Checkpoint::new(ORIGIN, 1, fork.root())
        .unwrap()
        .signed_note(&other)
        .unwrap();
    out.put(
        "witness_add_checkpoint",
        "fork-and-unknown-key.in",
        parts(&[
            steps[0].as_bytes(),
            format!("old 1\n\n{}", forged.to_text()).as_bytes(),
        ]),
    );
}
