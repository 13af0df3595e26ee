//! One certificate: parsed once, strictly, into the facts the checks need.

use crate::{IdentityError, VerifyingKey, pem::pem_decode_canonical, seconds_text, sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry::OID_SIG_ECDSA_WITH_SHA256;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Version;

/// DER of AlgorithmIdentifier { ecdsa-with-SHA256 } (no parameters).
const ECDSA_WITH_SHA256_ALGORITHM_ID: [u8; 12] = [
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];

/// anyExtendedKeyUsage 2.5.29.37.0 (RFC 5280 §4.2.1.12), DER content bytes.
pub const ANY_EKU: &[u8] = &[0x55, 0x1d, 0x25, 0x00];
/// id-kp-timeStamping 1.3.6.1.5.5.7.3.8 (RFC 3161 §2.3), DER content bytes.
pub const TIME_STAMPING_EKU: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];
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

/// The facts of one certificate that the checks need, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// The certificate's DER.
    pub der: Vec<u8>,
    /// SHA-256 of the DER, to name the certificate.
    pub fingerprint: [u8; 32],
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
    pub(crate) subject_raw: Vec<u8>,
    pub(crate) issuer_raw: Vec<u8>,
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
        let (tbs_raw, sig) = (
            cert.tbs_certificate.as_ref(),
            cert.signature_value.data.as_ref(),
        );
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
        let der = pem_decode_canonical("CERTIFICATE", pem)?;
        Self::from_der(&der)
    }

    /// Whether the extended key usage (if any) includes `oid` or
    /// anyExtendedKeyUsage.
    pub fn eku_allows(&self, oid: &[u8]) -> bool {
        self.eku
            .as_ref()
            .is_none_or(|e| e.iter().any(|o| o == oid || o == ANY_EKU))
    }

    /// This certificate is refused, for `why`.
    pub fn refuse(&self, why: impl Into<String>) -> IdentityError {
        IdentityError::Unacceptable {
            subject: self.subject.clone(),
            why: why.into(),
        }
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

    pub(crate) fn check_valid_at(&self, at: i64) -> Result<(), IdentityError> {
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
    pub(crate) fn signed_by(&self, ca: &CertInfo) -> bool {
        self.issuer_raw == ca.subject_raw && ca.key.verify(&self.tbs_raw, &self.signature).is_ok()
    }
}
