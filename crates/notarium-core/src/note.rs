//! C2SP signed-note: text, a blank line, then signature lines
//! `— <key name> base64(key ID || signature)`.

use crate::encoding::{b64, parse_b64};
use crate::error::FormatError;

/// The signature line marker: EM DASH (U+2014) and a space.
pub const SIGNATURE_PREFIX: &str = "\u{2014} ";
/// Verifiers must accept at least 16 signatures; we accept 64.
pub const MAX_SIGNATURES: usize = 64;
/// Largest note we read (a checkpoint with 64 ECDSA signatures is ~7 KB).
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// One signature line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The first 4 bytes of the decoded signature.
    pub key_id: [u8; 4],
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// `— <name> <base64>\n`
    pub fn to_line(&self) -> String {
        let raw = [&self.key_id[..], &self.signature].concat();
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, b64(&raw))
    }

    /// Parses one line without its final newline.
    pub fn parse_line(line: &str) -> Result<Self, FormatError> {
        let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or_else(|| {
            note_error(format!("signature line \"{line}\" does not start with \"— \""))
        })?;
        let (name, sig) = rest
            .split_once(' ')
            .ok_or_else(|| note_error(format!("signature line \"{line}\" has no signature")))?;
        check_key_name(name)?;
        let raw = parse_b64("note signature", sig).map_err(|e| note_error(e.to_string()))?;
        if raw.len() < 5 {
            return Err(note_error(format!("signature of {name} is too short")));
        }
        Ok(NoteSignature {
            name: name.to_string(),
            key_id: raw[..4].try_into().expect("length checked"),
            signature: raw[4..].to_vec(),
        })
    }
}

/// SPEC: signed-note: "Key names MUST be non-empty and MUST NOT contain any
/// Unicode spaces or plus (U+002B) characters."
pub fn check_key_name(name: &str) -> Result<(), FormatError> {
    if name.is_empty() {
        return Err(note_error("empty key name"));
    }
    if name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(note_error(format!("key name \"{name}\" contains a space or '+'")));
    }
    Ok(())
}

/// A parsed signed note. Invariants: `text` ends in a newline, contains no
/// control character but newline, and every signature line is well formed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// A note with no signatures yet (the signer adds them).
    pub fn unsigned(text: &str) -> Result<Self, FormatError> {
        check_text(text)?;
        if !text.ends_with('\n') {
            return Err(note_error("text does not end with a newline"));
        }
        Ok(Note { text: text.to_string(), signatures: Vec::new() })
    }

    /// Parses a signed note; it must carry at least one signature.
    pub fn parse(s: &str) -> Result<Self, FormatError> {
        if s.len() > MAX_NOTE_BYTES {
            return Err(note_error(format!(
                "note is {} bytes, more than {MAX_NOTE_BYTES}",
                s.len()
            )));
        }
        // SPEC: signed-note: "Signed notes MUST be valid UTF-8 and MUST NOT
        // contain any ASCII control characters (those below U+0020) other than
        // newline." (UTF-8 is guaranteed by &str.)
        check_text(s)?;
        // SPEC: "the text is separated from the signatures by the last empty line".
        let split =
            s.rfind("\n\n").ok_or_else(|| note_error("no blank line before the signatures"))?;
        let (text, sigs) = (&s[..split + 1], &s[split + 2..]);
        if !sigs.ends_with('\n') {
            return Err(note_error("signature block does not end with a newline"));
        }
        let signatures = sigs[..sigs.len() - 1]
            .split('\n')
            .map(NoteSignature::parse_line)
            .collect::<Result<Vec<_>, _>>()?;
        if signatures.is_empty() {
            return Err(note_error("no signatures"));
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(note_error(format!(
                "{} signatures, more than {MAX_SIGNATURES}",
                signatures.len()
            )));
        }
        Ok(Note { text: text.to_string(), signatures })
    }

    /// The signed text, final newline included.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Appends a signature line (at most [`MAX_SIGNATURES`]).
    pub fn add_signature(&mut self, sig: NoteSignature) -> Result<(), FormatError> {
        check_key_name(&sig.name)?;
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(note_error("too many signatures"));
        }
        self.signatures.push(sig);
        Ok(())
    }

    /// Removes the signatures `keep` says no to.
    pub fn retain_signatures(&mut self, keep: impl FnMut(&NoteSignature) -> bool) {
        self.signatures.retain(keep);
    }

    /// The note as text: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let sigs: String = self.signatures.iter().map(NoteSignature::to_line).collect();
        format!("{}\n{sigs}", self.text)
    }
}

fn note_error(why: impl Into<String>) -> FormatError {
    FormatError::Note(why.into())
}

fn check_text(s: &str) -> Result<(), FormatError> {
    if let Some(c) = s.chars().find(|&c| c < ' ' && c != '\n') {
        return Err(note_error(format!("contains the control character U+{:04X}", c as u32)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "example.com/log\n2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} example.com/log AQIDBAU=\n\u{2014} w1 AQIDBAUG\n";

    #[test]
    fn parses_and_round_trips() {
        let n = Note::parse(NOTE).unwrap();
        assert_eq!(n.text(), "example.com/log\n2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
        assert_eq!(n.signatures().len(), 2);
        assert_eq!(n.signatures()[0].key_id, [1, 2, 3, 4]);
        assert_eq!(n.signatures()[1].signature, vec![5, 6]);
        assert_eq!(n.to_text(), NOTE);
    }

    #[test]
    fn text_may_contain_blank_lines() {
        let n = Note::parse("a\n\nb\n\n\u{2014} k AQIDBAU=\n").unwrap();
        assert_eq!(n.text(), "a\n\nb\n");
    }

    #[test]
    fn rejects_malformed_notes() {
        for bad in [
            "a\n\u{2014} k AQIDBAU=\n",     // no blank line
            "a\n\n\u{2014} k AQIDBAU=",     // no final newline
            "a\n\n",                        // no signature
            "a\n\n- k AQIDBAU=\n",          // ASCII dash
            "a\n\n\u{2014} k+1 AQIDBAU=\n", // plus in name
            "a\n\n\u{2014}  AQIDBAU=\n",    // empty name
            "a\n\n\u{2014} k AQID\n",       // shorter than key ID + 1
            "a\n\n\u{2014} k AQIDBAU\n",    // bad base64
            "a\r\n\n\u{2014} k AQIDBAU=\n", // control character
            "a\n\n\u{2014} k AQIDBAU=\n\n", // trailing blank line
        ] {
            assert!(Note::parse(bad).is_err(), "{bad:?}");
        }
    }
}
