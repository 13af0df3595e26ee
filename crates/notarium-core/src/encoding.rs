//! Strict encodings: every value has exactly one accepted text form, so a
//! changed byte can never decode to the same value unnoticed.

use crate::error::FormatError;
use crate::merkle::Hash;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
pub use notarium_x509::pem::{PemBlock, pem_decode_all, pem_decode_canonical, pem_encode};

/// Lowercase hex, as the contract requires.
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// Decodes lowercase hex of exactly 32 bytes; uppercase is rejected
/// (formats the notary writes, where each value has one text form).
pub fn parse_hex32(what: &'static str, s: &str) -> Result<[u8; 32], FormatError> {
    decode_hex32(what, s, false)
}

/// Decodes hex of exactly 32 bytes in either case: API input, where
/// clients may send uppercase. Everything the notary writes stays
/// lowercase ([`hex_lower`]).
pub fn parse_hex32_any_case(what: &'static str, s: &str) -> Result<[u8; 32], FormatError> {
    decode_hex32(what, s, true)
}

fn decode_hex32(what: &'static str, s: &str, upper_too: bool) -> Result<[u8; 32], FormatError> {
    let kind = if upper_too { "hex" } else { "lowercase hex" };
    if s.len() != 64 {
        return Err(FormatError::field(
            what,
            format!("expected 64 {kind} characters, found {} characters", s.chars().count()),
        ));
    }
    let digit = |c: char| matches!(c, '0'..='9' | 'a'..='f') || upper_too && matches!(c, 'A'..='F');
    if let Some(c) = s.chars().find(|&c| !digit(c)) {
        return Err(FormatError::field(what, format!("'{c}' is not a {kind} digit")));
    }
    // Every character is a hex digit (checked above, in the chosen case).
    let nibble = |c: u8| (c as char).to_digit(16).expect("checked") as u8;
    let b = s.as_bytes();
    Ok(std::array::from_fn(|i| (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1])))
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard padded base64; non-canonical encodings (stray trailing
/// bits, missing padding, line breaks) are rejected.
pub fn parse_b64(what: &'static str, s: &str) -> Result<Vec<u8>, FormatError> {
    STANDARD.decode(s).map_err(|e| FormatError::field(what, format!("not canonical base64: {e}")))
}

/// Decodes a base64 SHA-256 hash.
pub fn parse_b64_hash(what: &'static str, s: &str) -> Result<Hash, FormatError> {
    let v = parse_b64(what, s)?;
    v.try_into().map_err(|v: Vec<u8>| {
        FormatError::field(what, format!("expected 32 bytes, found {}", v.len()))
    })
}

/// Decimal without leading zeros (`0` itself is allowed), fitting in u64.
pub fn parse_decimal(what: &'static str, s: &str) -> Result<u64, FormatError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FormatError::field(what, format!("\"{s}\" is not a decimal number")));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(FormatError::field(what, format!("\"{s}\" has a leading zero")));
    }
    s.parse().map_err(|_| FormatError::field(what, format!("\"{s}\" is too large")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_only() {
        let h = "00".repeat(31) + "ab";
        assert!(parse_hex32("x", &h).is_ok());
        assert!(parse_hex32("x", &h.to_uppercase()).is_err());
        assert!(parse_hex32("x", &h[1..]).is_err());
    }

    #[test]
    fn hex_round_trips_and_names_the_bad_character() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37));
        let text = hex_lower(&bytes);
        assert_eq!(text, hex::encode(bytes), "the hex crate agrees");
        assert_eq!(parse_hex32("x", &text).unwrap(), bytes);
        assert_eq!(parse_hex32_any_case("x", &text.to_uppercase()).unwrap(), bytes);
        let e = parse_hex32("x", &text.to_uppercase()).unwrap_err().to_string();
        assert!(e.contains("is not a lowercase hex digit"), "{e}");
        let bad = format!("{}g{}", &text[..10], &text[11..]);
        let e = parse_hex32_any_case("x", &bad).unwrap_err().to_string();
        assert!(e.contains("'g' is not a hex digit"), "{e}");
        // A multi-byte character of the right byte length.
        let bad = format!("{}é{}", &text[..10], &text[12..]);
        let e = parse_hex32_any_case("x", &bad).unwrap_err().to_string();
        assert!(e.contains("'é' is not a hex digit"), "{e}");
        assert!(parse_hex32_any_case("x", &text[2..]).is_err());
    }

    #[test]
    fn base64_rejects_non_canonical_trailing_bits() {
        assert_eq!(parse_b64("x", "AA==").unwrap(), vec![0]);
        assert!(parse_b64("x", "AB==").is_err());
        assert!(parse_b64("x", "AA").is_err());
    }

    #[test]
    fn decimals_have_one_form() {
        assert_eq!(parse_decimal("x", "0").unwrap(), 0);
        assert_eq!(parse_decimal("x", "120").unwrap(), 120);
        for bad in ["", "01", "+1", "-1", "1 ", "18446744073709551616"] {
            assert!(parse_decimal("x", bad).is_err(), "{bad:?}");
        }
    }
}
