//! Offline verification of one RFC 3161 TimeStampToken.

use crate::asn1::SigningCertificateV2;
use crate::{
    ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V2, ID_CT_TST_INFO, ID_KP_TIME_STAMPING,
    TimestampError, hex, malformed,
};
use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{SignedData, SignerIdentifier};
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ID_CE_EXT_KEY_USAGE, ID_SHA_256};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode, Tag, Tagged};
use notarium_core::identity::{CertInfo, TrustRoots, seconds_text};
use notarium_core::merkle::{Hash, sha256};
use notarium_core::verify::{TimestampCheck, TsaAttestation};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectKeyIdentifier};
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_tsp::TstInfo;

/// What a verified token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampInfo {
    /// The TSA: its certificate's subject.
    pub tsa: String,
    /// The TSA certificate's subject CN, if it has one.
    pub tsa_common_name: Option<String>,
    /// genTime, Unix seconds: the data existed no later than this.
    pub gen_time: i64,
    /// The token's serial number (hex of the INTEGER's content bytes).
    pub serial: String,
    /// The TSA policy under which the token was issued (dotted OID).
    pub policy: String,
    /// The nonce (INTEGER content bytes), if the token has one.
    pub nonce: Option<Vec<u8>>,
    /// The TSA certificate first, the trust root last.
    pub chain: Vec<CertInfo>,
}

impl TimestampInfo {
    /// genTime as `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn gen_time_text(&self) -> String {
        seconds_text(self.gen_time)
    }
}

/// Checks `token` (DER TimeStampToken) over the SHA-256 digest `imprint`:
/// the structure (CMS SignedData with one SignerInfo over an id-ct-TSTInfo),
/// the signed attributes (content-type is id-ct-TSTInfo, message-digest is
/// SHA-256 of the TSTInfo, signing-certificate-v2 names the signer's
/// certificate by its SHA-256), the ECDSA P-256 signature, the TSA
/// certificate (critical extendedKeyUsage of exactly timeStamping,
/// digitalSignature, not a CA), its chain to one of `roots` at genTime
/// through certificates of the token or `untrusted`, and the imprint.
pub fn verify_token(
    token: &[u8],
    imprint: &Hash,
    roots: &TrustRoots,
    untrusted: &[CertInfo],
) -> Result<TimestampInfo, TimestampError> {
    let bad = |why: String| malformed("token", why);
    let ci =
        ContentInfo::from_der(token).map_err(|e| bad(format!("not a DER CMS ContentInfo: {e}")))?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(bad(format!("content type {} is not signedData", ci.content_type)));
    }
    let sd: SignedData =
        ci.content.decode_as().map_err(|e| bad(format!("not a CMS SignedData: {e}")))?;
    let eci = &sd.encap_content_info;
    if eci.econtent_type != ID_CT_TST_INFO {
        return Err(bad(format!("encapsulated content {} is not a TSTInfo", eci.econtent_type)));
    }
    let tst_der = match &eci.econtent {
        Some(c) if c.tag() == Tag::OctetString => c.value(),
        _ => return Err(bad("no encapsulated TSTInfo OCTET STRING".into())),
    };
    let tst = TstInfo::from_der(tst_der).map_err(|e| bad(format!("TSTInfo: {e}")))?;
    let checked = check_signer_info(
        &sd,
        &Expect {
            what: "token",
            signer: "TSA certificate",
            content_type: ID_CT_TST_INFO,
            content_type_name: "id-ct-TSTInfo",
            content_name: "TSTInfo",
            content_digest: &sha256(tst_der),
        },
        untrusted,
    )?;
    let (signer, info) = (&checked.cert, &checked.info);
    check_tsa_certificate(signer, info)?;

    // SPEC: RFC 3161 §4.3: the TSA's certificate must be valid at genTime
    // (its later expiry does not void the token).
    let gen_time = i64::try_from(tst.gen_time.to_unix_duration().as_secs())
        .map_err(|_| bad("genTime out of range".into()))?;
    let chain = roots.path(info, &checked.pool, gen_time).map_err(TimestampError::Untrusted)?;

    let mi = &tst.message_imprint;
    if !is_sha256(&mi.hash_algorithm) {
        return Err(unsupported("message imprint algorithm", &mi.hash_algorithm.oid, "SHA-256"));
    }
    if mi.hashed_message.as_bytes() != imprint {
        return Err(TimestampError::WrongImprint {
            expected: hex(imprint),
            got: hex(mi.hashed_message.as_bytes()),
        });
    }
    // RFC 3161 defines no TSTInfo extension; one marked critical is one this
    // verifier cannot honour (RFC 5280 §4.2 reasoning).
    if let Some(e) = tst.extensions.iter().flatten().find(|e| e.critical) {
        return Err(TimestampError::Unsupported(format!(
            "a critical TSTInfo extension {}",
            e.extn_id
        )));
    }
    if let Some(GeneralName::DirectoryName(n)) = &tst.tsa
        && *n != signer.tbs_certificate.subject
    {
        return Err(TimestampError::BadTsaCertificate {
            subject: info.subject.clone(),
            why: format!("the TSTInfo names another TSA, {n}"),
        });
    }
    Ok(TimestampInfo {
        tsa: info.subject.clone(),
        tsa_common_name: info.common_name.clone(),
        gen_time,
        serial: hex(tst.serial_number.as_bytes()),
        policy: tst.policy.to_string(),
        nonce: tst.nonce.as_ref().map(|n| n.as_bytes().to_vec()),
        chain,
    })
}

/// What [`check_signer_info`] checks a SignedData against.
pub(crate) struct Expect<'a> {
    /// "token", "PDF seal": the container, for messages.
    pub(crate) what: &'static str,
    /// "TSA certificate", "seal certificate": the signer, for messages.
    pub(crate) signer: &'static str,
    pub(crate) content_type: ObjectIdentifier,
    pub(crate) content_type_name: &'static str,
    pub(crate) content_name: &'static str,
    /// SHA-256 of the signed content (encapsulated or detached).
    pub(crate) content_digest: &'a [u8],
}

/// The signer whose signature verified, and the certificates that may
/// build its chain (the SignedData's, then the given ones).
pub(crate) struct Checked {
    pub(crate) cert: Certificate,
    pub(crate) info: CertInfo,
    pub(crate) pool: Vec<CertInfo>,
}

/// The checks that an RFC 3161 token and a CAdES signature share: one
/// SignerInfo, RFC 5652's versions, SHA-256 and ecdsa-with-SHA256, the
/// content-type and message-digest signed attributes, signing-certificate-v2
/// naming the signer's certificate, and the signature over the DER of the
/// signed attributes. The signer's chain and key usages are the caller's.
pub(crate) fn check_signer_info(
    sd: &SignedData,
    expect: &Expect<'_>,
    untrusted: &[CertInfo],
) -> Result<Checked, TimestampError> {
    let bad = |why: String| malformed(expect.what, why);
    let signer_infos: Vec<_> = sd.signer_infos.0.iter().collect();
    let [si] = signer_infos.as_slice() else {
        return Err(bad(format!("{} SignerInfos, expected one", signer_infos.len())));
    };
    // The unsigned fields around the signature are checked too, so that no
    // byte of a token can change unnoticed. SPEC: RFC 5652 §5.1: version 3
    // (eContentType is not id-data); §5.3: SignerInfo version 1 with
    // issuerAndSerialNumber, 3 with subjectKeyIdentifier.
    let si_version = match si.sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V1,
        SignerIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V3,
    };
    // SPEC: RFC 5652 §5.1: version 1 for id-data content signed with
    // issuerAndSerialNumber, otherwise 3.
    let sd_version = if expect.content_type == ID_DATA && si_version == CmsVersion::V1 {
        CmsVersion::V1
    } else {
        CmsVersion::V3
    };
    if sd.version != sd_version || si.version != si_version {
        return Err(bad("SignedData or SignerInfo version is not RFC 5652's".into()));
    }
    let digests: Vec<_> = sd.digest_algorithms.iter().collect();
    if !matches!(digests.as_slice(), [d] if is_sha256(d)) {
        return Err(bad("digestAlgorithms is not exactly SHA-256".into()));
    }

    // SPEC: RFC 3161 §2.4.2, ETSI EN 319 122-1 and RFC 5652 §5.3-5.4: the signature is over
    // the DER of the signed attributes, which carry the eContent's digest.
    if !is_sha256(&si.digest_alg) {
        return Err(unsupported("digest algorithm", &si.digest_alg.oid, "SHA-256"));
    }
    // SPEC: RFC 5758 §3.2: ecdsa-with-SHA256 "MUST omit the parameters".
    if si.signature_algorithm.oid != ECDSA_WITH_SHA_256
        || si.signature_algorithm.parameters.is_some()
    {
        return Err(unsupported(
            "signature algorithm",
            &si.signature_algorithm.oid,
            "ecdsa-with-SHA256 (P-256)",
        ));
    }
    let attrs = si.signed_attrs.as_ref().ok_or_else(|| bad("no signed attributes".into()))?;
    let attr = |oid: ObjectIdentifier, name: &str| -> Result<Option<&Any>, TimestampError> {
        let found: Vec<_> = attrs.iter().filter(|a| a.oid == oid).collect();
        match found.as_slice() {
            [] => Ok(None),
            [a] if a.values.len() == 1 => Ok(a.values.iter().next()),
            _ => Err(bad(format!("{name}: one attribute with one value expected"))),
        }
    };
    let need = |oid, name: &str| {
        attr(oid, name)?.ok_or_else(|| bad(format!("no {name} signed attribute")))
    };
    let content_type: ObjectIdentifier = need(ID_CONTENT_TYPE, "content-type")?
        .decode_as()
        .map_err(|e| bad(format!("content-type: {e}")))?;
    if content_type != expect.content_type {
        return Err(bad(format!(
            "the content-type attribute is {content_type}, not {}",
            expect.content_type_name
        )));
    }
    let digest: OctetString = need(ID_MESSAGE_DIGEST, "message-digest")?
        .decode_as()
        .map_err(|e| bad(format!("message-digest: {e}")))?;
    if digest.as_bytes() != expect.content_digest {
        return Err(TimestampError::BadSignature(format!(
            "the message-digest attribute is not the SHA-256 of the {}",
            expect.content_name
        )));
    }
    // SPEC: RFC 5816 §2.2.1: the signing certificate is identified by
    // ESSCertIDv2 (or ESSCertID, SHA-1). Notarium requires ESSCertIDv2:
    // SHA-1 no longer binds a certificate against a deliberate collision.
    let Some(scv2) = attr(ID_AA_SIGNING_CERTIFICATE_V2, "signing-certificate-v2")? else {
        let why = match attr(ID_AA_SIGNING_CERTIFICATE, "signing-certificate")? {
            Some(_) => format!(
                "the {} names its {} only by ESSCertID (SHA-1, RFC 2634); \
                 Notarium requires ESSCertIDv2 (RFC 5816)",
                expect.what, expect.signer
            ),
            None => format!(
                "the {} has no signing-certificate-v2 attribute (ESSCertIDv2, RFC 5816)",
                expect.what
            ),
        };
        return Err(TimestampError::Unsupported(why));
    };
    let scv2: SigningCertificateV2 =
        scv2.decode_as().map_err(|e| bad(format!("signing-certificate-v2: {e}")))?;

    // The signer's certificate: in the token (certReq) or given.
    let mut candidates: Vec<Certificate> = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let in_token = candidates.len();
    for c in untrusted {
        candidates.push(
            Certificate::from_der(&c.der).map_err(|e| bad(format!("a given certificate: {e}")))?,
        );
    }
    let is_signer = |c: &&Certificate| match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == c.tbs_certificate.issuer
                && ias.serial_number == c.tbs_certificate.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => c
            .tbs_certificate
            .get::<SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .is_some_and(|(_, k)| k == *ski),
    };
    let signer = candidates.iter().find(is_signer).ok_or_else(|| {
        TimestampError::BadSignature(format!(
            "the signer's certificate is neither in the {} nor among the given certificates",
            expect.what
        ))
    })?;
    let signer_der = signer.to_der().map_err(|e| bad(e.to_string()))?;
    let id = scv2.certs.first().ok_or_else(|| bad("signing-certificate-v2 is empty".into()))?;
    if let Some(AlgorithmIdentifierOwned { oid, .. }) = &id.hash_algorithm
        && *oid != ID_SHA_256
    {
        return Err(unsupported("ESSCertIDv2 hash algorithm", oid, "SHA-256"));
    }
    if id.cert_hash.as_bytes() != sha256(&signer_der) {
        return Err(TimestampError::BadSignature(
            "ESSCertIDv2 names another certificate than the signer's (certHash)".into(),
        ));
    }
    if let Some(is) = &id.issuer_serial {
        let tbs = &signer.tbs_certificate;
        let issuer_named = is
            .issuer
            .iter()
            .any(|g| matches!(g, GeneralName::DirectoryName(n) if *n == tbs.issuer));
        if is.serial_number != tbs.serial_number || !issuer_named {
            return Err(TimestampError::BadSignature(
                "ESSCertIDv2 names another certificate than the signer's (issuerSerial)".into(),
            ));
        }
    }
    let info = CertInfo::from_der(&signer_der).map_err(TimestampError::Untrusted)?;
    let signed = attrs.to_der().map_err(|e| bad(e.to_string()))?;
    info.key.verify(&signed, si.signature.as_bytes()).map_err(|_| {
        TimestampError::BadSignature(format!(
            "the ECDSA signature over the signed attributes does not verify with the {}'s key",
            expect.signer
        ))
    })?;
    let mut pool: Vec<CertInfo> = candidates[..in_token]
        .iter()
        .filter_map(|c| c.to_der().ok().and_then(|d| CertInfo::from_der(&d).ok()))
        .collect();
    pool.extend(untrusted.iter().cloned());
    Ok(Checked { cert: signer.clone(), info, pool })
}

/// The TSA trust of a certificate verifier (contract §9, `notarium-verify
/// --tsa-trust`): checks the tokens of a certificate for the core's
/// `Verifier`, which counts what they attest.
#[derive(Debug)]
pub struct TsaTrust {
    roots: TrustRoots,
    intermediates: Vec<CertInfo>,
}

impl TsaTrust {
    /// TSA certificates must chain to `roots`, through the tokens'
    /// certificates or `intermediates`.
    pub fn new(roots: TrustRoots, intermediates: Vec<CertInfo>) -> Self {
        TsaTrust { roots, intermediates }
    }
}

impl TimestampCheck for TsaTrust {
    fn check(&self, token: &[u8], imprint: &Hash) -> Result<TsaAttestation, String> {
        let info = verify_token(token, imprint, &self.roots, &self.intermediates)
            .map_err(|e| e.to_string())?;
        Ok(TsaAttestation {
            name: info.tsa_common_name.unwrap_or(info.tsa),
            spki: info.chain[0].key.spki_der().to_vec(),
            time: u64::try_from(info.gen_time).map_err(|_| "genTime before 1970".to_string())?,
        })
    }
}

/// SPEC: RFC 3161 §2.3: "The corresponding certificate MUST contain only one
/// instance of the extended key usage field extension [...] with KeyPurposeID
/// having value: id-kp-timeStamping. This extension MUST be critical."
fn check_tsa_certificate(cert: &Certificate, info: &CertInfo) -> Result<(), TimestampError> {
    let refuse = |why: &str| TimestampError::BadTsaCertificate {
        subject: info.subject.clone(),
        why: why.into(),
    };
    let ekus: Vec<_> = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == ID_CE_EXT_KEY_USAGE)
        .collect();
    let [eku] = ekus.as_slice() else {
        return Err(refuse("it needs exactly one extendedKeyUsage extension (RFC 3161 §2.3)"));
    };
    if !eku.critical {
        return Err(refuse("its extendedKeyUsage is not critical (RFC 3161 §2.3)"));
    }
    let purposes = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes())
        .map_err(|e| refuse(&format!("unreadable extendedKeyUsage: {e}")))?;
    if purposes.0 != [ID_KP_TIME_STAMPING] {
        return Err(refuse("its extendedKeyUsage is not exactly timeStamping (RFC 3161 §2.3)"));
    }
    if info.is_ca {
        return Err(refuse("it is a CA certificate"));
    }
    if !info.digital_signature {
        return Err(refuse("it lacks the digitalSignature key usage"));
    }
    Ok(())
}

/// SHA-256, its parameters absent or NULL (RFC 5754 §2: both are seen).
fn is_sha256(id: &AlgorithmIdentifierOwned) -> bool {
    id.oid == ID_SHA_256
        && id.parameters.as_ref().is_none_or(|p| p.tag() == Tag::Null && p.value().is_empty())
}

fn unsupported(what: &str, oid: &ObjectIdentifier, only: &str) -> TimestampError {
    TimestampError::Unsupported(format!("{what} {oid}; supported: {only}"))
}
