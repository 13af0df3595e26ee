//! Offline certificate revocation lists (RFC 5280 §5).

use crate::{CertInfo, IdentityError, pem::pem_decode_all, seconds_text};
use std::collections::HashMap;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry::OID_SIG_ECDSA_WITH_SHA256;
use x509_parser::prelude::FromDer;

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
                return Err(bad(format!(
                    "unrecognised critical entry extension {}",
                    e.oid
                )));
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
        match std::str::from_utf8(bytes)
            .ok()
            .filter(|t| t.contains("-----BEGIN"))
        {
            Some(text) => pem_decode_all(text)?
                .iter()
                .filter(|b| b.label == "X509 CRL")
                .map(|b| Crl::from_der(&b.der))
                .collect(),
            None => Ok(vec![Crl::from_der(bytes)?]),
        }
    }

    /// When a signature by the signer of `path` (signer first, root last)
    /// stops counting under these CRLs: the earliest revocation of any of
    /// its certificates, with a description;
    /// an error if a CRL of one of its issuers does not verify.
    pub fn revocation(crls: &[Crl], path: &[CertInfo]) -> Result<Option<(i64, String)>, String> {
        let mut first: Option<(i64, String)> = None;
        for pair in path.windows(2) {
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
                    first = Some((
                        at,
                        format!("{} revoked from {}", cert.subject, seconds_text(at)),
                    ));
                }
            }
        }
        Ok(first)
    }
}
