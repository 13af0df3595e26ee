//! ECDSA P-256 public keys (ring). What a Notarium key ID is (contract §3)
//! is the core's; private keys are `notarium-log`'s.

use crate::IdentityError;
use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};

/// DER SubjectPublicKeyInfo prefix of an uncompressed P-256 key
/// (id-ecPublicKey, prime256v1, BIT STRING of 66 bytes).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// An ECDSA P-256 public key, kept as its DER SubjectPublicKeyInfo.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VerifyingKey {
    spki: Vec<u8>,
}

impl VerifyingKey {
    /// From a DER SubjectPublicKeyInfo holding an uncompressed P-256 point.
    pub fn from_spki_der(spki: &[u8]) -> Result<Self, IdentityError> {
        if spki.len() != P256_SPKI_PREFIX.len() + 65
            || spki[..P256_SPKI_PREFIX.len()] != P256_SPKI_PREFIX
            || spki[P256_SPKI_PREFIX.len()] != 0x04
        {
            return Err(IdentityError::BadPublicKey(
                "expected an uncompressed NIST P-256 key".into(),
            ));
        }
        Ok(VerifyingKey {
            spki: spki.to_vec(),
        })
    }

    /// From an uncompressed SEC1 point (65 bytes, 0x04 first).
    pub fn from_point(point: &[u8]) -> Result<Self, IdentityError> {
        Self::from_spki_der(&[&P256_SPKI_PREFIX[..], point].concat())
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// The uncompressed SEC1 point.
    pub fn point(&self) -> &[u8] {
        &self.spki[P256_SPKI_PREFIX.len()..]
    }

    /// Verifies an ASN.1 DER ECDSA signature over SHA-256 of `msg`.
    pub fn verify(&self, msg: &[u8], der_sig: &[u8]) -> Result<(), IdentityError> {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, self.point())
            .verify(msg, der_sig)
            .map_err(|_| IdentityError::BadSignature)
    }
}
