//! The development TSA (RFC 3161 §2.4.2): answers a DER TimeStampReq with
//! a DER TimeStampResp. For the demo and the tests: its key in `certs/` is a
//! development key, and it has no clock or randomness of its own (the
//! caller gives genTime and the serial number).

use crate::asn1::{
    EssCertIdV2, IssuerSerial, PkiStatusInfo, SigningCertificateV2, TimeStampResp, failure_bit,
};
use crate::{DEV_TSA_POLICY, ID_AA_SIGNING_CERTIFICATE_V2, ID_CT_TST_INFO, TimestampError};
use cmpv2::status::PkiStatus;
use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use const_oid::db::rfc5912::ID_SHA_256;
use der::asn1::{
    GeneralizedTime, Int, ObjectIdentifier, OctetString, SetOfVec, Uint, Utf8StringRef,
};
use der::{Any, Decode, Encode, Tag};
use notarium_core::merkle::sha256;
use p256::ecdsa::{DerSignature, SigningKey};
use std::time::Duration;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_tsp::{Accuracy, TimeStampReq, TspVersion, TstInfo};

/// RFC 3161 §2.4.2 PKIFailureInfo bits the TSA may answer.
#[derive(Clone, Copy, Debug)]
enum Fail {
    BadAlg = 0,
    BadDataFormat = 5,
    UnacceptedPolicy = 15,
    UnacceptedExtension = 16,
    SystemFailure = 25,
}

/// A TSA key and certificate.
#[derive(Debug)]
pub struct DevTsa {
    key: SigningKey,
    cert: Certificate,
    cert_der: Vec<u8>,
    policy: ObjectIdentifier,
}

impl DevTsa {
    /// From a PKCS#8 PEM P-256 key and the PEM of its certificate (first
    /// CERTIFICATE block), under the policy [`DEV_TSA_POLICY`].
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<Self, TimestampError> {
        let (key, cert, cert_der) =
            crate::cades::key_and_certificate(key_pem, cert_pem, "TSA key or certificate")?;
        Ok(DevTsa { key, cert, cert_der, policy: DEV_TSA_POLICY })
    }

    /// The TSA certificate's DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The DER TimeStampResp to the DER TimeStampReq `request`: granted,
    /// with a token at `gen_time` (Unix seconds) numbered `serial` (unsigned
    /// big-endian, unique per TSA: 16 random bytes do), or a rejection with
    /// its reason (RFC 3161 §2.4.2 PKIFailureInfo) for a request it cannot
    /// serve.
    pub fn respond(&self, request: &[u8], gen_time: u64, serial: &[u8]) -> Vec<u8> {
        let (status, token) = match self.grant(request, gen_time, serial) {
            Ok(token) => {
                let ok = PkiStatusInfo {
                    status: PkiStatus::Accepted,
                    status_string: None,
                    fail_info: None,
                };
                (ok, Some(Any::encode_from(&token).expect("a built token encodes")))
            }
            Err((fail, why)) => {
                let no = PkiStatusInfo {
                    status: PkiStatus::Rejection,
                    status_string: Some(vec![Utf8StringRef::new(why).expect("UTF-8")]),
                    fail_info: Some(failure_bit(fail as usize)),
                };
                (no, None)
            }
        };
        TimeStampResp { status, time_stamp_token: token }
            .to_der()
            .expect("a TimeStampResp of valid parts encodes")
    }

    fn grant(
        &self,
        request: &[u8],
        gen_time: u64,
        serial: &[u8],
    ) -> Result<cms::content_info::ContentInfo, (Fail, &'static str)> {
        let req = TimeStampReq::from_der(request)
            .map_err(|_| (Fail::BadDataFormat, "not a DER TimeStampReq"))?;
        let mi = &req.message_imprint;
        if mi.hash_algorithm.oid != ID_SHA_256 || mi.hashed_message.as_bytes().len() != 32 {
            return Err((Fail::BadAlg, "only SHA-256 message imprints are supported"));
        }
        if req.req_policy.is_some_and(|p| p != self.policy) {
            return Err((
                Fail::UnacceptedPolicy,
                "this TSA issues under policy 1.2.3.4.3161.1 only",
            ));
        }
        if req.extensions.is_some() {
            return Err((Fail::UnacceptedExtension, "no request extension is supported"));
        }
        let tbs = &self.cert.tbs_certificate;
        let tst = TstInfo {
            version: TspVersion::V1,
            policy: self.policy,
            message_imprint: req.message_imprint.clone(),
            serial_number: Int::from(Uint::new(serial).map_err(failed)?),
            gen_time: GeneralizedTime::from_unix_duration(Duration::from_secs(gen_time))
                .map_err(failed)?,
            accuracy: Some(Accuracy { seconds: Some(1), millis: None, micros: None }),
            ordering: false,
            nonce: req.nonce.clone(),
            tsa: Some(GeneralName::DirectoryName(tbs.subject.clone())),
            extensions: None,
        };
        let eci = EncapsulatedContentInfo {
            econtent_type: ID_CT_TST_INFO,
            econtent: Some(
                Any::new(Tag::OctetString, tst.to_der().map_err(failed)?).map_err(failed)?,
            ),
        };
        // SPEC: RFC 5816 §2.2.1 / RFC 5035 §3: ESSCertIDv2 with SHA-256 (the
        // DEFAULT, so hashAlgorithm is omitted) and issuerSerial.
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: OctetString::new(sha256(&self.cert_der)).map_err(failed)?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                    serial_number: tbs.serial_number.clone(),
                }),
            }],
            policies: None,
        };
        let ess_attr = Attribute {
            oid: ID_AA_SIGNING_CERTIFICATE_V2,
            values: SetOfVec::try_from(vec![Any::encode_from(&ess).map_err(failed)?])
                .map_err(failed)?,
        };
        let sha256_id = AlgorithmIdentifierOwned { oid: ID_SHA_256, parameters: None };
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        });
        // The builder adds content-type and message-digest (RFC 5652 §5.3)
        // and signs the DER of the signed attributes.
        let mut signer = SignerInfoBuilder::new(&self.key, sid, sha256_id.clone(), &eci, None)
            .map_err(failed)?;
        signer.add_signed_attribute(ess_attr).map_err(failed)?;
        let mut sd = SignedDataBuilder::new(&eci);
        sd.add_digest_algorithm(sha256_id).map_err(failed)?;
        if req.cert_req {
            sd.add_certificate(CertificateChoices::Certificate(self.cert.clone()))
                .map_err(failed)?;
        }
        sd.add_signer_info::<SigningKey, DerSignature>(signer).map_err(failed)?;
        sd.build().map_err(failed)
    }
}

fn failed<E>(_: E) -> (Fail, &'static str) {
    (Fail::SystemFailure, "the TSA could not build the token")
}
