//! ECDSA P-256 public keys (ring) and the key IDs of the contract (§3).
//! (Private keys are `notarium-log`'s: a verifier never holds one.)

use crate::error::KeyError;
use crate::merkle::sha256;
use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};

/// DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1,
/// BIT STRING of 66 bytes) before the 65-byte uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// signed-note signature type of the notary's checkpoint signature.
pub const NOTE_SIGNATURE_TYPE_ECDSA: u8 = 0x02;
/// signed-note "reserved for signature types without an identifier byte".
pub const NOTE_SIGNATURE_TYPE_OTHER: u8 = 0xff;
/// The identifier that follows 0xff in the cosignature key ID.
pub const COSIGNATURE_ALGORITHM: &str = "notarium/cosignature-ecdsa-p256/v1";

/// A P-256 public key, kept as its DER SubjectPublicKeyInfo.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VerifyingKey {
    spki: Vec<u8>,
}

impl VerifyingKey {
    /// Accepts exactly the DER SPKI of an uncompressed P-256 point.
    pub fn from_spki_der(spki: &[u8]) -> Result<Self, KeyError> {
        if spki.len() != P256_SPKI_PREFIX.len() + 65
            || spki[..P256_SPKI_PREFIX.len()] != P256_SPKI_PREFIX
            || spki[P256_SPKI_PREFIX.len()] != 0x04
        {
            return Err(KeyError::BadPublicKey("expected an uncompressed NIST P-256 key".into()));
        }
        Ok(VerifyingKey { spki: spki.to_vec() })
    }

    /// From the 65-byte uncompressed point.
    pub fn from_point(point: &[u8]) -> Result<Self, KeyError> {
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(point);
        Self::from_spki_der(&spki)
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// The 65-byte uncompressed point.
    pub fn point(&self) -> &[u8] {
        &self.spki[P256_SPKI_PREFIX.len()..]
    }

    /// Verifies an ASN.1 DER ECDSA P-256 SHA-256 signature over `msg`.
    pub fn verify(&self, msg: &[u8], der_sig: &[u8]) -> Result<(), KeyError> {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, self.point())
            .verify(msg, der_sig)
            .map_err(|_| KeyError::BadSignature)
    }

    /// Contract §3 and signed-note type 0x02: `SHA-256(DER SPKI)[:4]`.
    pub fn notary_key_id(&self) -> [u8; 4] {
        sha256(&self.spki)[..4].try_into().expect("4 bytes")
    }

    /// Contract §3: `SHA-256(name || 0x0A || 0xFF ||
    /// "notarium/cosignature-ecdsa-p256/v1" || DER SPKI)[:4]`.
    pub fn cosignature_key_id(&self, name: &str) -> [u8; 4] {
        let mut m =
            Vec::with_capacity(name.len() + 2 + COSIGNATURE_ALGORITHM.len() + self.spki.len());
        m.extend_from_slice(name.as_bytes());
        m.push(0x0a);
        m.push(NOTE_SIGNATURE_TYPE_OTHER);
        m.extend_from_slice(COSIGNATURE_ALGORITHM.as_bytes());
        m.extend_from_slice(&self.spki);
        sha256(&m)[..4].try_into().expect("4 bytes")
    }
}
