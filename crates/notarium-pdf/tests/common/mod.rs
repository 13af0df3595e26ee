//! A real certificate built with the development keys (certs/), shared by
//! the tests and the benchmark.
#![allow(dead_code)]

use notarium_core::checkpoint::Checkpoint;
use notarium_core::encoding::pem_encode;
use notarium_core::entry::{Entry, Metadata, SubmitterId};
use notarium_core::identity::certs_from_pem_file;
use notarium_core::merkle::sha256;
use notarium_core::time::UtcMillis;
use notarium_core::{Policy, TrustRoots, Verifier};
use notarium_log::SigningKey;
use notarium_log::sign::SignCheckpoint;
use notarium_log::sign::cosign;
use notarium_log::tree::MemoryTree;
use std::path::PathBuf;

pub(crate) const ORIGIN: &str = "notarium.example/log";
pub(crate) const COURT: &str = "court.example/witness";
pub(crate) const ARBITRATION: &str = "arbitration.example/witness";
/// 2026-11-29T06:00:00Z
pub(crate) const T0: u64 = 1_795_932_000;
pub(crate) const VERIFY_URL: &str = "https://notary.example/verify";
pub(crate) const CERT_ID: &str = "NT-2026-000123";
pub(crate) const SUBMITTER: &str = "acme-trading";
/// Chinese and English metadata, as the notary normalises it.
pub(crate) const METADATA: &str = r#"{"title":"供货合同（2026 年）Supply contract","case_reference":"(2026)京0105民初1234号","file_name":"供货合同-签署版.pdf","media_type":"application/pdf","size":48213}"#;

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub(crate) fn key(name: &str) -> SigningKey {
    SigningKey::from_pkcs8_pem(&read(&format!("certs/{name}.key"))).unwrap()
}

/// The certificate in the canonical PEM that certificates carry.
pub(crate) fn cert_pem(name: &str) -> String {
    let certs = certs_from_pem_file(&read(&format!("certs/{name}.pem"))).unwrap();
    pem_encode("CERTIFICATE", &certs[0].der)
}

pub(crate) fn verifier() -> Verifier {
    Verifier::new(
        TrustRoots::from_pem(&read("certs/root.pem")).unwrap(),
        Some(ORIGIN.to_string()),
        Policy::default(),
    )
}

/// The evidence file of entry `i`: its SHA-256.
pub(crate) fn digest(i: u8) -> [u8; 32] {
    sha256(&[i; 100])
}

/// A certificate for entry `index` of a five-entry log; entry 3 carries
/// [`METADATA`]. Cosigned by the court at T0+2 and arbitration at T0+3.
pub(crate) fn certificate(index: u64) -> Vec<u8> {
    certificate_with(METADATA, index)
}

/// Like [`certificate`], with other metadata for entry 3.
pub(crate) fn certificate_with(metadata_json: &str, index: u64) -> Vec<u8> {
    cosigned_by(
        metadata_json,
        index,
        &[
            ("court", COURT, T0 + 2),
            ("arbitration", ARBITRATION, T0 + 3),
        ],
        &[],
    )
}

/// A certificate cosigned by `(key and certificate file, witness name,
/// time)` of the development PKI (`certs/<file>.key`, `.pem`), carrying the
/// `extra` certificates (intermediates) too.
pub(crate) fn cosigned_by(
    metadata_json: &str,
    index: u64,
    cosigners: &[(&str, &str, u64)],
    extra: &[&str],
) -> Vec<u8> {
    let mut tree = MemoryTree::new();
    let mut entries = Vec::new();
    for i in 0..5u8 {
        let metadata = (i == 3)
            .then(|| Metadata::normalise(&serde_json::from_str(metadata_json).unwrap()).unwrap());
        let entry = Entry {
            evidence_sha256: digest(i),
            salt: [i + 0x40; 32],
            metadata,
            submitter: SubmitterId::parse(SUBMITTER).unwrap(),
            received: UtcMillis::parse(&format!("2026-11-29T05:59:5{i}.12{i}Z")).unwrap(),
        };
        tree.push_leaf_data(entry.leaf_text().as_bytes());
        entries.push(entry);
    }
    let cp = Checkpoint::new(ORIGIN, tree.size(), tree.root()).unwrap();
    let mut note = cp.signed_note(&key("notary")).unwrap();
    let mut pems = vec![cert_pem("notary")];
    for (file, name, time) in cosigners {
        let line = cosign(&key(file), name, *time, &cp).unwrap();
        note.add_signature(line.to_note_signature()).unwrap();
        if !pems.contains(&cert_pem(file)) {
            pems.push(cert_pem(file));
        }
    }
    pems.extend(extra.iter().map(|f| cert_pem(f)));
    let path = tree.inclusion_proof(index, tree.size()).unwrap();
    notarium_log::sign::issue_certificate(&entries[index as usize], index, path, note, pems)
        .to_json()
        .into_bytes()
}

/// The hex SHA-256 of entry `i`'s evidence.
pub(crate) fn digest_hex(i: u8) -> String {
    notarium_core::encoding::hex_lower(&digest(i))
}

/// Metadata near the 4 KiB limit, with values far too long for a line, a
/// character the font lacks (an emoji) and a control character.
pub(crate) fn long_metadata() -> String {
    let title = "关于某某科技有限公司与某某贸易有限公司买卖合同纠纷一案的电子证据材料汇编（含聊天记录、电子邮件、交易流水及相关附件）".repeat(4);
    serde_json::json!({
        "title": format!("{title} 😀 end"),
        "file_name": format!("a-very-long-file-name-without-any-spaces{}.tar.gz", "-and-on".repeat(20)),
        "size": 123_456_789_012u64,
        "media_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "case_reference": "（2026）京0105民初12345号之一\t第二卷",
    })
    .to_string()
}
