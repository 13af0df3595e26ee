//! C2SP tlog-checkpoint bodies and the notary's signature over them
//! (signed-note type 0x02, ECDSA P-256).

use crate::encoding::{b64, parse_b64_hash, parse_decimal};
use crate::error::{FormatError, IdentityError};
use crate::identity::VerifyingKey;
use crate::merkle::{Hash, sha256};
use crate::note::{NoteSignature, check_key_name};

/// A checkpoint body: origin, tree size, root hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
}

impl Checkpoint {
    /// The origin doubles as the notary's note key name, so it must be a
    /// valid key name (no spaces, no '+').
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, FormatError> {
        check_key_name(origin).map_err(|e| FormatError::Checkpoint(e.to_string()))?;
        if origin.contains('\n') || origin.chars().any(|c| c < ' ') {
            return Err(FormatError::Checkpoint("origin has a control character".into()));
        }
        Ok(Checkpoint { origin: origin.to_string(), size, root })
    }

    /// Parses a checkpoint body. Notarium checkpoints have exactly the three
    /// lines of tlog-checkpoint and no extension lines.
    pub fn parse(body: &str) -> Result<Self, FormatError> {
        let bad = |why: String| FormatError::Checkpoint(why);
        let Some(inner) = body.strip_suffix('\n') else {
            return Err(bad("does not end with a newline".into()));
        };
        // SPEC: tlog-checkpoint: "The note text is a sequence of at least
        // three non-empty lines": origin, tree size, root hash. Contract §3:
        // Notarium's have exactly three (no extension lines).
        let lines: Vec<&str> = inner.split('\n').collect();
        let [origin, size, root] = lines.as_slice() else {
            return Err(bad(format!(
                "expected 3 lines (origin, size, root hash), found {}",
                lines.len()
            )));
        };
        // SPEC: "the ASCII decimal representation of the number of leaves in
        // the tree, with no leading zeroes (unless the tree is empty ...)".
        let size = parse_decimal("tree size", size).map_err(|e| bad(e.to_string()))?;
        // SPEC: "the base64 encoding of the root of the [RFC 6962] Merkle
        // hash tree at the specified tree size".
        let root = parse_b64_hash("root hash", root).map_err(|e| bad(e.to_string()))?;
        Checkpoint::new(origin, size, root)
    }

    /// The log origin (first line).
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// The root hash.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// `<origin>\n<size>\n<base64 root>\n`
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, b64(&self.root))
    }
}

/// Whether `sig` is a notary signature by `key` (name and key ID match).
pub fn is_notary_signature_by(sig: &NoteSignature, origin: &str, key: &VerifyingKey) -> bool {
    sig.name == origin && sig.key_id == notary_key_id(key)
}

/// SPEC: contract §3: a notary's note key ID is the first 4 bytes of
/// SHA-256 of its DER SubjectPublicKeyInfo (signed-note type 0x02).
pub fn notary_key_id(key: &VerifyingKey) -> [u8; 4] {
    sha256(key.spki_der())[..4].try_into().expect("4 bytes")
}

/// Verifies a notary signature line over a note text.
pub fn verify_notary_signature(
    text: &str,
    sig: &NoteSignature,
    key: &VerifyingKey,
) -> Result<(), IdentityError> {
    key.verify(text.as_bytes(), &sig.signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_round_trips() {
        let c = Checkpoint::new("notarium.example/log", 7, [9; 32]).unwrap();
        assert_eq!(Checkpoint::parse(&c.body()).unwrap(), c);
        assert_eq!(
            c.body(),
            "notarium.example/log\n7\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n"
        );
    }

    #[test]
    fn rejects_malformed_bodies() {
        for bad in [
            "o\n7\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=",
            "o\n07\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n",
            "o\n7\nCQkJ\n",
            "o o\n7\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n",
            "\n7\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n",
            "o\n7\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\next\n",
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
    }
}
