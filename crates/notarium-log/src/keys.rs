//! The private half of the contract's ECDSA P-256 keys (ring), and the
//! OS random source they sign with.

use notarium_core::encoding::pem_decode_all;
use notarium_core::identity::VerifyingKey;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

/// Why a key could not be loaded or could not sign.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignError {
    /// The key file is not what the contract's keys are.
    #[error("not an ECDSA P-256 private key in PKCS#8 form: {0}")]
    BadPrivateKey(String),
    /// ring refused to sign (no randomness), or the name is not a key name.
    #[error("signing failed")]
    SigningFailed,
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
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, SignError> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
            .map_err(|e| SignError::BadPrivateKey(e.to_string()))?;
        let public = VerifyingKey::from_point(pair.public_key().as_ref())
            .map_err(|e| SignError::BadPrivateKey(e.to_string()))?;
        Ok(SigningKey { pair, rng, public })
    }

    /// From a PEM file holding one `PRIVATE KEY` (PKCS#8) block.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, SignError> {
        let blocks = pem_decode_all(pem).map_err(|e| SignError::BadPrivateKey(e.to_string()))?;
        let block = blocks
            .iter()
            .find(|b| b.label == "PRIVATE KEY")
            .ok_or_else(|| SignError::BadPrivateKey("no PRIVATE KEY block".into()))?;
        Self::from_pkcs8_der(&block.der)
    }

    /// A fresh random key, as PKCS#8 DER (for tests and `init` commands).
    pub fn generate_pkcs8() -> Result<Vec<u8>, SignError> {
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .map_err(|_| SignError::SigningFailed)?;
        Ok(doc.as_ref().to_vec())
    }

    /// A fresh random key (for tests).
    pub fn generate() -> Result<Self, SignError> {
        Self::from_pkcs8_der(&Self::generate_pkcs8()?)
    }

    /// The public key.
    pub fn public(&self) -> &VerifyingKey {
        &self.public
    }

    /// ASN.1 DER ECDSA P-256 SHA-256 signature over `msg`.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SignError> {
        self.pair
            .sign(&self.rng, msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| SignError::SigningFailed)
    }
}

/// `n` bytes from the OS random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use ring::rand::SecureRandom;
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .expect("the OS random source works");
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use notarium_core::error::IdentityError;

    #[test]
    fn sign_verify_round_trip_and_key_ids_differ_by_purpose() {
        let k = SigningKey::generate().unwrap();
        let sig = k.sign(b"hello").unwrap();
        k.public().verify(b"hello", &sig).unwrap();
        assert_eq!(
            k.public().verify(b"hellO", &sig),
            Err(IdentityError::BadSignature)
        );
        let again = VerifyingKey::from_spki_der(k.public().spki_der()).unwrap();
        assert_eq!(&again, k.public());
        assert_ne!(
            notarium_core::checkpoint::notary_key_id(k.public()),
            notarium_core::cosignature::cosignature_key_id(k.public(), "w")
        );
        assert_ne!(
            notarium_core::cosignature::cosignature_key_id(k.public(), "w1"),
            notarium_core::cosignature::cosignature_key_id(k.public(), "w2")
        );
        assert!(!format!("{k:?}").contains("pair"));
    }

    #[test]
    fn rejects_foreign_public_keys() {
        let k = SigningKey::generate().unwrap();
        let mut spki = k.public().spki_der().to_vec();
        spki[10] ^= 1;
        assert!(VerifyingKey::from_spki_der(&spki).is_err());
        assert!(VerifyingKey::from_spki_der(&spki[..40]).is_err());
    }
}
