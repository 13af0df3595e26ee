//! Signed receipts: the notary's promise, given at once on submission, that
//! an entry received at its time will be in the log.
//!
//! One signature covers a whole group of entries committed together: the
//! notary builds an RFC 9162 tree over the group's entry texts and signs a
//! note naming the group's size and root; each receipt carries its entry's
//! inclusion path in that tree. Format (docs/receipts.md):
//!
//! ```text
//! notarium/receipt/v1
//! index <position in the group>
//! <base64 hash>            (inclusion path, leaf's sibling first)
//!
//! notarium/receipt-group/v1
//! <log origin>
//! <group size>
//! <base64 group root>
//!
//! — <log origin> <base64(key ID || ECDSA signature)>
//! ```

use crate::encoding::{b64, parse_b64_hash, parse_decimal};
use crate::error::{FormatError, KeyError};
use crate::keys::SigningKey;
use crate::merkle::{Hash, MAX_PROOF_LEN, MemoryTree, inclusion_proof, leaf_hash};
use crate::note::{Note, NoteSignature, check_key_name};

pub const RECEIPT_FORMAT: &str = "notarium/receipt/v1";
pub const RECEIPT_GROUP_FORMAT: &str = "notarium/receipt-group/v1";

/// A parsed receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub index: u64,
    pub path: Vec<Hash>,
    pub origin: String,
    pub group_size: u64,
    pub group_root: Hash,
    /// The signed group note.
    pub group: Note,
}

impl Receipt {
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        let bad = |why: String| FormatError::field("receipt", why);
        let (head, note) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the signed group".into()))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(RECEIPT_FORMAT) {
            return Err(bad(format!("first line is not {RECEIPT_FORMAT}")));
        }
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .ok_or_else(|| bad("no index line".into()))?;
        let index = parse_decimal("receipt index", index)?;
        let path = lines
            .map(|l| parse_b64_hash("receipt path hash", l))
            .collect::<Result<Vec<_>, _>>()?;
        if path.len() > MAX_PROOF_LEN {
            return Err(bad("path too long".into()));
        }
        let group = Note::parse(note)?;
        let body = group
            .text()
            .strip_suffix('\n')
            .ok_or_else(|| bad("group note text".into()))?;
        let parts: Vec<&str> = body.split('\n').collect();
        let [format, origin, size, root] = parts.as_slice() else {
            return Err(bad("the signed group must have 4 lines".into()));
        };
        if *format != RECEIPT_GROUP_FORMAT {
            return Err(bad(format!("signed group is not {RECEIPT_GROUP_FORMAT}")));
        }
        check_key_name(origin)?;
        let receipt = Receipt {
            index,
            path,
            origin: origin.to_string(),
            group_size: parse_decimal("group size", size)?,
            group_root: parse_b64_hash("group root", root)?,
            group,
        };
        if receipt.to_text() != text {
            return Err(bad("not in canonical form".into()));
        }
        Ok(receipt)
    }

    pub fn to_text(&self) -> String {
        render(self.index, &self.path, &self.group.to_text())
    }

    /// The notary's signature lines on the group (name = origin).
    pub fn notary_signatures(&self) -> impl Iterator<Item = &NoteSignature> {
        self.group
            .signatures()
            .iter()
            .filter(|s| s.name == self.origin)
    }

    /// Checks that `entry_text` is leaf `index` of the signed group.
    pub fn check_entry(&self, entry_text: &[u8]) -> Result<(), crate::error::MerkleError> {
        crate::merkle::verify_inclusion(
            &leaf_hash(entry_text),
            self.index,
            self.group_size,
            &self.path,
            &self.group_root,
        )
    }
}

/// Signs receipts for a group of entry texts with one signature; returns
/// one receipt text per entry, in order.
pub fn sign_receipts(
    origin: &str,
    key: &SigningKey,
    entry_texts: &[&[u8]],
) -> Result<Vec<String>, KeyError> {
    let leaves: Vec<Hash> = entry_texts.iter().map(|t| leaf_hash(t)).collect();
    sign_receipts_for_leaves(origin, key, &leaves)
}

/// [`sign_receipts`] for entries whose leaf hashes (`SHA-256(0x00 ||
/// entry text)`) the caller has already computed.
pub fn sign_receipts_for_leaves(
    origin: &str,
    key: &SigningKey,
    leaves: &[Hash],
) -> Result<Vec<String>, KeyError> {
    let mut tree = MemoryTree::new();
    for leaf in leaves {
        tree.push_leaf_hash(*leaf);
    }
    let body = format!(
        "{RECEIPT_GROUP_FORMAT}\n{origin}\n{}\n{}\n",
        tree.size(),
        b64(&tree.root())
    );
    let mut group = Note::unsigned(&body).map_err(|_| KeyError::SigningFailed)?;
    group
        .add_signature(NoteSignature {
            name: origin.to_string(),
            key_id: key.public().notary_key_id(),
            signature: key.sign(body.as_bytes())?,
        })
        .map_err(|_| KeyError::SigningFailed)?;
    // The signed group is the same in every receipt: render it once.
    let group_text = group.to_text();
    let group_size = tree.size();
    (0..group_size)
        .map(|index| {
            let path = inclusion_proof(index, group_size, &tree).expect("index inside the group");
            Ok(render(index, &path, &group_text))
        })
        .collect()
}

/// A receipt's text: its head (index, path), a blank line, the signed group.
fn render(index: u64, path: &[Hash], group_text: &str) -> String {
    let mut out = String::with_capacity(40 + path.len() * 45 + group_text.len());
    out.push_str(RECEIPT_FORMAT);
    out.push_str("\nindex ");
    out.push_str(&index.to_string());
    out.push('\n');
    for h in path {
        out.push_str(&b64(h));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(group_text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_round_trip_and_prove_their_entries() {
        let key = SigningKey::from_pkcs8_der(&SigningKey::generate_pkcs8().unwrap()).unwrap();
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
        assert_eq!(from_leaves.len(), 7);
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
            a.check_entry(&entries[i]).unwrap();
        }
        let single = sign_receipts("o.example/log", &key, &[b"x"]).unwrap();
        Receipt::parse(&single[0])
            .unwrap()
            .check_entry(b"x")
            .unwrap();
        assert!(Receipt::parse(&receipts[0].replace("index 0", "index 00")).is_err());
    }
}
