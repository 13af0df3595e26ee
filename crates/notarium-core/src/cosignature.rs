//! Witness cosignatures: the tlog-cosignature v1 message, signed with ECDSA
//! P-256 (contract §3): `base64(key ID || 8-byte big-endian time || DER sig)`.

use crate::checkpoint::Checkpoint;
use crate::error::{FormatError, IdentityError};
use crate::identity::VerifyingKey;
use crate::merkle::sha256;
use crate::note::NoteSignature;

/// The signed message: `cosignature/v1\ntime <t>\n` followed by the body.
pub fn cosignature_message(timestamp: u64, checkpoint_body: &str) -> Vec<u8> {
    // SPEC: tlog-cosignature: "The signed message MUST be two newline
    // (U+000A) terminated lines (one header line and one timestamp line)
    // followed by the whole note body of the cosigned checkpoint"; "The
    // header line MUST be the fixed string cosignature/v1"; the timestamp
    // line is "time", a space and the timestamp "as an ASCII decimal with no
    // leading zeroes".
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_body}").into_bytes()
}

/// The signed-note signature type of a key that is none of the standard
/// ones (contract §3).
pub const NOTE_SIGNATURE_TYPE_OTHER: u8 = 0xff;
/// Contract §3: the algorithm name in a witness's key ID.
pub const COSIGNATURE_ALGORITHM: &str = "notarium/cosignature-ecdsa-p256/v1";

/// SPEC: contract §3: a witness's cosignature key ID is the first 4 bytes of
/// `SHA-256(name || 0x0A || 0xFF || "notarium/cosignature-ecdsa-p256/v1" ||
/// DER SPKI)`.
pub fn cosignature_key_id(key: &VerifyingKey, name: &str) -> [u8; 4] {
    let m = [
        name.as_bytes(),
        b"\n",
        &[NOTE_SIGNATURE_TYPE_OTHER],
        COSIGNATURE_ALGORITHM.as_bytes(),
        key.spki_der(),
    ]
    .concat();
    sha256(&m)[..4].try_into().expect("4 bytes")
}

/// A witness cosignature, decoded from its note signature line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness name (the line's key name).
    pub name: String,
    /// The contract §3 cosignature key ID.
    pub key_id: [u8; 4],
    /// Unix seconds, the witness's clock when it cosigned.
    pub timestamp: u64,
    /// The ASN.1 DER ECDSA signature.
    pub signature: Vec<u8>,
}

impl Cosignature {
    /// Reads the timestamp out of a note signature line's bytes.
    pub fn from_note_signature(sig: &NoteSignature) -> Result<Self, FormatError> {
        if sig.signature.len() < 9 {
            return Err(FormatError::Note(format!("cosignature of {} is too short", sig.name)));
        }
        // SPEC: tlog-cosignature: "The signature MUST be a
        // timestamped_signature structure": a u64 timestamp, "big-endian",
        // then the signature (here ASN.1 DER ECDSA P-256, contract §3).
        let timestamp = u64::from_be_bytes(sig.signature[..8].try_into().expect("8 bytes"));
        Ok(Cosignature {
            name: sig.name.clone(),
            key_id: sig.key_id,
            timestamp,
            signature: sig.signature[8..].to_vec(),
        })
    }

    /// The note signature line that carries this cosignature.
    pub fn to_note_signature(&self) -> NoteSignature {
        let signature = [&self.timestamp.to_be_bytes()[..], &self.signature].concat();
        NoteSignature { name: self.name.clone(), key_id: self.key_id, signature }
    }

    /// Whether this cosignature claims to be from `name` with `key`.
    pub fn is_by(&self, name: &str, key: &VerifyingKey) -> bool {
        self.name == name && self.key_id == cosignature_key_id(key, name)
    }

    /// Verifies the signature over `checkpoint`'s body at `self.timestamp`.
    pub fn verify(&self, checkpoint: &Checkpoint, key: &VerifyingKey) -> Result<(), IdentityError> {
        key.verify(&cosignature_message(self.timestamp, &checkpoint.body()), &self.signature)
    }
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
}
