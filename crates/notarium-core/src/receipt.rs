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
use crate::error::FormatError;
use crate::merkle::{Hash, MAX_PROOF_LEN, leaf_hash};
use crate::note::{Note, NoteSignature, check_key_name};

/// The first line of a receipt.
pub const RECEIPT_FORMAT: &str = "notarium/receipt/v1";
/// The first line of a receipt's signed group.
pub const RECEIPT_GROUP_FORMAT: &str = "notarium/receipt-group/v1";

/// A parsed receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The entry's position in its group.
    pub index: u64,
    /// Its inclusion path in the group's tree, leaf's sibling first.
    pub path: Vec<Hash>,
    /// The log origin (the notary's key name).
    pub origin: String,
    /// Entries in the group.
    pub group_size: u64,
    /// The group tree's root.
    pub group_root: Hash,
    /// The signed group note.
    pub group: Note,
}

impl Receipt {
    /// Parses a receipt in its one canonical form.
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
        let path =
            lines.map(|l| parse_b64_hash("receipt path hash", l)).collect::<Result<Vec<_>, _>>()?;
        if path.len() > MAX_PROOF_LEN {
            return Err(bad("path too long".into()));
        }
        // SPEC: docs/receipts.md: the signed group is a signed note whose
        // text is exactly four lines, notarium/receipt-group/v1, the origin,
        // the group size and the base64 group root, signed by the notary
        // as a checkpoint is (signed-note type 0x02, key name = origin).
        let group = Note::parse(note)?;
        let body = group.text().strip_suffix('\n').ok_or_else(|| bad("group note text".into()))?;
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

    /// The receipt's text.
    pub fn to_text(&self) -> String {
        receipt_text(self.index, &self.path, &self.group.to_text())
    }

    /// The notary's signature lines on the group (name = origin).
    pub fn notary_signatures(&self) -> impl Iterator<Item = &NoteSignature> {
        self.group.signatures().iter().filter(|s| s.name == self.origin)
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

/// A receipt's text: its head (index, path), a blank line, the signed group.
pub fn receipt_text(index: u64, path: &[Hash], group_text: &str) -> String {
    let path: String = path.iter().map(|h| b64(h) + "\n").collect();
    format!("{RECEIPT_FORMAT}\nindex {index}\n{path}\n{group_text}")
}
