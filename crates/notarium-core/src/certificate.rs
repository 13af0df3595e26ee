//! The deposit certificate, JSON v1 (contract §5). Parsing is strict:
//! unknown and duplicate fields are rejected, every field must be present.

use crate::error::FormatError;
use serde::{Deserialize, Deserializer, Serialize};

/// The `format` of a v1 certificate.
pub const CERTIFICATE_FORMAT: &str = "notarium/certificate/v1";
/// Most X.509 certificates a certificate (or a bare proof's `--certs`)
/// may carry: a notary, a few witnesses of each role, their intermediates.
pub const MAX_CERTIFICATES: usize = 24;
/// Largest certificate JSON a verifier reads.
pub const MAX_CERTIFICATE_BYTES: usize = 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// The deposit certificate JSON (contract §5), field for field.
pub struct CertificateJson {
    /// Exactly [`CERTIFICATE_FORMAT`].
    pub format: String,
    /// What the entry was built from.
    pub evidence: EvidenceJson,
    /// The exact leaf text.
    pub entry: String,
    /// The C2SP tlog-proof text with the final checkpoint.
    pub proof: String,
    /// PEM of every signer certificate and intermediate needed.
    pub certificates: Vec<String>,
    /// Contract §9: base64 DER RFC 3161 TimeStampTokens over SHA-256 of the
    /// checkpoint body; absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timestamps: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// The certificate's `evidence` object.
pub struct EvidenceJson {
    /// Hex SHA-256 of the evidence file.
    pub sha256: String,
    /// Hex of the 32-byte salt.
    pub salt: String,
    /// The exact metadata JSON text, or null. Must be present.
    #[serde(deserialize_with = "present_or_null")]
    pub metadata: Option<String>,
    /// The submitter id.
    pub submitter: String,
    /// The notary's received time, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub received_at: String,
}

/// Makes `Option` fields required (serde otherwise treats absence as null).
fn present_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

impl CertificateJson {
    /// Parses the JSON strictly.
    pub fn from_json(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.len() > MAX_CERTIFICATE_BYTES {
            return Err(FormatError::field(
                "certificate",
                format!("{} bytes, more than {MAX_CERTIFICATE_BYTES}", bytes.len()),
            ));
        }
        let cert: CertificateJson = serde_json::from_slice(bytes)
            .map_err(|e| FormatError::field("certificate JSON", e.to_string()))?;
        if cert.format != CERTIFICATE_FORMAT {
            return Err(FormatError::field(
                "format",
                format!("\"{}\" is not {CERTIFICATE_FORMAT}", cert.format),
            ));
        }
        Ok(cert)
    }

    /// The canonical rendering the notary serves (pretty, two-space indent,
    /// final newline): the same certificate always gives the same bytes.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("plain strings serialise");
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> String {
        serde_json::json!({
            "format": CERTIFICATE_FORMAT,
            "evidence": {"sha256": "a", "salt": "b", "metadata": null, "submitter": "s", "received_at": "t"},
            "entry": "e", "proof": "p", "certificates": ["c"]
        })
        .to_string()
    }

    #[test]
    fn strict_fields() {
        let ok = sample();
        let c = CertificateJson::from_json(ok.as_bytes()).unwrap();
        assert_eq!(CertificateJson::from_json(c.to_json().as_bytes()).unwrap(), c);
        let extra = ok.replacen("\"entry\"", "\"x\":1,\"entry\"", 1);
        assert!(CertificateJson::from_json(extra.as_bytes()).is_err());
        let missing_meta = ok.replacen("\"metadata\":null,", "", 1);
        assert!(CertificateJson::from_json(missing_meta.as_bytes()).is_err());
        let dup = ok.replacen("\"entry\":\"e\"", "\"entry\":\"e\",\"entry\":\"e\"", 1);
        assert!(CertificateJson::from_json(dup.as_bytes()).is_err());
        let v2 = ok.replacen("certificate/v1", "certificate/v2", 1);
        assert!(CertificateJson::from_json(v2.as_bytes()).is_err());
    }
}
