//! PEM (RFC 7468): a lenient reader for files people and tools write, and a
//! canonical form for certificates embedded in deposit certificates.

use crate::IdentityError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// One PEM block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PemBlock {
    /// The label after `BEGIN `.
    pub label: String,
    /// The decoded body.
    pub der: Vec<u8>,
}

/// The canonical PEM text of a DER value: 64-character lines, final newline.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Reads every PEM block of a file (text outside blocks is ignored, CRLF
/// accepted): for configuration files written by people and tools.
pub fn pem_decode_all(text: &str) -> Result<Vec<PemBlock>, IdentityError> {
    let mut out = Vec::new();
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r').trim());
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        loop {
            match lines.next() {
                None => return Err(IdentityError::Pem(format!("no END line for {label}"))),
                Some(l) if l == end => break,
                Some(l) => body.push_str(l),
            }
        }
        let der = STANDARD
            .decode(&body)
            .map_err(|e| IdentityError::Pem(format!("the body is not canonical base64: {e}")))?;
        out.push(PemBlock {
            label: label.to_string(),
            der,
        });
    }
    Ok(out)
}

/// Reads exactly one PEM block in canonical form (as [`pem_encode`] writes
/// it): for certificates embedded in deposit certificates, where every byte
/// must mean something.
pub fn pem_decode_canonical(label: &str, text: &str) -> Result<Vec<u8>, IdentityError> {
    let blocks = pem_decode_all(text)?;
    let [block] = blocks.as_slice() else {
        return Err(IdentityError::Pem(format!(
            "expected exactly one PEM block, found {}",
            blocks.len()
        )));
    };
    if block.label != label {
        return Err(IdentityError::Pem(format!(
            "expected a {label}, found a {}",
            block.label
        )));
    }
    if pem_encode(label, &block.der) != text {
        return Err(IdentityError::Pem(
            "not in canonical form (64-character lines, no other text, one final newline)".into(),
        ));
    }
    Ok(block.der.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_and_canonical_form_is_enforced() {
        let der: Vec<u8> = (0..=200).collect();
        let pem = pem_encode("CERTIFICATE", &der);
        assert_eq!(pem_decode_canonical("CERTIFICATE", &pem).unwrap(), der);
        assert!(pem_decode_canonical("CERTIFICATE", &pem.replace('\n', "\r\n")).is_err());
        assert!(pem_decode_canonical("PRIVATE KEY", &pem).is_err());
        assert!(pem_decode_canonical("CERTIFICATE", &format!("x{pem}")).is_err());
        assert_eq!(
            pem_decode_all(&pem.replace('\n', "\r\n")).unwrap()[0].der,
            der
        );
        assert!(pem_decode_all(&pem.replace("AAE", "AA=")).is_err());
    }
}
