//! What the page shows, taken from the certificate JSON through the core's
//! strict parsers (and, when a verifier is given, from its report).

use crate::PdfError;
use notarium_core::certificate::CertificateJson;
use notarium_core::checkpoint::Checkpoint;
use notarium_core::cosignature::Cosignature;
use notarium_core::encoding::b64;
use notarium_core::identity::{CertInfo, Role};
use notarium_core::proof::TlogProof;
use notarium_core::time::UtcMillis;
use notarium_core::verify::Verifier;

/// A witness cosignature shown on the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessFact {
    pub role: Role,
    /// The witness name (its certificate's subject CN).
    pub name: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`
    pub time: String,
    pub unix_time: u64,
}

/// Everything the certificate page states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateFacts {
    /// Lowercase hex SHA-256 of the evidence file.
    pub evidence_sha256: String,
    pub title: Option<String>,
    pub file_name: Option<String>,
    pub size: Option<u64>,
    pub media_type: Option<String>,
    pub case_reference: Option<String>,
    pub submitter: String,
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`
    pub received_at: String,
    /// Sorted by time, then role and name.
    pub witnesses: Vec<WitnessFact>,
    pub origin: String,
    pub index: u64,
    pub tree_size: u64,
    /// Base64, as in the checkpoint.
    pub root_hash: String,
    /// Whether a verifier with trust roots checked the certificate.
    pub verified: bool,
}

impl CertificateFacts {
    /// Reads the facts of a certificate JSON.
    ///
    /// With a verifier, the certificate must verify (a notary never prints an
    /// invalid certificate) and the witnesses are those the verifier
    /// accepted. Without one, the certificate is parsed strictly and the
    /// witnesses listed are the cosignatures that verify with a witness
    /// certificate included in the JSON, but no chain to a trust root is
    /// checked: the caller vouches for the certificate.
    pub fn from_json(json: &[u8], verifier: Option<&Verifier>) -> Result<Self, PdfError> {
        let bad =
            |what: &str, e: &dyn std::fmt::Display| PdfError::Certificate(format!("{what}: {e}"));
        let cert = CertificateJson::from_json(json).map_err(|e| bad("JSON", &e))?;
        let ev = &cert.evidence;
        let mut facts = CertificateFacts {
            evidence_sha256: ev.sha256.clone(),
            title: None,
            file_name: None,
            size: None,
            media_type: None,
            case_reference: None,
            submitter: ev.submitter.clone(),
            received_at: ev.received_at.clone(),
            witnesses: Vec::new(),
            origin: String::new(),
            index: 0,
            tree_size: 0,
            root_hash: String::new(),
            verified: false,
        };
        if let Some(meta) = &ev.metadata {
            facts.read_metadata(meta)?;
        }

        if let Some(verifier) = verifier {
            let report = verifier.verify_certificate(json, None);
            if !report.valid {
                let why = report
                    .first_failure()
                    .map(|c| format!("check \"{}\" failed: {}", c.id, c.detail))
                    .unwrap_or_else(|| "it does not verify".into());
                return Err(PdfError::Certificate(why));
            }
            let log = report
                .log
                .ok_or_else(|| PdfError::Certificate("the report has no log position".into()))?;
            facts.origin = log.origin;
            facts.index = log.index;
            facts.tree_size = log.tree_size;
            facts.root_hash = log.root_hash;
            facts.witnesses = report
                .witnesses
                .into_iter()
                .map(|w| WitnessFact {
                    role: w.role,
                    name: w.name,
                    time: w.time,
                    unix_time: w.unix_time,
                })
                .collect();
            facts.verified = true;
        } else {
            let proof = TlogProof::parse(&cert.proof).map_err(|e| bad("proof", &e))?;
            let cp =
                Checkpoint::parse(proof.checkpoint.text()).map_err(|e| bad("checkpoint", &e))?;
            let certs = cert
                .certificates
                .iter()
                .map(|pem| CertInfo::from_canonical_pem(pem))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad("certificates", &e))?;
            facts.origin = cp.origin().to_string();
            facts.index = proof.index;
            facts.tree_size = cp.size();
            facts.root_hash = b64(cp.root());
            for line in proof.checkpoint.signatures() {
                if line.name == cp.origin() {
                    continue;
                }
                let Ok(cosig) = Cosignature::from_note_signature(line) else {
                    continue;
                };
                let witness = certs.iter().find(|c| {
                    !c.is_ca
                        && c.role().is_some_and(Role::is_witness)
                        && c.common_name.as_deref() == Some(line.name.as_str())
                        && cosig.is_by(&line.name, &c.key)
                        && cosig.verify(&cp, &c.key).is_ok()
                });
                let (Some(witness), Ok(t)) =
                    (witness, UtcMillis::from_unix_seconds(cosig.timestamp))
                else {
                    continue;
                };
                facts.witnesses.push(WitnessFact {
                    role: witness.role().expect("checked above"),
                    name: line.name.clone(),
                    time: t.to_text_seconds(),
                    unix_time: cosig.timestamp,
                });
            }
            facts.witnesses.sort_by(|a, b| {
                (a.unix_time, a.role, &a.name).cmp(&(b.unix_time, b.role, &b.name))
            });
        }
        Ok(facts)
    }

    fn read_metadata(&mut self, text: &str) -> Result<(), PdfError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| PdfError::Certificate(format!("evidence.metadata: {e}")))?;
        let Some(obj) = value.as_object() else {
            return Err(PdfError::Certificate(
                "evidence.metadata is not a JSON object".into(),
            ));
        };
        let text = |key: &str| match obj.get(key) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        self.title = text("title");
        self.file_name = text("file_name");
        self.media_type = text("media_type");
        self.case_reference = text("case_reference");
        self.size = match obj.get("size") {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        Ok(())
    }

    /// The earliest witnessed time, or else the received time, in Unix
    /// seconds: the document's date (never the wall clock).
    pub fn document_time(&self) -> u64 {
        self.witnesses
            .iter()
            .map(|w| w.unix_time)
            .min()
            .or_else(|| {
                UtcMillis::parse(&self.received_at)
                    .ok()
                    .map(|t| t.unix_seconds().max(0) as u64)
            })
            .unwrap_or(0)
    }
}
