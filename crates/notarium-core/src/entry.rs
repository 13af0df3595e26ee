//! The log entry (contract §2): the exact leaf text with salted commitments.

use crate::encoding::hex_lower;
use crate::error::FormatError;
use crate::merkle::{Hash, leaf_hash};
use crate::time::UtcMillis;
use sha2::{Digest, Sha256};

/// First line of every entry.
pub const ENTRY_FORMAT: &str = "notarium/entry/v1";
/// Largest metadata JSON text, in bytes.
pub const MAX_METADATA_BYTES: usize = 4096;

/// A submitter id: `[a-z0-9][a-z0-9._-]{0,62}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubmitterId(String);

impl SubmitterId {
    /// Accepts only `[a-z0-9][a-z0-9._-]{0,62}`.
    pub fn parse(s: &str) -> Result<Self, FormatError> {
        let ok = (1..=63).contains(&s.len())
            && s.bytes().enumerate().all(|(i, b)| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || (i > 0 && matches!(b, b'.' | b'_' | b'-'))
            });
        if !ok {
            return Err(FormatError::field(
                "submitter id",
                format!("\"{s}\" does not match [a-z0-9][a-z0-9._-]{{0,62}}"),
            ));
        }
        Ok(SubmitterId(s.to_string()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SubmitterId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Metadata JSON text: a JSON object of at most 4 KiB, kept byte for byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata(String);

impl Metadata {
    /// Accepts stored text as it is (certificates carry the exact bytes).
    pub fn from_text(text: &str) -> Result<Self, FormatError> {
        if text.len() > MAX_METADATA_BYTES {
            return Err(FormatError::field(
                "metadata",
                format!("{} bytes, more than {MAX_METADATA_BYTES}", text.len()),
            ));
        }
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(_)) => Ok(Metadata(text.to_string())),
            Ok(_) => Err(FormatError::field("metadata", "not a JSON object")),
            Err(e) => Err(FormatError::field("metadata", format!("not JSON: {e}"))),
        }
    }

    /// The notary's one-time normalisation on receipt: compact JSON with
    /// object keys sorted.
    pub fn normalise(value: &serde_json::Value) -> Result<Self, FormatError> {
        if !value.is_object() {
            return Err(FormatError::field("metadata", "not a JSON object"));
        }
        let text = serde_json::to_string(value).expect("a Value always serialises");
        Self::from_text(&text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `SHA-256(salt || bytes)`.
pub fn commitment(salt: &[u8; 32], bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(bytes);
    h.finalize().into()
}

/// Everything the leaf text is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// SHA-256 of the evidence file (computed by the client).
    pub evidence_sha256: Hash,
    /// 32 random bytes chosen by the notary.
    pub salt: [u8; 32],
    /// The submitter's metadata, if any.
    pub metadata: Option<Metadata>,
    /// The submitter id.
    pub submitter: SubmitterId,
    /// The notary's received time.
    pub received: UtcMillis,
}

impl Entry {
    /// The exact leaf text of contract §2.
    pub fn leaf_text(&self) -> String {
        let metadata = match &self.metadata {
            Some(m) => hex_lower(&commitment(&self.salt, m.as_str().as_bytes())),
            None => "-".to_string(),
        };
        format!(
            "{ENTRY_FORMAT}\nevidence {}\nmetadata {metadata}\nsubmitter {}\nreceived {}\n",
            hex_lower(&commitment(&self.salt, &self.evidence_sha256)),
            self.submitter,
            self.received.to_text()
        )
    }

    /// RFC 9162 leaf hash of the leaf text.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(self.leaf_text().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submitter_ids() {
        for ok in ["a", "acme-corp", "a.b_c-d", "0", &"a".repeat(63)] {
            assert!(SubmitterId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", ".a", "A", "a b", "ä", &"a".repeat(64), "a\n"] {
            assert!(SubmitterId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn leaf_text_is_exactly_the_contract() {
        let e = Entry {
            evidence_sha256: [0x11; 32],
            salt: [0x22; 32],
            metadata: None,
            submitter: SubmitterId::parse("acme").unwrap(),
            received: UtcMillis::parse("2026-11-29T05:41:56.123Z").unwrap(),
        };
        let ev = hex_lower(&commitment(&[0x22; 32], &[0x11; 32]));
        assert_eq!(
            e.leaf_text(),
            format!(
                "notarium/entry/v1\nevidence {ev}\nmetadata -\nsubmitter acme\nreceived 2026-11-29T05:41:56.123Z\n"
            )
        );
        let with_meta = Entry {
            metadata: Some(Metadata::from_text("{\"title\":\"x\"}").unwrap()),
            ..e.clone()
        };
        let mc = hex_lower(&commitment(&[0x22; 32], b"{\"title\":\"x\"}"));
        assert!(with_meta.leaf_text().contains(&format!("\nmetadata {mc}\n")));
        assert_ne!(e.leaf_hash(), with_meta.leaf_hash());
    }

    #[test]
    fn metadata_rules() {
        assert!(Metadata::from_text("[1]").is_err());
        assert!(Metadata::from_text("{").is_err());
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_METADATA_BYTES));
        assert!(Metadata::from_text(&big).is_err());
        let v: serde_json::Value = serde_json::from_str("{ \"b\": 1, \"a\": [true] }").unwrap();
        assert_eq!(Metadata::normalise(&v).unwrap().as_str(), "{\"a\":[true],\"b\":1}");
    }
}

/// The fields of a leaf text, read back (for a bare tlog-proof, where only
/// the entry text is at hand and the salt is not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafFields {
    /// `SHA-256(salt || evidence digest)`.
    pub evidence_commitment: Hash,
    /// `SHA-256(salt || metadata)`, if there is metadata.
    pub metadata_commitment: Option<Hash>,
    /// The submitter id.
    pub submitter: SubmitterId,
    /// The notary's received time.
    pub received: UtcMillis,
}

impl LeafFields {
    /// Parses exactly the text [`Entry::leaf_text`] writes.
    pub fn parse(text: &[u8]) -> Result<Self, FormatError> {
        let bad = |why: &str| FormatError::Entry(why.to_string());
        let text = std::str::from_utf8(text).map_err(|_| bad("not UTF-8"))?;
        let inner = text.strip_suffix('\n').ok_or_else(|| bad("does not end with a newline"))?;
        let lines: Vec<&str> = inner.split('\n').collect();
        let [format, evidence, metadata, submitter, received] = lines.as_slice() else {
            return Err(bad("expected 5 lines"));
        };
        if *format != ENTRY_FORMAT {
            return Err(bad("first line is not notarium/entry/v1"));
        }
        fn field<'a>(line: &'a str, key: &str) -> Result<&'a str, FormatError> {
            line.strip_prefix(key)
                .and_then(|r| r.strip_prefix(' '))
                .ok_or_else(|| FormatError::Entry(format!("expected a \"{key}\" line")))
        }
        let evidence = field(evidence, "evidence")?;
        let metadata = field(metadata, "metadata")?;
        let submitter = field(submitter, "submitter")?;
        let received = field(received, "received")?;
        let fields = LeafFields {
            evidence_commitment: crate::encoding::parse_hex32("evidence commitment", evidence)?,
            metadata_commitment: if metadata == "-" {
                None
            } else {
                Some(crate::encoding::parse_hex32("metadata commitment", metadata)?)
            },
            submitter: SubmitterId::parse(submitter)?,
            received: UtcMillis::parse(received)?,
        };
        Ok(fields)
    }
}
