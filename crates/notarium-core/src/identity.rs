//! X.509 identities (contract §1, §9): a signer's role comes from its subject
//! OU and its name from its subject CN, and a signer certificate counts only
//! if it chains to a configured trust root (RFC 5280 path validation, with
//! pathLenConstraint and basicConstraints enforced), has the
//! digitalSignature key usage, allows a Notarium signature by its extended
//! key usage (if it has one), and every certificate of the chain is valid at
//! the time of the signature.
//!
//! The profile is small on purpose, for an expert to audit: every
//! certificate is v3, signed with ecdsa-with-SHA256 by a P-256 key; issuers
//! are matched by exact subject bytes and must be CAs (basicConstraints cA,
//! keyCertSign); at most [`MAX_INTERMEDIATES`] intermediates, and at most
//! [`MAX_ISSUER_CANDIDATES`] same-name candidates tried per issuer; an
//! unrecognised or unparseable critical extension refuses the certificate.

use crate::encoding::{pem_decode_all, pem_decode_canonical};
use crate::error::IdentityError;
use crate::keys::VerifyingKey;
use crate::merkle::{Hash, sha256};
use crate::time::UtcMillis;
use std::collections::HashMap;
use std::sync::Mutex;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry::OID_SIG_ECDSA_WITH_SHA256;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Version;

/// DER of AlgorithmIdentifier { ecdsa-with-SHA256 } (no parameters).
pub(crate) const ECDSA_WITH_SHA256_ALGORITHM_ID: [u8; 12] =
    [0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

/// The extended key usage that names a Notarium signer (contract §9):
/// 2.25.52608443440459121674925930944434331781, as DER OID content bytes
/// (its last arc does not fit 64 bits, so OIDs are compared as bytes).
pub const NOTARIUM_SIGNER_EKU: &[u8] = &[
    0x69, 0xcf, 0x94, 0x82, 0xa1, 0xa1, 0x90, 0xe2, 0xa5, 0xef, 0xaf, 0xef, 0xf2, 0xdd, 0x9d, 0xfb,
    0xd3, 0xc1, 0x05,
];
/// anyExtendedKeyUsage 2.5.29.37.0 (RFC 5280 §4.2.1.12), DER content bytes.
pub const ANY_EKU: &[u8] = &[0x55, 0x1d, 0x25, 0x00];
/// id-kp-timeStamping 1.3.6.1.5.5.7.3.8 (RFC 3161 §2.3), DER content bytes.
pub const TIME_STAMPING_EKU: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];
/// Longest accepted chain: signer, up to this many intermediates, root.
pub const MAX_INTERMEDIATES: usize = 3;
/// Certificates with an issuer's name tried as that issuer, at most.
pub const MAX_ISSUER_CANDIDATES: usize = 4;

/// DER tag-length-value.
pub(crate) fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// What a signer may do, from its certificate's subject OU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The log: signs checkpoints and receipts.
    Notary,
    /// A court's witness.
    Court,
    /// An arbitration commission's witness.
    Arbitration,
}

impl Role {
    const ALL: [Role; 3] = [Role::Notary, Role::Court, Role::Arbitration];

    /// `notary`, `court` or `arbitration`.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
    /// The OU text.
    pub fn as_str(self) -> &'static str {
        ["notary", "court", "arbitration"][self as usize]
    }
    /// Court or arbitration.
    pub fn is_witness(self) -> bool {
        self != Role::Notary
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
    /// The certificate's DER.
    pub der: Vec<u8>,
    /// SHA-256 of the DER, to name the certificate.
    pub fingerprint: Hash,
    /// The subject as text, for messages.
    pub subject: String,
    /// The subject CN: a notary's log origin, a witness's name.
    pub common_name: Option<String>,
    /// The subject OU: the role.
    pub organizational_unit: Option<String>,
    /// The subject's public key.
    pub key: VerifyingKey,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// basicConstraints pathLenConstraint.
    pub path_len: Option<u32>,
    /// Key usage bits (absent key usage allows none of them).
    pub key_cert_sign: bool,
    /// Key usage digitalSignature.
    pub digital_signature: bool,
    /// Key usage cRLSign.
    pub crl_sign: bool,
    /// The extended key usage OIDs (DER content bytes), if the extension is
    /// present (named purposes other than any and timeStamping not listed).
    pub eku: Option<Vec<Vec<u8>>>,
    /// Whether the extended key usage extension is critical.
    pub eku_critical: bool,
    /// The serial number's content bytes.
    pub serial: Vec<u8>,
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
        let (tbs_raw, sig) = (cert.tbs_certificate.as_ref(), cert.signature_value.data.as_ref());
        let mut body = tbs_raw.to_vec();
        body.extend_from_slice(&ECDSA_WITH_SHA256_ALGORITHM_ID);
        body.extend(der_tlv(0x03, &[&[0u8][..], sig].concat()));
        if der_tlv(0x30, &body) != der {
            return Err(refuse("not in DER form outside the signed part"));
        }
        let key = VerifyingKey::from_spki_der(cert.public_key().raw)
            .map_err(|e| refuse(&e.to_string()))?;
        let one =
            |values: Vec<&x509_parser::x509::AttributeTypeAndValue<'_>>, what: &str| match values
                .as_slice()
            {
                [] => Ok(None),
                [v] => v
                    .as_str()
                    .map(|s| Some(s.to_string()))
                    .map_err(|_| refuse(&format!("{what} is not a string"))),
                _ => Err(refuse(&format!("more than one {what} in the subject"))),
            };
        let common_name = one(cert.subject().iter_common_name().collect(), "CN")?;
        let organizational_unit = one(cert.subject().iter_organizational_unit().collect(), "OU")?;
        let mut info = CertInfo {
            der: der.to_vec(),
            fingerprint: sha256(der),
            subject: subject.clone(),
            common_name,
            organizational_unit,
            key,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            is_ca: false,
            path_len: None,
            key_cert_sign: false,
            digital_signature: false,
            crl_sign: false,
            eku: None,
            eku_critical: false,
            serial: cert.raw_serial().to_vec(),
            subject_raw: cert.subject().as_raw().to_vec(),
            issuer_raw: cert.issuer().as_raw().to_vec(),
            tbs_raw: tbs_raw.to_vec(),
            signature: sig.to_vec(),
        };
        // SPEC: RFC 5280 §4.2: "A certificate-using system MUST reject the
        // certificate if it encounters a critical extension it does not
        // recognize or a critical extension that contains information that
        // it cannot process." A non-critical one is ignored.
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::BasicConstraints(bc) => {
                    // SPEC: RFC 5280 §4.2.1.9: CAs "MUST mark the extension
                    // as critical".
                    if bc.ca && !ext.critical {
                        return Err(refuse(
                            "basicConstraints of a CA certificate not marked critical",
                        ));
                    }
                    (info.is_ca, info.path_len) = (bc.ca, bc.path_len_constraint)
                }
                ParsedExtension::KeyUsage(ku) => {
                    info.key_cert_sign = ku.key_cert_sign();
                    info.digital_signature = ku.digital_signature();
                    info.crl_sign = ku.crl_sign();
                }
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    let mut oids: Vec<Vec<u8>> =
                        eku.other.iter().map(|o| o.as_bytes().to_vec()).collect();
                    // The only named purposes a decision here depends on.
                    for (set, oid) in [(eku.any, ANY_EKU), (eku.time_stamping, TIME_STAMPING_EKU)] {
                        if set {
                            oids.push(oid.to_vec());
                        }
                    }
                    (info.eku, info.eku_critical) = (Some(oids), ext.critical);
                }
                ParsedExtension::SubjectKeyIdentifier(_)
                | ParsedExtension::AuthorityKeyIdentifier(_)
                | ParsedExtension::SubjectAlternativeName(_) => {}
                _ if ext.critical => {
                    return Err(refuse(&format!(
                        "unrecognised or unparseable critical extension {}",
                        ext.oid
                    )));
                }
                _ => {}
            }
        }
        // SPEC: RFC 5280 §4.2.1.9: "CAs MUST NOT include the
        // pathLenConstraint field unless the cA boolean is asserted and the
        // key usage extension asserts the keyCertSign bit."
        if info.path_len.is_some() && !(info.is_ca && info.key_cert_sign) {
            return Err(refuse(
                "a pathLenConstraint on a certificate that is not a CA with keyCertSign",
            ));
        }
        Ok(info)
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

    /// Whether the extended key usage (if any) includes `oid` or
    /// anyExtendedKeyUsage.
    pub fn eku_allows(&self, oid: &[u8]) -> bool {
        self.eku.as_ref().is_none_or(|e| e.iter().any(|o| o == oid || o == ANY_EKU))
    }

    fn refuse(&self, why: impl Into<String>) -> IdentityError {
        IdentityError::Unacceptable { subject: self.subject.clone(), why: why.into() }
    }

    /// Whether `at` (Unix seconds) is within the validity period: from
    /// notBefore up to, but not including, the notAfter second. RFC 5280
    /// §4.1.2.5 calls notAfter inclusive; OpenSSL treats it as expired, and
    /// the verifier agrees with OpenSSL (docs/format.md): one second
    /// stricter, never looser.
    pub fn valid_at(&self, at: i64) -> bool {
        // SPEC: RFC 5280 §4.1.2.5: "The validity period for a certificate is
        // the period of time from notBefore through notAfter, inclusive" (one
        // second shorter here, as OpenSSL decides; see above).
        self.not_before <= at && at < self.not_after
    }

    fn check_valid_at(&self, at: i64) -> Result<(), IdentityError> {
        if self.valid_at(at) {
            return Ok(());
        }
        Err(IdentityError::NotValidAt {
            subject: self.subject.clone(),
            at: seconds_text(at),
            not_before: seconds_text(self.not_before),
            not_after: seconds_text(self.not_after),
        })
    }

    /// `self`'s issuer name is `ca`'s subject and `ca`'s key signed it.
    fn signed_by(&self, ca: &CertInfo) -> bool {
        self.issuer_raw == ca.subject_raw && ca.key.verify(&self.tbs_raw, &self.signature).is_ok()
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds (times outside 1970..9999 as a number).
pub fn seconds_text(s: i64) -> String {
    u64::try_from(s)
        .ok()
        .and_then(|s| UtcMillis::from_unix_seconds(s).ok())
        .map_or_else(|| s.to_string(), UtcMillis::to_text_seconds)
}

/// Reads every CERTIFICATE block of a PEM file.
pub fn certs_from_pem_file(text: &str) -> Result<Vec<CertInfo>, IdentityError> {
    let blocks = pem_decode_all(text).map_err(|e| IdentityError::Malformed(e.to_string()))?;
    blocks.iter().filter(|b| b.label == "CERTIFICATE").map(|b| CertInfo::from_der(&b.der)).collect()
}

/// A signer whose certificate chains to a trust root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// The signer certificate first, the trust root last.
    pub certs: Vec<CertInfo>,
    /// From the signer's subject OU.
    pub role: Role,
    /// The subject CN: the log origin of a notary, the witness name of a witness.
    pub name: String,
}

impl Chain {
    /// The signer's certificate.
    pub fn signer(&self) -> &CertInfo {
        &self.certs[0]
    }
}

/// The configured trust roots, with a cache of issuer signatures already
/// checked (they do not depend on time).
#[derive(Debug, Default)]
pub struct TrustRoots {
    roots: Vec<CertInfo>,
    signed: Mutex<HashMap<(Hash, Hash), bool>>,
}

impl Clone for TrustRoots {
    fn clone(&self) -> Self {
        TrustRoots { roots: self.roots.clone(), signed: Mutex::default() }
    }
}

impl TrustRoots {
    /// Trust roots must be self-signed CA certificates with keyCertSign.
    pub fn new(roots: Vec<CertInfo>) -> Result<Self, IdentityError> {
        if roots.is_empty() {
            return Err(IdentityError::NoTrustRoots);
        }
        if let Some(r) = roots.iter().find(|r| !r.is_ca || !r.key_cert_sign || !r.signed_by(r)) {
            return Err(
                r.refuse("a trust root must be a self-signed CA certificate with keyCertSign")
            );
        }
        Ok(TrustRoots { roots, signed: Mutex::default() })
    }

    /// The roots of a PEM file.
    pub fn from_pem(text: &str) -> Result<Self, IdentityError> {
        Self::new(certs_from_pem_file(text)?)
    }

    /// The root certificates.
    pub fn roots(&self) -> &[CertInfo] {
        &self.roots
    }

    fn signed_by(&self, cert: &CertInfo, ca: &CertInfo) -> bool {
        let key = (cert.fingerprint, ca.fingerprint);
        if let Some(&hit) = self.signed.lock().expect("cache lock").get(&key) {
            return hit;
        }
        let ok = cert.signed_by(ca);
        let mut cache = self.signed.lock().expect("cache lock");
        if cache.len() >= 4096 {
            cache.clear();
        }
        cache.insert(key, ok);
        ok
    }

    /// The chain of `signer`, a signer certificate (not a CA,
    /// digitalSignature, an extended key usage that allows a Notarium
    /// signature, a role and a name), through certificates of `pool` to a
    /// root, with every certificate valid at `at` (Unix seconds, the time of
    /// the signature) and every pathLenConstraint respected.
    pub fn chain(
        &self,
        signer: &CertInfo,
        pool: &[CertInfo],
        at: i64,
    ) -> Result<Chain, IdentityError> {
        if signer.is_ca {
            return Err(signer.refuse("a CA certificate cannot sign checkpoints"));
        }
        if !signer.digital_signature {
            return Err(signer.refuse("no digitalSignature key usage"));
        }
        if !signer.eku_allows(NOTARIUM_SIGNER_EKU) {
            return Err(signer.refuse(
                "its extended key usage allows neither anyExtendedKeyUsage nor the Notarium signer 2.25.52608443440459121674925930944434331781",
            ));
        }
        let role = signer
            .role()
            .ok_or_else(|| signer.refuse("subject OU is not notary, court or arbitration"))?;
        let name = signer.common_name.clone().ok_or_else(|| signer.refuse("no subject CN"))?;
        Ok(Chain { certs: self.path(signer, pool, at)?, role, name })
    }

    /// The certification path of `cert` (first) through certificates of
    /// `pool` to a root (last), every certificate valid at `at` and every
    /// pathLenConstraint respected. What `cert` may sign is the caller's
    /// check ([`Self::chain`] for Notarium signers, RFC 3161 TSAs elsewhere).
    pub fn path(
        &self,
        cert: &CertInfo,
        pool: &[CertInfo],
        at: i64,
    ) -> Result<Vec<CertInfo>, IdentityError> {
        cert.check_valid_at(at)?;
        let (mut path, mut why) = (vec![cert], None);
        if self.extend(&mut path, pool, at, &mut why) {
            return Ok(path.into_iter().cloned().collect());
        }
        Err(why.unwrap_or_else(|| IdentityError::UntrustedChain(cert.subject.clone())))
    }

    /// Depth-first search for an issuer of the last certificate of `path`.
    fn extend<'a>(
        &'a self,
        path: &mut Vec<&'a CertInfo>,
        pool: &'a [CertInfo],
        at: i64,
        why: &mut Option<IdentityError>,
    ) -> bool {
        let cur = *path.last().expect("the signer is first");
        // SPEC: RFC 5280 §4.2.1.9: pathLenConstraint "gives the maximum
        // number of non-self-issued intermediate certificates that may
        // follow this certificate in a valid certification path".
        let below = path.len() - 1;
        let fits = |ca: &CertInfo, why: &mut Option<IdentityError>| {
            let ok = ca.path_len.is_none_or(|n| below as u64 <= u64::from(n));
            if !ok {
                *why = Some(ca.refuse(format!(
                    "its pathLenConstraint {} allows fewer CA certificates below it than {below}",
                    ca.path_len.unwrap_or(0)
                )));
            }
            ok && ca.check_valid_at(at).map_err(|e| *why = Some(e)).is_ok()
        };
        let named = |c: &&CertInfo| c.subject_raw == cur.issuer_raw;
        for root in self.roots.iter().filter(named) {
            if self.signed_by(cur, root) && fits(root, why) {
                path.push(root);
                return true;
            }
        }
        if below >= MAX_INTERMEDIATES {
            return false;
        }
        let candidates: Vec<&CertInfo> = pool
            .iter()
            .filter(named)
            .filter(|c| {
                c.is_ca && c.key_cert_sign && !path.iter().any(|p| p.fingerprint == c.fingerprint)
            })
            .take(MAX_ISSUER_CANDIDATES)
            .collect();
        for ca in candidates {
            if self.signed_by(cur, ca) && fits(ca, why) {
                path.push(ca);
                if self.extend(path, pool, at, why) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
}

/// An offline certificate revocation list (RFC 5280 §5), DER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crl {
    issuer_raw: Vec<u8>,
    issuer: String,
    tbs_raw: Vec<u8>,
    signature: Vec<u8>,
    /// Serial (content bytes) → the time from which its signatures are void
    /// (invalidityDate if given, else revocationDate), Unix seconds.
    revoked: HashMap<Vec<u8>, i64>,
}

impl Crl {
    /// Parses one DER CRL (v2, ecdsa-with-SHA256, no critical extension it
    /// does not know). Its signature is checked when it is used, against the
    /// certificate that issued the revoked one.
    pub fn from_der(der: &[u8]) -> Result<Self, IdentityError> {
        use x509_parser::revocation_list::CertificateRevocationList;
        let bad = |why: String| IdentityError::Malformed(format!("CRL: {why}"));
        let (rest, crl) =
            CertificateRevocationList::from_der(der).map_err(|e| bad(e.to_string()))?;
        if !rest.is_empty() || crl.signature_algorithm.algorithm != OID_SIG_ECDSA_WITH_SHA256 {
            return Err(bad("not a DER CRL signed with ecdsa-with-SHA256".into()));
        }
        let known = |e: &x509_parser::extensions::X509Extension<'_>| {
            !e.critical
                || matches!(
                    e.parsed_extension(),
                    ParsedExtension::InvalidityDate(_)
                        | ParsedExtension::ReasonCode(_)
                        | ParsedExtension::CRLNumber(_)
                        | ParsedExtension::AuthorityKeyIdentifier(_)
                )
        };
        if let Some(e) = crl.extensions().iter().find(|e| !known(e)) {
            return Err(bad(format!("unrecognised critical extension {}", e.oid)));
        }
        let mut revoked = HashMap::new();
        for r in crl.iter_revoked_certificates() {
            if let Some(e) = r.extensions().iter().find(|e| !known(e)) {
                return Err(bad(format!("unrecognised critical entry extension {}", e.oid)));
            }
            let at = r.invalidity_date().map_or(r.revocation_date, |(_, t)| t);
            revoked.insert(r.raw_serial().to_vec(), at.timestamp());
        }
        Ok(Crl {
            issuer_raw: crl.issuer().as_raw().to_vec(),
            issuer: crl.issuer().to_string(),
            tbs_raw: crl.tbs_cert_list.as_ref().to_vec(),
            signature: crl.signature_value.data.to_vec(),
            revoked,
        })
    }

    /// Reads a CRL file: DER, or PEM `X509 CRL` blocks.
    pub fn from_file(bytes: &[u8]) -> Result<Vec<Self>, IdentityError> {
        match std::str::from_utf8(bytes).ok().filter(|t| t.contains("-----BEGIN")) {
            Some(text) => pem_decode_all(text)
                .map_err(|e| IdentityError::Malformed(e.to_string()))?
                .iter()
                .filter(|b| b.label == "X509 CRL")
                .map(|b| Crl::from_der(&b.der))
                .collect(),
            None => Ok(vec![Crl::from_der(bytes)?]),
        }
    }

    /// When a signature by `chain` stops counting under these CRLs: the
    /// earliest revocation of any of its certificates, with a description;
    /// an error if a CRL of one of its issuers does not verify.
    pub fn revocation(crls: &[Crl], chain: &Chain) -> Result<Option<(i64, String)>, String> {
        let mut first: Option<(i64, String)> = None;
        for pair in chain.certs.windows(2) {
            let (cert, issuer) = (&pair[0], &pair[1]);
            for crl in crls.iter().filter(|c| c.issuer_raw == issuer.subject_raw) {
                if !issuer.crl_sign || issuer.key.verify(&crl.tbs_raw, &crl.signature).is_err() {
                    return Err(format!(
                        "a CRL naming {} as its issuer does not verify with that CA's key",
                        crl.issuer
                    ));
                }
                if let Some(&at) = crl.revoked.get(&cert.serial)
                    && first.as_ref().is_none_or(|(t, _)| at < *t)
                {
                    first =
                        Some((at, format!("{} revoked from {}", cert.subject, seconds_text(at))));
                }
            }
        }
        Ok(first)
    }
}
