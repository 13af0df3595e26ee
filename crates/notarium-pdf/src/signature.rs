//! Reading the notary's seal (a PAdES signature) back out of a PDF: where
//! it is, what bytes it covers and the CMS signature it carries. Checking
//! the signature is the caller's (`notarium_timestamp::cades`); this module
//! only finds it, with the bounds of [`crate::extract_certificate_json`],
//! and refuses a byte range that leaves any byte of the file unsigned but
//! the signature itself.

use crate::PdfError;
use crate::extract::load;
use lopdf::{Dictionary, Object};

/// The one signature of a PDF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdfSignature {
    /// `/SubFilter`, e.g. `ETSI.CAdES.detached`.
    pub sub_filter: String,
    /// `/ByteRange`: `[0, a, b, len - b]`, everything but `/Contents`.
    pub byte_range: [usize; 4],
    /// The DER CMS signature (the `/Contents` without its zero padding).
    pub cms: Vec<u8>,
    /// `/M`, the signing time the signer claims (PDF date text), if any.
    pub signing_time: Option<String>,
}

impl PdfSignature {
    /// The signed bytes of `pdf`: the two ranges of `/ByteRange`.
    pub fn signed_parts<'a>(&self, pdf: &'a [u8]) -> [&'a [u8]; 2] {
        let [a, b, c, d] = self.byte_range;
        [&pdf[a..a + b], &pdf[c..c + d]]
    }
}

/// The PDF's signature: `Ok(None)` if it has no signature field with a
/// value, an error if the PDF cannot be read, has more than one signature,
/// or its signature is malformed (a byte range that is not the whole file
/// but the `/Contents` string, a `/Contents` that is not DER).
pub fn pdf_signature(pdf: &[u8]) -> Result<Option<PdfSignature>, PdfError> {
    let doc = load(pdf)?;
    let bad = |why: &str| PdfError::BadSignature(why.to_string());
    let catalog = doc
        .catalog()
        .map_err(|e| PdfError::NotPdf(format!("no document catalog: {e}")))?;
    let Ok(form) = catalog
        .get_deref(b"AcroForm", &doc)
        .and_then(Object::as_dict)
    else {
        return Ok(None);
    };
    let fields = form
        .get_deref(b"Fields", &doc)
        .and_then(Object::as_array)
        .map_err(|_| bad("the form has no field array"))?;
    let mut sigs: Vec<&Dictionary> = Vec::new();
    for field in fields.iter().take(64) {
        let Ok(field) = doc.dereference(field).and_then(|(_, o)| o.as_dict()) else {
            continue;
        };
        if field.get(b"FT").and_then(Object::as_name).ok() != Some(b"Sig".as_slice()) {
            continue;
        }
        if let Ok(v) = field.get_deref(b"V", &doc).and_then(Object::as_dict) {
            sigs.push(v);
        }
    }
    let sig = match sigs.as_slice() {
        [] => return Ok(None),
        [s] => *s,
        _ => return Err(bad("the PDF carries more than one signature")),
    };
    let name = |k: &[u8]| {
        sig.get(k)
            .and_then(Object::as_name)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .ok()
    };
    let sub_filter = name(b"SubFilter").ok_or_else(|| bad("the signature has no /SubFilter"))?;
    let range = sig
        .get_deref(b"ByteRange", &doc)
        .and_then(Object::as_array)
        .map_err(|_| bad("the signature has no /ByteRange"))?;
    let range: Vec<usize> = range
        .iter()
        .map(|o| o.as_i64().ok().and_then(|i| usize::try_from(i).ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("the /ByteRange is not four offsets"))?;
    let [a, b, c, d] =
        <[usize; 4]>::try_from(range).map_err(|_| bad("the /ByteRange is not four offsets"))?;
    // SPEC: ISO 32000-1 §12.8.1 and ETSI EN 319 142-1 §6.3: the byte range
    // covers the whole file except the /Contents value, delimiters included.
    if a != 0 || b >= c || c.checked_add(d) != Some(pdf.len()) || c - b < 2 {
        return Err(bad(
            "the /ByteRange does not cover the whole file but the signature",
        ));
    }
    let gap = &pdf[b..c];
    if gap[0] != b'<' || gap[gap.len() - 1] != b'>' {
        return Err(bad("the /ByteRange gap is not the /Contents hex string"));
    }
    let hex = &gap[1..gap.len() - 1];
    if !hex.len().is_multiple_of(2) {
        return Err(bad("the /Contents hex string has an odd length"));
    }
    let nibble = |x: u8| (x as char).to_digit(16).map(|v| v as u8);
    let mut contents = Vec::with_capacity(hex.len() / 2);
    for pair in hex.chunks(2) {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(h), Some(l)) => contents.push(h << 4 | l),
            _ => return Err(bad("the /Contents is not a hex string")),
        }
    }
    let parsed = sig
        .get(b"Contents")
        .and_then(Object::as_str)
        .map_err(|_| bad("the signature has no /Contents"))?;
    if parsed != contents.as_slice() {
        return Err(bad("the /ByteRange gap is not the signature's /Contents"));
    }
    let len = der_length(&contents).ok_or_else(|| bad("the /Contents is not DER"))?;
    if contents[len..].iter().any(|&x| x != 0) {
        return Err(bad(
            "bytes other than padding follow the signature in /Contents",
        ));
    }
    contents.truncate(len);
    let signing_time = sig
        .get(b"M")
        .and_then(Object::as_str)
        .ok()
        .map(|s| String::from_utf8_lossy(s).into_owned());
    Ok(Some(PdfSignature {
        sub_filter,
        byte_range: [a, b, c, d],
        cms: contents,
        signing_time,
    }))
}

/// The length of the DER SEQUENCE at the start of `der`, header included.
fn der_length(der: &[u8]) -> Option<usize> {
    if der.first() != Some(&0x30) {
        return None;
    }
    let first = *der.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = len << 8 | usize::from(*der.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let total = header.checked_add(len)?;
    (total <= der.len()).then_some(total)
}
