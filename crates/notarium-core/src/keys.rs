//! ECDSA P-256 keys (ring) and the key IDs of the contract (§3).

use crate::encoding::pem_decode_all;
use crate::error::KeyError;
use crate::merkle::sha256;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};

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
            return Err(KeyError::BadPublicKey(
                "expected an uncompressed NIST P-256 key".into(),
            ));
        }
        Ok(VerifyingKey {
            spki: spki.to_vec(),
        })
    }

    fn from_point(point: &[u8]) -> Self {
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(point);
        VerifyingKey { spki }
    }

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

    /// Contract §3 and signed-note type 0x02: SHA-256(DER SPKI)[:4].
    pub fn notary_key_id(&self) -> [u8; 4] {
        sha256(&self.spki)[..4].try_into().expect("4 bytes")
    }

    /// Contract §3: SHA-256(name || 0x0A || 0xFF ||
    /// "notarium/cosignature-ecdsa-p256/v1" || DER SPKI)[:4].
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

/// A P-256 private key. Its Debug output never shows the key.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    public: VerifyingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// From PKCS#8 DER (`openssl genpkey` output).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
            .map_err(|e| KeyError::BadPrivateKey(e.to_string()))?;
        let public = VerifyingKey::from_point(pair.public_key().as_ref());
        Ok(SigningKey { pair, rng, public })
    }

    /// From a PEM file holding one `PRIVATE KEY` (PKCS#8) block.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let blocks = pem_decode_all(pem).map_err(|e| KeyError::BadPrivateKey(e.to_string()))?;
        let block = blocks
            .iter()
            .find(|b| b.label == "PRIVATE KEY")
            .ok_or_else(|| KeyError::BadPrivateKey("no PRIVATE KEY block".into()))?;
        Self::from_pkcs8_der(&block.der)
    }

    /// A fresh random key, as PKCS#8 DER (for tests and `init` commands).
    pub fn generate_pkcs8() -> Result<Vec<u8>, KeyError> {
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .map_err(|_| KeyError::SigningFailed)?;
        Ok(doc.as_ref().to_vec())
    }

    pub fn public(&self) -> &VerifyingKey {
        &self.public
    }

    /// ASN.1 DER ECDSA P-256 SHA-256 signature over `msg`.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.pair
            .sign(&self.rng, msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| KeyError::SigningFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip_and_key_ids_differ_by_purpose() {
        let k = SigningKey::from_pkcs8_der(&SigningKey::generate_pkcs8().unwrap()).unwrap();
        let sig = k.sign(b"hello").unwrap();
        k.public().verify(b"hello", &sig).unwrap();
        assert_eq!(
            k.public().verify(b"hellO", &sig),
            Err(KeyError::BadSignature)
        );
        let again = VerifyingKey::from_spki_der(k.public().spki_der()).unwrap();
        assert_eq!(&again, k.public());
        assert_ne!(
            k.public().notary_key_id(),
            k.public().cosignature_key_id("w")
        );
        assert_ne!(
            k.public().cosignature_key_id("w1"),
            k.public().cosignature_key_id("w2")
        );
        assert!(!format!("{k:?}").contains("pair"));
    }

    #[test]
    fn rejects_foreign_public_keys() {
        let k = SigningKey::from_pkcs8_der(&SigningKey::generate_pkcs8().unwrap()).unwrap();
        let mut spki = k.public().spki_der().to_vec();
        spki[10] ^= 1;
        assert!(VerifyingKey::from_spki_der(&spki).is_err());
        assert!(VerifyingKey::from_spki_der(&spki[..40]).is_err());
    }
}
