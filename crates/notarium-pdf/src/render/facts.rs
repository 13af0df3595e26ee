//! What the page shows, taken from the core's verification report (and the
//! metadata text of the certificate): a PDF can never state a witness or a
//! time that `notarium-verify` would not.

use crate::PdfError;
use notarium_core::certificate::CertificateJson;
use notarium_core::identity::Role;
use notarium_core::verify::Verifier;

/// A witness cosignature shown on the page: one the verifier counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessFact {
    pub role: Role,
    /// The witness name (its certificate's subject CN).
    pub name: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`
    pub time: String,
    pub unix_time: u64,
}

/// An RFC 3161 timestamp token shown on the page: one the verifier checked
/// (its signature, its TSA certificate's chain and EKU, its imprint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampFact {
    /// The TSA's name (its certificate's subject CN, else its subject).
    pub tsa: String,
    /// genTime, `YYYY-MM-DDTHH:MM:SSZ`, the TSA's clock.
    pub time: String,
    pub unix_time: u64,
}

/// A standard C2SP witness's Ed25519 cosignature shown on the page: one the
/// verifier counted under the notary's tlog-policy file (contract §9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandardWitnessFact {
    /// The policy file's name for the witness.
    pub name: String,
    /// Its key name (the cosignature line's).
    pub key_name: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`, the witness's clock.
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
    /// The counted cosignatures, earliest first.
    pub witnesses: Vec<WitnessFact>,
    /// The verified RFC 3161 tokens, earliest first.
    pub timestamps: Vec<TimestampFact>,
    /// The counted standard witness cosignatures, earliest first.
    pub standard_witnesses: Vec<StandardWitnessFact>,
    /// Contract §9: when the witness policy was first met
    /// (`YYYY-MM-DDTHH:MM:SSZ`): the evidence existed no later than this.
    pub witnessed_at: String,
    /// The same, Unix seconds.
    pub witnessed_unix: u64,
    pub origin: String,
    pub index: u64,
    pub tree_size: u64,
    /// Base64, as in the checkpoint.
    pub root_hash: String,
}

impl CertificateFacts {
    /// Reads the facts of a certificate JSON, which must verify with
    /// `verifier` (a notary never prints an invalid certificate).
    pub fn from_json(json: &[u8], verifier: &Verifier) -> Result<Self, PdfError> {
        let report = verifier.verify_certificate(json, None);
        let (Some(log), Some(witnessed_unix), Some(witnessed_at), true) = (
            report.log.clone(),
            report.witnessed_unix,
            report.witnessed_at.clone(),
            report.valid,
        ) else {
            let why = report
                .first_failure()
                .map(|c| format!("check \"{}\" failed: {}", c.id, c.detail))
                .unwrap_or_else(|| "it does not verify".into());
            return Err(PdfError::Certificate(why));
        };
        let cert = CertificateJson::from_json(json)
            .map_err(|e| PdfError::Certificate(format!("JSON: {e}")))?;
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
            witnesses: report
                .witnesses
                .into_iter()
                .filter(|w| w.counted)
                .map(|w| WitnessFact {
                    role: w.role,
                    name: w.name,
                    time: w.time,
                    unix_time: w.unix_time,
                })
                .collect(),
            timestamps: report
                .timestamps
                .into_iter()
                .map(|t| TimestampFact {
                    tsa: t.tsa,
                    time: t.time,
                    unix_time: t.unix_time,
                })
                .collect(),
            standard_witnesses: report
                .standard_witnesses
                .into_iter()
                .filter(|s| s.counted)
                .map(|s| StandardWitnessFact {
                    name: s.name,
                    key_name: s.key_name,
                    time: s.time,
                    unix_time: s.unix_time,
                })
                .collect(),
            witnessed_at,
            witnessed_unix,
            origin: log.origin,
            index: log.index,
            tree_size: log.tree_size,
            root_hash: log.root_hash,
        };
        if let Some(meta) = &ev.metadata {
            facts.read_metadata(meta)?;
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
}
