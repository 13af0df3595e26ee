//! Issuing real certificates without a server: for golden files, tests,
//! benchmarks and examples (feature `testkit`). It signs with whatever keys
//! it is given; it reads no files.

use crate::keys::SigningKey;
use crate::sign::{SignCheckpoint, cosign, issue_certificate};
use crate::tree::MemoryTree;
use notarium_core::certificate::CertificateJson;
use notarium_core::checkpoint::Checkpoint;
use notarium_core::encoding::pem_encode;
use notarium_core::entry::{Entry, Metadata, SubmitterId};
use notarium_core::identity::certs_from_pem_file;
use notarium_core::note::Note;
use notarium_core::time::UtcMillis;

/// A signer: its key and its certificate (PEM).
#[derive(Debug)]
pub struct Signer {
    pub key: SigningKey,
    pub cert_pem: String,
    /// Subject CN of the certificate.
    pub name: String,
}

impl Signer {
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Self {
        let key = SigningKey::from_pkcs8_pem(key_pem).expect("testkit key");
        let cert = certs_from_pem_file(cert_pem)
            .expect("testkit cert")
            .remove(0);
        let name = cert.common_name.clone().expect("testkit cert has a CN");
        Signer {
            key,
            cert_pem: pem_encode("CERTIFICATE", &cert.der),
            name,
        }
    }
}

/// A cosignature to add: which witness, at which Unix time.
#[derive(Debug)]
pub struct Cosign<'a> {
    pub witness: &'a Signer,
    pub time: u64,
}

/// An in-memory log of entries.
#[derive(Debug, Default)]
pub struct TestLog {
    pub tree: MemoryTree,
    pub entries: Vec<Entry>,
}

impl TestLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry built from a digest, a salt seed and metadata text.
    pub fn append(
        &mut self,
        evidence_sha256: [u8; 32],
        salt: [u8; 32],
        metadata: Option<&str>,
        submitter: &str,
        received: &str,
    ) -> u64 {
        let entry = Entry {
            evidence_sha256,
            salt,
            metadata: metadata.map(|m| Metadata::from_text(m).expect("testkit metadata")),
            submitter: SubmitterId::parse(submitter).expect("testkit submitter"),
            received: UtcMillis::parse(received).expect("testkit time"),
        };
        self.tree.push_leaf_data(entry.leaf_text().as_bytes());
        self.entries.push(entry);
        self.entries.len() as u64 - 1
    }

    /// The signed checkpoint of the whole log with the given cosignatures.
    pub fn checkpoint_note(&self, origin: &str, notary: &Signer, cosigs: &[Cosign<'_>]) -> Note {
        let cp = Checkpoint::new(origin, self.tree.size(), self.tree.root()).expect("origin");
        let mut note = cp.signed_note(&notary.key).expect("sign");
        for c in cosigs {
            let cs = cosign(&c.witness.key, &c.witness.name, c.time, &cp).expect("cosign");
            note.add_signature(cs.to_note_signature()).expect("add");
        }
        note
    }

    /// A certificate for entry `index` under a checkpoint of the whole log.
    pub fn certificate(&self, index: u64, note: Note, cert_pems: Vec<String>) -> CertificateJson {
        let path = self
            .tree
            .inclusion_proof(index, self.tree.size())
            .expect("proof");
        issue_certificate(&self.entries[index as usize], index, path, note, cert_pems)
    }
}
