//! C2SP tlog-proof: `c2sp.org/tlog-proof@v1`, optional `extra`, `index`,
//! inclusion hashes, a blank line, then the checkpoint as a signed note.

use crate::encoding::{b64, parse_b64, parse_b64_hash, parse_decimal};
use crate::error::FormatError;
use crate::merkle::{Hash, MAX_PROOF_LEN};
use crate::note::Note;

/// The first line of a tlog-proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

#[derive(Clone, Debug, PartialEq, Eq)]
/// A parsed C2SP tlog-proof.
pub struct TlogProof {
    /// Unauthenticated extra data (Notarium writes none).
    pub extra: Option<Vec<u8>>,
    /// The leaf index.
    pub index: u64,
    /// Inclusion proof, leaf's sibling first.
    pub path: Vec<Hash>,
    /// The checkpoint as a signed note.
    pub checkpoint: Note,
}

impl TlogProof {
    /// Parses the tlog-proof text (see the SPEC comments for each line).
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        let bad = |why: String| FormatError::Proof(why);
        let (head, note) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint".into()))?;
        let mut lines = head.split('\n');
        // SPEC: tlog-proof: "The first line MUST be the string c2sp.org/tlog-proof@v1."
        if lines.next() != Some(TLOG_PROOF_HEADER) {
            return Err(bad(format!("first line is not {TLOG_PROOF_HEADER}")));
        }
        let mut line = lines.next().ok_or_else(|| bad("no index line".into()))?;
        // SPEC: "The second line MAY start with the string extra followed by a space".
        let mut extra = None;
        if let Some(e) = line.strip_prefix("extra ") {
            extra = Some(parse_b64("extra", e).map_err(|e| bad(e.to_string()))?);
            line = lines.next().ok_or_else(|| bad("no index line".into()))?;
        }
        // SPEC: "The next line MUST start with the string index followed by a
        // space and the zero-based index ... with no leading zeroes".
        let index = line
            .strip_prefix("index ")
            .ok_or_else(|| bad(format!("expected an index line, found \"{line}\"")))?;
        let index = parse_decimal("index", index).map_err(|e| bad(e.to_string()))?;
        let path = lines
            .map(|l| parse_b64_hash("inclusion proof hash", l).map_err(|e| bad(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        if path.len() > MAX_PROOF_LEN {
            return Err(bad(format!("{} proof hashes, more than {MAX_PROOF_LEN}", path.len())));
        }
        let checkpoint = Note::parse(note).map_err(|e| bad(format!("checkpoint: {e}")))?;
        Ok(TlogProof { extra, index, path, checkpoint })
    }

    /// The canonical text; a verifier compares it with what it parsed.
    pub fn to_text(&self) -> String {
        let extra = self.extra.as_ref().map(|e| format!("extra {}\n", b64(e))).unwrap_or_default();
        let path: String = self.path.iter().map(|h| b64(h) + "\n").collect();
        let (index, checkpoint) = (self.index, self.checkpoint.to_text());
        format!("{TLOG_PROOF_HEADER}\n{extra}index {index}\n{path}\n{checkpoint}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str =
        "o\n1\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n\n\u{2014} o AQIDBAU=\n";

    #[test]
    fn round_trips() {
        let text = format!(
            "{TLOG_PROOF_HEADER}\nextra AAE=\nindex 5\n{}\n{}\n\n{NOTE}",
            b64(&[1; 32]),
            b64(&[2; 32])
        );
        let p = TlogProof::parse(&text).unwrap();
        assert_eq!(p.index, 5);
        assert_eq!(p.extra, Some(vec![0, 1]));
        assert_eq!(p.path, vec![[1; 32], [2; 32]]);
        assert_eq!(p.to_text(), text);
        let no_extra = format!("{TLOG_PROOF_HEADER}\nindex 0\n\n{NOTE}");
        assert_eq!(TlogProof::parse(&no_extra).unwrap().to_text(), no_extra);
    }

    #[test]
    fn rejects_malformed_proofs() {
        for bad in [
            format!("c2sp.org/tlog-proof@v2\nindex 0\n\n{NOTE}"),
            format!("{TLOG_PROOF_HEADER}\nindex 01\n\n{NOTE}"),
            format!("{TLOG_PROOF_HEADER}\n\n{NOTE}"),
            format!("{TLOG_PROOF_HEADER}\nindex 0\nAAAA\n\n{NOTE}"),
            format!("{TLOG_PROOF_HEADER}\nindex 0\n"),
            format!("{TLOG_PROOF_HEADER}\nindex 0\n\no\n1\n"),
        ] {
            assert!(TlogProof::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
