//! X.509 identities (contract §1): a signer's role comes from its subject OU
//! and its name from its subject CN, and a signer certificate counts only if
//! it chains to a configured trust root, has the digitalSignature key usage
//! and is valid at the time of the signature.
//!
//! The chain check is small on purpose, for an expert to audit: every
//! certificate is v3, signed with ecdsa-with-SHA256 by a P-256 key; issuers
//! are matched by exact subject bytes and must be CAs (basicConstraints cA,
//! keyCertSign); chains are at most [`MAX_CHAIN_DEPTH`] long; unknown
//! critical extensions are refused.

use crate::encoding::{pem_decode_all, pem_decode_canonical};
use crate::error::IdentityError;
use crate::keys::VerifyingKey;
use crate::merkle::{Hash, sha256};
use crate::time::UtcMillis;
use std::collections::HashMap;
use std::sync::Mutex;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{
    OID_SIG_ECDSA_WITH_SHA256, OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
    OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_EXTENDED_KEY_USAGE, OID_X509_EXT_KEY_USAGE,
    OID_X509_EXT_SUBJECT_ALT_NAME, OID_X509_EXT_SUBJECT_KEY_IDENTIFIER,
};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Version;

/// DER of AlgorithmIdentifier { ecdsa-with-SHA256 } (no parameters).
const ECDSA_WITH_SHA256_ALGORITHM_ID: [u8; 12] = [
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];

/// DER tag-length-value.
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// Longest accepted chain: signer, up to two intermediates, root.
pub const MAX_CHAIN_DEPTH: usize = 4;

/// What a signer may do, from its certificate's subject OU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Notary,
    Court,
    Arbitration,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "notary" => Some(Role::Notary),
            "court" => Some(Role::Court),
            "arbitration" => Some(Role::Arbitration),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Notary => "notary",
            Role::Court => "court",
            Role::Arbitration => "arbitration",
        }
    }
    pub fn is_witness(self) -> bool {
        matches!(self, Role::Court | Role::Arbitration)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The facts of one certificate that the checks need, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    pub der: Vec<u8>,
    /// SHA-256 of the DER, to name the certificate.
    pub fingerprint: Hash,
    /// The subject as text, for messages.
    pub subject: String,
    pub common_name: Option<String>,
    pub organizational_unit: Option<String>,
    pub key: VerifyingKey,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub is_ca: bool,
    pub key_cert_sign: bool,
    pub digital_signature: bool,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    tbs_raw: Vec<u8>,
    signature: Vec<u8>,
}

impl CertInfo {
    /// Parses one DER certificate; refuses anything outside the profile.
    pub fn from_der(der: &[u8]) -> Result<Self, IdentityError> {
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| IdentityError::Malformed(format!("not DER X.509: {e}")))?;
        if !rest.is_empty() {
            return Err(IdentityError::Malformed(format!(
                "{} bytes after the certificate",
                rest.len()
            )));
        }
        let subject = cert.subject().to_string();
        let refuse = |why: &str| IdentityError::Unacceptable {
            subject: subject.clone(),
            why: why.to_string(),
        };
        if cert.version() != X509Version::V3 {
            return Err(refuse("not an X.509 v3 certificate"));
        }
        if cert.signature_algorithm.algorithm != OID_SIG_ECDSA_WITH_SHA256
            || cert.tbs_certificate.signature != cert.signature_algorithm
        {
            return Err(refuse("not signed with ecdsa-with-SHA256"));
        }
        // The parts outside the signed TBS must be exactly
        // SEQUENCE { tbs, ecdsa-with-SHA256, BIT STRING(sig) }: a parser's
        // leniency must not let unsigned bytes change unnoticed.
        let tbs_raw = cert.tbs_certificate.as_ref();
        let sig = cert.signature_value.data.as_ref();
        let mut body = tbs_raw.to_vec();
        body.extend_from_slice(&ECDSA_WITH_SHA256_ALGORITHM_ID);
        let mut bits = vec![0u8];
        bits.extend_from_slice(sig);
        body.extend(der_tlv(0x03, &bits));
        if der_tlv(0x30, &body) != der {
            return Err(refuse("not in DER form outside the signed part"));
        }
        let key = VerifyingKey::from_spki_der(cert.public_key().raw)
            .map_err(|e| refuse(&e.to_string()))?;
        let one = |mut it: Box<
            dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue<'_>> + '_,
        >,
                   what: &str|
         -> Result<Option<String>, IdentityError> {
            let first = it.next();
            if it.next().is_some() {
                return Err(refuse(&format!("more than one {what} in the subject")));
            }
            first
                .map(|a| {
                    a.as_str()
                        .map(str::to_string)
                        .map_err(|_| refuse(&format!("{what} is not a string")))
                })
                .transpose()
        };
        let common_name = one(Box::new(cert.subject().iter_common_name()), "CN")?;
        let organizational_unit = one(Box::new(cert.subject().iter_organizational_unit()), "OU")?;
        for ext in cert.extensions() {
            let known = [
                &OID_X509_EXT_KEY_USAGE,
                &OID_X509_EXT_BASIC_CONSTRAINTS,
                &OID_X509_EXT_EXTENDED_KEY_USAGE,
                &OID_X509_EXT_SUBJECT_KEY_IDENTIFIER,
                &OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
                &OID_X509_EXT_SUBJECT_ALT_NAME,
            ];
            if ext.critical && !known.contains(&&ext.oid) {
                return Err(refuse(&format!("unknown critical extension {}", ext.oid)));
            }
        }
        let ku = cert
            .key_usage()
            .map_err(|e| refuse(&format!("bad key usage: {e}")))?;
        let bc = cert
            .basic_constraints()
            .map_err(|e| refuse(&format!("bad basic constraints: {e}")))?;
        Ok(CertInfo {
            der: der.to_vec(),
            fingerprint: sha256(der),
            common_name,
            organizational_unit,
            key,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            is_ca: bc.is_some_and(|b| b.value.ca),
            key_cert_sign: ku.as_ref().is_some_and(|k| k.value.key_cert_sign()),
            digital_signature: ku.as_ref().is_some_and(|k| k.value.digital_signature()),
            subject_raw: cert.subject().as_raw().to_vec(),
            issuer_raw: cert.issuer().as_raw().to_vec(),
            tbs_raw: cert.tbs_certificate.as_ref().to_vec(),
            signature: cert.signature_value.data.to_vec(),
            subject,
        })
    }

    /// Parses a certificate in canonical PEM (as embedded in certificates).
    pub fn from_canonical_pem(pem: &str) -> Result<Self, IdentityError> {
        let der = pem_decode_canonical("CERTIFICATE", pem)
            .map_err(|e| IdentityError::Malformed(e.to_string()))?;
        Self::from_der(&der)
    }

    /// The role from the subject OU, if it names one.
    pub fn role(&self) -> Option<Role> {
        self.organizational_unit.as_deref().and_then(Role::parse)
    }

    fn issued_by(&self, issuer: &CertInfo) -> bool {
        self.issuer_raw == issuer.subject_raw
            && issuer.key.verify(&self.tbs_raw, &self.signature).is_ok()
    }

    fn window_text(&self) -> (String, String) {
        let t = |s: i64| {
            UtcMillis::from_unix_seconds(s.max(0) as u64)
                .map(|t| t.to_text_seconds())
                .unwrap_or_else(|_| format!("{s}"))
        };
        (t(self.not_before), t(self.not_after))
    }

    /// Whether `at` (Unix seconds) is within notBefore..=notAfter.
    pub fn valid_at(&self, at: i64) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    fn check_valid_at(&self, at: i64) -> Result<(), IdentityError> {
        if self.valid_at(at) {
            return Ok(());
        }
        let (not_before, not_after) = self.window_text();
        Err(IdentityError::NotValidAt {
            subject: self.subject.clone(),
            at: UtcMillis::from_unix_seconds(at.max(0) as u64)
                .map(|t| t.to_text_seconds())
                .unwrap_or_default(),
            not_before,
            not_after,
        })
    }
}

/// Reads every CERTIFICATE block of a PEM file.
pub fn certs_from_pem_file(text: &str) -> Result<Vec<CertInfo>, IdentityError> {
    let blocks = pem_decode_all(text).map_err(|e| IdentityError::Malformed(e.to_string()))?;
    blocks
        .iter()
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| CertInfo::from_der(&b.der))
        .collect()
}

/// A signer whose certificate chains to a trust root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// The signer certificate first, the trust root last.
    pub certs: Vec<CertInfo>,
    pub role: Role,
    /// The subject CN: the log origin of a notary, the witness name of a witness.
    pub name: String,
}

impl Chain {
    pub fn signer(&self) -> &CertInfo {
        &self.certs[0]
    }

    /// Every certificate of the chain is valid at `at` (Unix seconds).
    pub fn check_valid_at(&self, at: i64) -> Result<(), IdentityError> {
        self.certs.iter().try_for_each(|c| c.check_valid_at(at))
    }
}

/// The configured trust roots, with a cache of chains already checked
/// (signature checks do not depend on time; validity is checked per use).
#[derive(Debug, Default)]
pub struct TrustRoots {
    roots: Vec<CertInfo>,
    cache: Mutex<HashMap<(Hash, Hash), Result<Chain, IdentityError>>>,
}

impl Clone for TrustRoots {
    fn clone(&self) -> Self {
        TrustRoots {
            roots: self.roots.clone(),
            cache: Mutex::default(),
        }
    }
}

impl TrustRoots {
    /// Trust roots must be self-signed CA certificates.
    pub fn new(roots: Vec<CertInfo>) -> Result<Self, IdentityError> {
        if roots.is_empty() {
            return Err(IdentityError::NoTrustRoots);
        }
        for r in &roots {
            if !r.is_ca || !r.key_cert_sign || !r.issued_by(r) {
                return Err(IdentityError::Unacceptable {
                    subject: r.subject.clone(),
                    why: "a trust root must be a self-signed CA certificate with keyCertSign"
                        .into(),
                });
            }
        }
        Ok(TrustRoots {
            roots,
            cache: Mutex::default(),
        })
    }

    pub fn from_pem(text: &str) -> Result<Self, IdentityError> {
        Self::new(certs_from_pem_file(text)?)
    }

    pub fn roots(&self) -> &[CertInfo] {
        &self.roots
    }

    /// Builds and checks the chain of `signer` through `intermediates` to a
    /// root; checks the signer's profile (not a CA, digitalSignature, a role
    /// and a name). Validity times are checked by the caller, with
    /// [`Chain::check_valid_at`], at the time of the signature.
    pub fn chain(
        &self,
        signer: &CertInfo,
        intermediates: &[CertInfo],
    ) -> Result<Chain, IdentityError> {
        let mut pool_hash = Vec::with_capacity(32 * intermediates.len());
        for i in intermediates {
            pool_hash.extend_from_slice(&i.fingerprint);
        }
        let key = (signer.fingerprint, sha256(&pool_hash));
        if let Some(hit) = self.cache.lock().expect("cache lock").get(&key) {
            return hit.clone();
        }
        let result = self.build_chain(signer, intermediates);
        self.cache
            .lock()
            .expect("cache lock")
            .insert(key, result.clone());
        result
    }

    fn build_chain(
        &self,
        signer: &CertInfo,
        intermediates: &[CertInfo],
    ) -> Result<Chain, IdentityError> {
        let refuse = |why: &str| IdentityError::Unacceptable {
            subject: signer.subject.clone(),
            why: why.to_string(),
        };
        if signer.is_ca {
            return Err(refuse("a CA certificate cannot sign checkpoints"));
        }
        if !signer.digital_signature {
            return Err(refuse("no digitalSignature key usage"));
        }
        let role = signer
            .role()
            .ok_or_else(|| refuse("subject OU is not notary, court or arbitration"))?;
        let name = signer
            .common_name
            .clone()
            .ok_or_else(|| refuse("no subject CN"))?;
        let mut certs = vec![signer.clone()];
        loop {
            let current = certs.last().expect("non-empty");
            if let Some(root) = self.roots.iter().find(|r| current.issued_by(r)) {
                certs.push(root.clone());
                return Ok(Chain { certs, role, name });
            }
            if certs.len() + 1 >= MAX_CHAIN_DEPTH {
                break;
            }
            let next = intermediates.iter().find(|i| {
                i.is_ca
                    && i.key_cert_sign
                    && !certs.iter().any(|c| c.fingerprint == i.fingerprint)
                    && current.issued_by(i)
            });
            match next {
                Some(i) => certs.push(i.clone()),
                None => break,
            }
        }
        Err(IdentityError::UntrustedChain(signer.subject.clone()))
    }
}
