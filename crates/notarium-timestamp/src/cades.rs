//! CAdES detached signatures (ETSI EN 319 122-1 baseline, as PAdES
//! `/SubFilter /ETSI.CAdES.detached` uses them, ETSI EN 319 142-1): a CMS
//! SignedData without encapsulated content whose signed attributes are
//! content-type (id-data), message-digest (SHA-256 of the signed bytes) and
//! signing-certificate-v2 (RFC 5035), and whose optional unsigned attribute
//! id-aa-signatureTimeStampToken (RFC 3161 Appendix A) is an RFC 3161 token
//! over the signature value.
//!
//! - [`verify_detached`] (always available): the offline check.
//! - `SealSigner` (feature `sign`): builds the signature with the RustCrypto
//!   `cms` builder. No signing time attribute: PAdES takes the signing time
//!   from the signature dictionary's `/M`, and without it the signature of
//!   the same bytes is the same (ECDSA with RFC 6979 nonces), so a stored
//!   timestamp token over it can be reused.

use crate::verify::{Expect, check_signer_info, verify_token};
use crate::{TimestampError, TimestampInfo, malformed};
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use const_oid::db::rfc5911::{ID_DATA, ID_SIGNED_DATA};
use der::Decode;
use der::asn1::ObjectIdentifier;
use notarium_core::identity::{CertInfo, TrustRoots};
use notarium_core::merkle::{Hash, sha256};

/// id-aa-signatureTimeStampToken 1.2.840.113549.1.9.16.2.14 (RFC 3161
/// Appendix A): a timestamp over the SignerInfo's signature value.
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// What a verified detached signature says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetachedInfo {
    /// The signer's certificate first, the trust root last.
    pub chain: Vec<CertInfo>,
    /// The signature timestamp, if the signature has one and TSA roots
    /// were given.
    pub timestamp: Option<TimestampInfo>,
    /// The signature has a timestamp that was not checked (no TSA roots).
    pub timestamp_unchecked: bool,
}

/// Why [`verify_detached`] refused a signature.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DetachedError {
    /// Malformed, altered, or signed over other bytes.
    #[error("{0}")]
    Invalid(TimestampError),
    /// Intact, but the signer (or its timestamp's TSA) does not chain to a
    /// trusted root.
    #[error("{0}")]
    Untrusted(TimestampError),
}

/// Checks the DER `cms` (ContentInfo of a SignedData) as a CAdES detached
/// signature over bytes whose SHA-256 is `content_digest`: the signed
/// attributes and ECDSA P-256 signature (as for timestamp tokens), the
/// signer's certificate (digitalSignature, not a CA) and its chain to
/// `roots` through the SignedData's certificates at the signature
/// timestamp's time if it has one, else at `at` (Unix seconds), and the
/// signature timestamp, if present, against `tsa_roots` (with `None`, a
/// timestamp is left unchecked and the chain is checked at `at`).
pub fn verify_detached(
    cms: &[u8],
    content_digest: &Hash,
    roots: &TrustRoots,
    tsa_roots: Option<&TrustRoots>,
    at: i64,
) -> Result<DetachedInfo, DetachedError> {
    let invalid = |why: String| DetachedError::Invalid(malformed("signature", why));
    let ci = ContentInfo::from_der(cms)
        .map_err(|e| invalid(format!("not a DER CMS ContentInfo: {e}")))?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(invalid(format!("content type {} is not signedData", ci.content_type)));
    }
    let sd: SignedData =
        ci.content.decode_as().map_err(|e| invalid(format!("not a CMS SignedData: {e}")))?;
    if sd.encap_content_info.econtent_type != ID_DATA || sd.encap_content_info.econtent.is_some() {
        return Err(invalid("not a detached signature of id-data".into()));
    }
    let checked = check_signer_info(
        &sd,
        &Expect {
            what: "signature",
            signer: "signer certificate",
            content_type: ID_DATA,
            content_type_name: "id-data",
            content_name: "signed bytes",
            content_digest,
        },
        &[],
    )
    .map_err(DetachedError::Invalid)?;
    let si = sd.signer_infos.0.iter().next().expect("check_signer_info found one");
    let mut timestamp = None;
    let mut timestamp_unchecked = false;
    if let Some(unsigned) = &si.unsigned_attrs {
        for attr in unsigned.iter() {
            if attr.oid != ID_AA_SIGNATURE_TIME_STAMP_TOKEN {
                continue;
            }
            let [token] = attr.values.as_slice() else {
                return Err(invalid(
                    "a signature timestamp attribute with other than one value".into(),
                ));
            };
            if timestamp.is_some() || timestamp_unchecked {
                return Err(invalid("two signature timestamp attributes".into()));
            }
            let Some(tsa_roots) = tsa_roots else {
                timestamp_unchecked = true;
                continue;
            };
            let token = der::Encode::to_der(token).map_err(|e| invalid(e.to_string()))?;
            let imprint = sha256(si.signature.as_bytes());
            timestamp =
                Some(verify_token(&token, &imprint, tsa_roots, &[]).map_err(|e| match e {
                    TimestampError::Untrusted(_) => DetachedError::Untrusted(e),
                    e => DetachedError::Invalid(e),
                })?);
        }
    }
    let info = &checked.info;
    if info.is_ca || !info.digital_signature {
        return Err(DetachedError::Invalid(TimestampError::BadTsaCertificate {
            subject: info.subject.clone(),
            why: "a signer certificate needs digitalSignature and may not be a CA".into(),
        }));
    }
    let at = timestamp.as_ref().map_or(at, |t| t.gen_time);
    let chain = roots
        .path(info, &checked.pool, at)
        .map_err(|e| DetachedError::Untrusted(TimestampError::Untrusted(e)))?;
    Ok(DetachedInfo { chain, timestamp, timestamp_unchecked })
}

/// The signature value of the one SignerInfo of a CMS SignedData: what a
/// signature timestamp is over.
pub fn signature_value(cms: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let sd = signed_data(cms)?;
    let si =
        sd.signer_infos.0.iter().next().ok_or_else(|| malformed("signature", "no SignerInfo"))?;
    Ok(si.signature.as_bytes().to_vec())
}

fn signed_data(cms: &[u8]) -> Result<SignedData, TimestampError> {
    let ci = ContentInfo::from_der(cms).map_err(|e| malformed("signature", e))?;
    ci.content.decode_as().map_err(|e| malformed("signature", e))
}

#[cfg(feature = "sign")]
pub use sign::SealSigner;
// The development TSA's (feature `tsa`) use of the seal's key loader.
#[cfg(feature = "tsa")]
pub(crate) use sign::key_and_certificate;

#[cfg(feature = "sign")]
mod sign {
    use super::{ID_AA_SIGNATURE_TIME_STAMP_TOKEN, signed_data};
    use crate::asn1::{EssCertIdV2, IssuerSerial, SigningCertificateV2};
    use crate::{ID_AA_SIGNING_CERTIFICATE_V2, TimestampError, malformed};
    use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
    use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
    use cms::content_info::ContentInfo;
    use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier, SignerInfos};
    use const_oid::db::rfc5911::{ID_DATA, ID_SIGNED_DATA};
    use const_oid::db::rfc5912::ID_SHA_256;
    use der::asn1::{OctetString, SetOfVec};
    use der::{Any, Decode, Encode};
    use notarium_core::encoding::pem_decode_all;
    use notarium_core::merkle::{Hash, sha256};
    use p256::ecdsa::{DerSignature, SigningKey};
    use p256::pkcs8::DecodePrivateKey;
    use x509_cert::Certificate;
    use x509_cert::attr::Attribute;
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::spki::AlgorithmIdentifierOwned;

    /// A PKCS#8 PEM P-256 key and the first CERTIFICATE of `cert_pem`,
    /// which must be the key's (the seal's and the development TSA's).
    pub(crate) fn key_and_certificate(
        key_pem: &str,
        cert_pem: &str,
        what: &'static str,
    ) -> Result<(SigningKey, Certificate, Vec<u8>), TimestampError> {
        let bad = |why: String| malformed(what, why);
        let key = SigningKey::from_pkcs8_pem(key_pem)
            .map_err(|e| bad(format!("not a PKCS#8 P-256 key: {e}")))?;
        let blocks = pem_decode_all(cert_pem).map_err(|e| bad(e.to_string()))?;
        let cert_der = blocks
            .into_iter()
            .find(|b| b.label == "CERTIFICATE")
            .ok_or_else(|| bad("no CERTIFICATE in the PEM".into()))?
            .der;
        let cert = Certificate::from_der(&cert_der).map_err(|e| bad(e.to_string()))?;
        let point = key.verifying_key().to_encoded_point(false);
        if cert.tbs_certificate.subject_public_key_info.subject_public_key.raw_bytes()
            != point.as_bytes()
        {
            return Err(bad("the key is not the certificate's".into()));
        }
        Ok((key, cert, cert_der))
    }

    /// A signing key (ECDSA P-256) and its certificate: the notary's PDF
    /// seal.
    #[derive(Debug, Clone)]
    pub struct SealSigner {
        key: SigningKey,
        cert: Certificate,
        cert_der: Vec<u8>,
    }

    impl SealSigner {
        /// From a PKCS#8 PEM P-256 key and the PEM of its certificate (the
        /// first CERTIFICATE block).
        pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<Self, TimestampError> {
            let (key, cert, cert_der) =
                key_and_certificate(key_pem, cert_pem, "seal key or certificate")?;
            Ok(SealSigner { key, cert, cert_der })
        }

        /// The certificate's DER.
        pub fn certificate_der(&self) -> &[u8] {
            &self.cert_der
        }

        /// The DER ContentInfo of a CAdES detached SignedData over bytes
        /// whose SHA-256 is `content_digest`, carrying the signer's
        /// certificate. Deterministic for the same digest.
        pub fn sign_detached(&self, content_digest: &Hash) -> Result<Vec<u8>, TimestampError> {
            let failed = |e: &dyn std::fmt::Display| malformed("signature", e);
            let tbs = &self.cert.tbs_certificate;
            let eci = EncapsulatedContentInfo { econtent_type: ID_DATA, econtent: None };
            // SPEC: ETSI EN 319 122-1 §5.2.2.3 (RFC 5035 §3): ESSCertIDv2
            // with SHA-256 (the DEFAULT, omitted) and issuerSerial.
            let ess = SigningCertificateV2 {
                certs: vec![EssCertIdV2 {
                    hash_algorithm: None,
                    cert_hash: OctetString::new(sha256(&self.cert_der)).map_err(|e| failed(&e))?,
                    issuer_serial: Some(IssuerSerial {
                        issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                        serial_number: tbs.serial_number.clone(),
                    }),
                }],
                policies: None,
            };
            let ess_attr = Attribute {
                oid: ID_AA_SIGNING_CERTIFICATE_V2,
                values: SetOfVec::try_from(vec![Any::encode_from(&ess).map_err(|e| failed(&e))?])
                    .map_err(|e| failed(&e))?,
            };
            let sha256_id = AlgorithmIdentifierOwned { oid: ID_SHA_256, parameters: None };
            let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer.clone(),
                serial_number: tbs.serial_number.clone(),
            });
            // The builder adds content-type (id-data) and message-digest
            // (the external digest) and signs the DER of the attributes.
            let mut signer = SignerInfoBuilder::new(
                &self.key,
                sid,
                sha256_id.clone(),
                &eci,
                Some(content_digest.as_slice()),
            )
            .map_err(|e| failed(&e))?;
            signer.add_signed_attribute(ess_attr).map_err(|e| failed(&e))?;
            let mut sd = SignedDataBuilder::new(&eci);
            sd.add_digest_algorithm(sha256_id).map_err(|e| failed(&e))?;
            sd.add_certificate(CertificateChoices::Certificate(self.cert.clone()))
                .map_err(|e| failed(&e))?;
            sd.add_signer_info::<SigningKey, DerSignature>(signer).map_err(|e| failed(&e))?;
            sd.build().map_err(|e| failed(&e))?.to_der().map_err(|e| failed(&e))
        }
    }

    /// `cms` with the DER TimeStampToken `token` added to its SignerInfo as
    /// the unsigned attribute id-aa-signatureTimeStampToken (the token must
    /// be over SHA-256 of the signature value: [`super::signature_value`]).
    pub fn add_signature_timestamp(cms: &[u8], token: &[u8]) -> Result<Vec<u8>, TimestampError> {
        let failed = |e: &dyn std::fmt::Display| malformed("signature", e);
        let mut sd = signed_data(cms)?;
        let token = Any::from_der(token).map_err(|e| malformed("token", e))?;
        let mut infos = sd.signer_infos.0.into_vec();
        let [si] = infos.as_mut_slice() else {
            return Err(failed(&"not one SignerInfo"));
        };
        let attr = Attribute {
            oid: ID_AA_SIGNATURE_TIME_STAMP_TOKEN,
            values: SetOfVec::try_from(vec![token]).map_err(|e| failed(&e))?,
        };
        let mut unsigned = si.unsigned_attrs.take().map(SetOfVec::into_vec).unwrap_or_default();
        unsigned.retain(|a| a.oid != ID_AA_SIGNATURE_TIME_STAMP_TOKEN);
        unsigned.push(attr);
        si.unsigned_attrs = Some(SetOfVec::try_from(unsigned).map_err(|e| failed(&e))?);
        sd.signer_infos = SignerInfos(SetOfVec::try_from(infos).map_err(|e| failed(&e))?);
        let ci = ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&sd).map_err(|e| failed(&e))?,
        };
        ci.to_der().map_err(|e| failed(&e))
    }
}

#[cfg(feature = "sign")]
pub use sign::add_signature_timestamp;
