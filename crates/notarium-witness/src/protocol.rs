//! The body of a tlog-witness `add-checkpoint` request, parsed strictly.
//!
//! ```text
//! old <size>\n
//! <base64 hash>\n          (0 to 63 consistency proof lines)
//! \n
//! <checkpoint as a signed note>
//! ```

use notarium_core::checkpoint::Checkpoint;
use notarium_core::encoding::{parse_b64_hash, parse_decimal};
use notarium_core::merkle::{EMPTY_TREE_ROOT, Hash, hashes_equal};
use notarium_core::note::{MAX_NOTE_BYTES, Note};

/// tlog-witness: "The client MUST NOT send more than 63 consistency proof
/// lines."
pub const MAX_PROOF_LINES: usize = 63;

/// The largest request body read: the largest note the core parses, 63
/// proof lines of 45 bytes and the old size line, rounded up. Larger bodies
/// are refused with 400 before they are read to the end.
pub const MAX_BODY_BYTES: usize = MAX_NOTE_BYTES + 8 * 1024;

/// A well-formed add-checkpoint request. Nothing in it is trusted yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    pub note: Note,
    pub checkpoint: Checkpoint,
}

impl AddCheckpoint {
    /// Parses a request body; the error says what is malformed (400).
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        if body.len() > MAX_BODY_BYTES {
            return Err(format!(
                "request body is {} bytes, more than {MAX_BODY_BYTES}",
                body.len()
            ));
        }
        let text =
            std::str::from_utf8(body).map_err(|_| "request body is not UTF-8".to_string())?;
        // SPEC: "The request body MUST be a sequence of an old size line, zero
        // or more consistency proof lines, and an empty line, followed by a
        // checkpoint." The header lines never contain an empty line, so the
        // first empty line ends them.
        let Some(split) = text.find("\n\n") else {
            return Err("no empty line after the old size and proof lines".into());
        };
        let (header, note_text) = (&text[..split], &text[split + 2..]);
        let mut lines = header.split('\n');
        let old_line = lines.next().unwrap_or_default();
        // SPEC: "The old size line MUST consist of the string `old`, a single
        // space (0x20), and the tree size of the previous checkpoint encoded as
        // an ASCII decimal with no leading zeroes (unless the size is zero, in
        // which case the encoding MUST be `0`)."
        let old_size = old_line
            .strip_prefix("old ")
            .ok_or_else(|| format!("first line \"{old_line}\" is not \"old <size>\""))
            .and_then(|s| parse_decimal("old size", s).map_err(|e| e.to_string()))?;
        let proof_lines: Vec<&str> = lines.collect();
        // SPEC: "The client MUST NOT send more than 63 consistency proof lines."
        if proof_lines.len() > MAX_PROOF_LINES {
            return Err(format!(
                "{} consistency proof lines, more than {MAX_PROOF_LINES}",
                proof_lines.len()
            ));
        }
        // SPEC: "Each consistency proof line MUST encode a single hash in base64."
        let proof = proof_lines
            .iter()
            .map(|l| parse_b64_hash("consistency proof line", l).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        // SPEC: "Each line MUST terminate in a newline character (U+000A)."
        // (Note::parse refuses a note whose last line has no newline.)
        let note = Note::parse(note_text).map_err(|e| e.to_string())?;
        let checkpoint = Checkpoint::parse(note.text()).map_err(|e| e.to_string())?;
        // The store keeps sizes as SQLite integers: 2^63 - 1 leaves at most.
        for (what, v) in [("old size", old_size), ("tree size", checkpoint.size())] {
            if i64::try_from(v).is_err() {
                return Err(format!(
                    "{what} {v} is above 2^63 - 1, which this witness does not support"
                ));
            }
        }
        // RFC 9162 §2.1.1: the tree of size 0 has exactly one root hash; a
        // checkpoint claiming another is not a checkpoint of any tree.
        if checkpoint.size() == 0 && !hashes_equal(checkpoint.root(), &EMPTY_TREE_ROOT) {
            return Err(
                "a checkpoint of size 0 must carry the empty tree's root hash (SHA-256 of nothing)"
                    .into(),
            );
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            note,
            checkpoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CP: &str = "example.org/log\n5\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n\u{2014} example.org/log AQIDBAU=\n";
    const H: &str = "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=";

    #[test]
    fn parses_old_size_proof_and_note() {
        let r = AddCheckpoint::parse(format!("old 3\n{H}\n{H}\n\n{CP}").as_bytes()).unwrap();
        assert_eq!(r.old_size, 3);
        assert_eq!(r.proof, vec![[9u8; 32], [9u8; 32]]);
        assert_eq!(r.checkpoint.size(), 5);
        assert_eq!(r.checkpoint.origin(), "example.org/log");
        let r = AddCheckpoint::parse(format!("old 0\n\n{CP}").as_bytes()).unwrap();
        assert_eq!((r.old_size, r.proof.len()), (0, 0));
    }

    #[test]
    fn refuses_malformed_bodies() {
        let many = format!("old 3\n{}\n{CP}", format!("{H}\n").repeat(64));
        let cases = [
            String::new(),
            format!("old 3\n{CP}"),                        // no empty line
            format!("old 03\n\n{CP}"),                     // leading zero
            format!("old -1\n\n{CP}"),                     // not a decimal
            format!("Old 3\n\n{CP}"),                      // wrong keyword
            format!("old  3\n\n{CP}"),                     // two spaces
            format!("\nold 3\n\n{CP}"),                    // empty first line
            format!("old 3\nAAAA\n\n{CP}"),                // short hash
            format!("old 3\n{H} \n\n{CP}"),                // trailing space
            format!("old 3\n\n{}", &CP[..CP.len() - 1]),   // no final newline
            format!("old 3\n\nexample.org/log\n5\n{H}\n"), // unsigned
            format!("old 3\n\nexample.org/log\n5\n{H}\next\n\n\u{2014} example.org/log AQIDBAU=\n"),
            format!("old 0\n\nexample.org/log\n0\n{H}\n\n\u{2014} example.org/log AQIDBAU=\n"),
            format!(
                "old 0\n\nexample.org/log\n9223372036854775808\n{H}\n\n\u{2014} example.org/log AQIDBAU=\n"
            ),
            many,
        ];
        for body in cases {
            assert!(AddCheckpoint::parse(body.as_bytes()).is_err(), "{body:?}");
        }
        assert!(AddCheckpoint::parse(b"old 3\n\n\xff\n").is_err());
        assert!(AddCheckpoint::parse(&vec![b'a'; MAX_BODY_BYTES + 1]).is_err());
    }

    #[test]
    fn accepts_exactly_63_proof_lines() {
        let body = format!("old 3\n{}\n{CP}", format!("{H}\n").repeat(63));
        assert_eq!(
            AddCheckpoint::parse(body.as_bytes()).unwrap().proof.len(),
            63
        );
    }
}
