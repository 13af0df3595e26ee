//! Signing what the contract defines: the notary's checkpoint signature
//! (§3, signed-note type 0x02), a witness's cosignature (tlog-cosignature
//! v1 message, ECDSA P-256), signed receipts (docs/receipts.md) and the
//! assembly of a deposit certificate (§5). Each writes exactly the bytes
//! the core's parsers read back.

use crate::keys::{SignError, SigningKey};
use crate::tree::MemoryTree;
use notarium_core::certificate::{CERTIFICATE_FORMAT, CertificateJson, EvidenceJson};
use notarium_core::checkpoint::Checkpoint;
use notarium_core::cosignature::{Cosignature, cosignature_message};
use notarium_core::encoding::{b64, hex_lower};
use notarium_core::entry::Entry;
use notarium_core::merkle::{Hash, leaf_hash};
use notarium_core::note::{Note, NoteSignature, check_key_name};
use notarium_core::proof::TlogProof;
use notarium_core::receipt::{RECEIPT_GROUP_FORMAT, receipt_text};

/// The notary's signatures over a checkpoint (an extension of the core's
/// [`Checkpoint`], which only parses and verifies).
pub trait SignCheckpoint {
    /// The notary's signature line over the body (key name = origin).
    fn sign(&self, key: &SigningKey) -> Result<NoteSignature, SignError>;
    /// A signed note of the checkpoint with the notary's signature.
    fn signed_note(&self, key: &SigningKey) -> Result<Note, SignError>;
}

impl SignCheckpoint for Checkpoint {
    fn sign(&self, key: &SigningKey) -> Result<NoteSignature, SignError> {
        Ok(NoteSignature {
            name: self.origin().to_string(),
            key_id: notarium_core::checkpoint::notary_key_id(key.public()),
            signature: key.sign(self.body().as_bytes())?,
        })
    }

    fn signed_note(&self, key: &SigningKey) -> Result<Note, SignError> {
        let mut note = Note::unsigned(&self.body()).expect("checkpoint bodies are valid note text");
        note.add_signature(self.sign(key)?)
            .expect("origin is a valid key name");
        Ok(note)
    }
}

/// A witness's cosignature over `checkpoint` at `timestamp` (Unix seconds).
pub fn cosign(
    key: &SigningKey,
    name: &str,
    timestamp: u64,
    checkpoint: &Checkpoint,
) -> Result<Cosignature, SignError> {
    check_key_name(name).map_err(|_| SignError::SigningFailed)?;
    Ok(Cosignature {
        name: name.to_string(),
        key_id: notarium_core::cosignature::cosignature_key_id(key.public(), name),
        timestamp,
        signature: key.sign(&cosignature_message(timestamp, &checkpoint.body()))?,
    })
}

/// Signs receipts for a group of entry texts with one signature; returns
/// one receipt text per entry, in order.
pub fn sign_receipts(
    origin: &str,
    key: &SigningKey,
    entry_texts: &[&[u8]],
) -> Result<Vec<String>, SignError> {
    let leaves: Vec<Hash> = entry_texts.iter().map(|t| leaf_hash(t)).collect();
    sign_receipts_for_leaves(origin, key, &leaves)
}

/// [`sign_receipts`] for entries whose leaf hashes (`SHA-256(0x00 ||
/// entry text)`) the caller has already computed.
pub fn sign_receipts_for_leaves(
    origin: &str,
    key: &SigningKey,
    leaves: &[Hash],
) -> Result<Vec<String>, SignError> {
    let mut tree = MemoryTree::new();
    for leaf in leaves {
        tree.push_leaf_hash(*leaf);
    }
    let body = format!(
        "{RECEIPT_GROUP_FORMAT}\n{origin}\n{}\n{}\n",
        tree.size(),
        b64(&tree.root())
    );
    let mut group = Note::unsigned(&body).map_err(|_| SignError::SigningFailed)?;
    group
        .add_signature(NoteSignature {
            name: origin.to_string(),
            key_id: notarium_core::checkpoint::notary_key_id(key.public()),
            signature: key.sign(body.as_bytes())?,
        })
        .map_err(|_| SignError::SigningFailed)?;
    // The signed group is the same in every receipt: render it once.
    let group_text = group.to_text();
    let group_size = tree.size();
    (0..group_size)
        .map(|index| {
            let path = tree
                .inclusion_proof(index, group_size)
                .expect("index inside the group");
            Ok(receipt_text(index, &path, &group_text))
        })
        .collect()
}

/// Assembles the certificate of `entry`, leaf `index` of the tree of the
/// final checkpoint `checkpoint` (notary signature and cosignatures), with
/// its inclusion `path` and the PEM certificates of every signer and
/// intermediate.
pub fn issue_certificate(
    entry: &Entry,
    index: u64,
    path: Vec<Hash>,
    checkpoint: Note,
    certificates: Vec<String>,
) -> CertificateJson {
    let proof = TlogProof {
        extra: None,
        index,
        path,
        checkpoint,
    };
    CertificateJson {
        format: CERTIFICATE_FORMAT.to_string(),
        evidence: EvidenceJson {
            sha256: hex_lower(&entry.evidence_sha256),
            salt: hex_lower(&entry.salt),
            metadata: entry.metadata.as_ref().map(|m| m.as_str().to_string()),
            submitter: entry.submitter.to_string(),
            received_at: entry.received.to_text(),
        },
        entry: entry.leaf_text(),
        proof: proof.to_text(),
        certificates,
        timestamps: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notarium_core::checkpoint::{is_notary_signature_by, verify_notary_signature};
    use notarium_core::receipt::Receipt;

    #[test]
    fn checkpoints_sign_and_verify() {
        let k = SigningKey::generate().unwrap();
        let c = Checkpoint::new("o.example/log", 1, [1; 32]).unwrap();
        let note = c.signed_note(&k).unwrap();
        let parsed = Note::parse(&note.to_text()).unwrap();
        let sig = &parsed.signatures()[0];
        assert!(is_notary_signature_by(sig, "o.example/log", k.public()));
        verify_notary_signature(parsed.text(), sig, k.public()).unwrap();
        assert!(verify_notary_signature("o.example/log\n2\n", sig, k.public()).is_err());
    }

    #[test]
    fn cosign_verify_and_line_round_trip() {
        let k = SigningKey::generate().unwrap();
        let c = Checkpoint::new("o.example/log", 3, [3; 32]).unwrap();
        let cs = cosign(&k, "court.example/w", 1_800_000_000, &c).unwrap();
        let line = cs.to_note_signature().to_line();
        let back = Cosignature::from_note_signature(
            &NoteSignature::parse_line(line.trim_end_matches('\n')).unwrap(),
        )
        .unwrap();
        assert_eq!(back, cs);
        assert!(back.is_by("court.example/w", k.public()));
        assert!(!back.is_by("other", k.public()));
        back.verify(&c, k.public()).unwrap();
        let mut moved = back.clone();
        moved.timestamp += 1;
        assert!(moved.verify(&c, k.public()).is_err());
        let other = Checkpoint::new("o.example/log", 4, [3; 32]).unwrap();
        assert!(back.verify(&other, k.public()).is_err());
    }

    #[test]
    fn receipts_round_trip_and_prove_their_entries() {
        let key = SigningKey::generate().unwrap();
        let entries: Vec<Vec<u8>> = (0..7)
            .map(|i| format!("entry {i}\n").into_bytes())
            .collect();
        let refs: Vec<&[u8]> = entries.iter().map(|e| e.as_slice()).collect();
        let receipts = sign_receipts("o.example/log", &key, &refs).unwrap();
        assert_eq!(receipts.len(), 7);
        for (i, r) in receipts.iter().enumerate() {
            let p = Receipt::parse(r).unwrap();
            assert_eq!(p.index, i as u64);
            assert_eq!(p.group_size, 7);
            p.check_entry(&entries[i]).unwrap();
            assert!(p.check_entry(&entries[(i + 1) % 7]).is_err());
            let sig = p.notary_signatures().next().unwrap();
            key.public()
                .verify(p.group.text().as_bytes(), &sig.signature)
                .unwrap();
        }
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let from_leaves = sign_receipts_for_leaves("o.example/log", &key, &leaves).unwrap();
        for (i, r) in from_leaves.iter().enumerate() {
            // Same head and group as from the texts (ECDSA signatures differ).
            let (a, b) = (
                Receipt::parse(r).unwrap(),
                Receipt::parse(&receipts[i]).unwrap(),
            );
            assert_eq!(
                (a.index, &a.path, a.group_root),
                (b.index, &b.path, b.group_root)
            );
        }
        let single = sign_receipts("o.example/log", &key, &[b"x"]).unwrap();
        Receipt::parse(&single[0])
            .unwrap()
            .check_entry(b"x")
            .unwrap();
        assert!(Receipt::parse(&receipts[0].replace("index 0", "index 00")).is_err());
    }
}
