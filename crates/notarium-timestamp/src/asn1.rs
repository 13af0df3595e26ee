//! ASN.1 structures the RustCrypto crates lack or get wrong, as plain `der`
//! declarations of the standards' modules:
//! - the ESS signing-certificate-v2 attribute (RFC 5035 §3, profiled for
//!   timestamps by RFC 5816): it binds the TSA's certificate to the
//!   signature, so a token cannot be re-attributed to another certificate
//!   with the same key. `cms` 0.2 has no type for it.
//! - TimeStampResp's PKIStatusInfo: `cmpv2` 0.2 declares PKIFailureInfo as
//!   flags whose values are the bit positions (badAlg = 0 is no bit at all,
//!   and a real TSA's systemFailure, bit 25, does not decode), so the
//!   failure information is read and written here as the BIT STRING it is.

use cmpv2::status::PkiStatus;
use der::Sequence;
use der::asn1::{BitString, OctetString, Utf8StringRef};
use x509_cert::ext::pkix::name::GeneralNames;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;

/// ```text
/// SigningCertificateV2 ::= SEQUENCE {
///     certs        SEQUENCE OF ESSCertIDv2,
///     policies     SEQUENCE OF PolicyInformation OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SigningCertificateV2 {
    pub(crate) certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    pub(crate) policies: Option<Vec<der::Any>>,
}

/// ```text
/// ESSCertIDv2 ::= SEQUENCE {
///     hashAlgorithm  AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///     certHash       Hash,
///     issuerSerial   IssuerSerial OPTIONAL }
/// ```
/// The DEFAULT is read as OPTIONAL so that an explicit SHA-256 (which DER
/// forbids but some signers write) is recognised rather than misparsed.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub(crate) hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub(crate) cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub(crate) issuer_serial: Option<IssuerSerial>,
}

/// ```text
/// IssuerSerial ::= SEQUENCE {
///     issuer         GeneralNames,
///     serialNumber   CertificateSerialNumber }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct IssuerSerial {
    pub(crate) issuer: GeneralNames,
    pub(crate) serial_number: SerialNumber,
}

/// ```text
/// TimeStampResp ::= SEQUENCE {
///     status          PKIStatusInfo,
///     timeStampToken  TimeStampToken OPTIONAL }
/// ```
/// (the token is kept as its DER, a ContentInfo).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TimeStampResp<'a> {
    pub(crate) status: PkiStatusInfo<'a>,
    #[asn1(optional = "true")]
    pub(crate) time_stamp_token: Option<der::Any>,
}

/// ```text
/// PKIStatusInfo ::= SEQUENCE {
///     status        PKIStatus,
///     statusString  PKIFreeText     OPTIONAL,
///     failInfo      PKIFailureInfo  OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct PkiStatusInfo<'a> {
    pub(crate) status: PkiStatus,
    #[asn1(optional = "true")]
    pub(crate) status_string: Option<Vec<Utf8StringRef<'a>>>,
    #[asn1(optional = "true")]
    pub(crate) fail_info: Option<BitString>,
}

/// The PKIFailureInfo bits of RFC 3161 §2.4.2.
pub(crate) const FAILURES: [(usize, &str); 8] = [
    (0, "badAlg"),
    (2, "badRequest"),
    (5, "badDataFormat"),
    (14, "timeNotAvailable"),
    (15, "unacceptedPolicy"),
    (16, "unacceptedExtension"),
    (17, "addInfoNotAvailable"),
    (25, "systemFailure"),
];

/// A PKIFailureInfo with one bit set (DER: no trailing zero bits).
#[cfg(feature = "tsa")]
pub(crate) fn failure_bit(bit: usize) -> BitString {
    let mut bytes = vec![0u8; bit / 8 + 1];
    bytes[bit / 8] = 0x80 >> (bit % 8);
    BitString::new((7 - bit % 8) as u8, bytes).expect("a valid bit string")
}

/// The names of the bits set in a PKIFailureInfo.
pub(crate) fn failure_names(bits: &BitString) -> Vec<String> {
    bits.bits()
        .enumerate()
        .filter(|(_, on)| *on)
        .map(|(i, _)| {
            FAILURES
                .iter()
                .find(|(b, _)| *b == i)
                .map_or(format!("bit {i}"), |(_, n)| n.to_string())
        })
        .collect()
}
