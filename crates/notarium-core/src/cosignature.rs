//! Witness cosignatures: the tlog-cosignature v1 message, signed with ECDSA
//! P-256 (contract §3): `base64(key ID || 8-byte big-endian time || DER sig)`.

use crate::checkpoint::Checkpoint;
use crate::error::{FormatError, KeyError};
use crate::keys::{SigningKey, VerifyingKey};
use crate::note::{NoteSignature, check_key_name};

/// The signed message: `cosignature/v1\ntime <t>\n` followed by the body.
pub fn cosignature_message(timestamp: u64, checkpoint_body: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_body}").into_bytes()
}

/// A witness cosignature, decoded from its note signature line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    pub name: String,
    pub key_id: [u8; 4],
    /// Unix seconds, the witness's clock when it cosigned.
    pub timestamp: u64,
    pub signature: Vec<u8>,
}

impl Cosignature {
    /// Reads the timestamp out of a note signature line's bytes.
    pub fn from_note_signature(sig: &NoteSignature) -> Result<Self, FormatError> {
        if sig.signature.len() < 9 {
            return Err(FormatError::Note(format!(
                "cosignature of {} is too short",
                sig.name
            )));
        }
        let timestamp = u64::from_be_bytes(sig.signature[..8].try_into().expect("8 bytes"));
        Ok(Cosignature {
            name: sig.name.clone(),
            key_id: sig.key_id,
            timestamp,
            signature: sig.signature[8..].to_vec(),
        })
    }

    pub fn to_note_signature(&self) -> NoteSignature {
        let mut s = Vec::with_capacity(8 + self.signature.len());
        s.extend_from_slice(&self.timestamp.to_be_bytes());
        s.extend_from_slice(&self.signature);
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: s,
        }
    }

    /// Whether this cosignature claims to be from `name` with `key`.
    pub fn is_by(&self, name: &str, key: &VerifyingKey) -> bool {
        self.name == name && self.key_id == key.cosignature_key_id(name)
    }

    /// Verifies the signature over `checkpoint`'s body at `self.timestamp`.
    pub fn verify(&self, checkpoint: &Checkpoint, key: &VerifyingKey) -> Result<(), KeyError> {
        key.verify(
            &cosignature_message(self.timestamp, &checkpoint.body()),
            &self.signature,
        )
    }
}

/// A witness's cosignature over `checkpoint` at `timestamp`.
pub fn cosign(
    key: &SigningKey,
    name: &str,
    timestamp: u64,
    checkpoint: &Checkpoint,
) -> Result<Cosignature, KeyError> {
    check_key_name(name).map_err(|_| KeyError::SigningFailed)?;
    Ok(Cosignature {
        name: name.to_string(),
        key_id: key.public().cosignature_key_id(name),
        timestamp,
        signature: key.sign(&cosignature_message(timestamp, &checkpoint.body()))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_is_tlog_cosignature_v1() {
        assert_eq!(
            cosignature_message(1_700_000_000, "o\n1\nAA==\n"),
            b"cosignature/v1\ntime 1700000000\no\n1\nAA==\n".to_vec()
        );
    }

    #[test]
    fn cosign_verify_and_line_round_trip() {
        let k = SigningKey::from_pkcs8_der(&SigningKey::generate_pkcs8().unwrap()).unwrap();
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
}
