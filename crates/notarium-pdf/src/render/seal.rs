//! The notary's seal on the PDF (PAdES baseline B-T, ETSI EN 319 142-1):
//! an invisible signature field whose value is a signature dictionary
//! (`/Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached`). The file is
//! written once with a `/Contents` placeholder; `/ByteRange` then names
//! every byte but the placeholder, those bytes are hashed and signed (CAdES
//! detached, `notarium_timestamp::cades`), optionally timestamped, and the
//! signature is written into the placeholder. The same document gives the
//! same signed bytes and the same signature, so a timestamp token kept from
//! an earlier rendering still fits.

use crate::PdfError;
use lopdf::{Dictionary, Document, Object, StringFormat, text_string};
use notarium_timestamp::cades::{SealSigner, add_signature_timestamp, signature_value};
use sha2::{Digest, Sha256};

/// Bytes reserved for the CMS signature (hex-encoded in the file, so twice
/// that): the signature, the seal certificate and a timestamp token with a
/// TSA chain of a few certificates.
pub const SEAL_CONTENTS_BYTES: usize = 16 * 1024;

/// Ten digits: any offset of a file below 10 GB.
const RANGE_PLACEHOLDER: i64 = 9_999_999_999;

/// Asks a TSA for a token over a SHA-256 digest (the signature value's,
/// RFC 3161 Appendix A) and returns the DER TimeStampToken.
pub type TimestampFn<'a> = dyn Fn(&[u8; 32]) -> Result<Vec<u8>, String> + 'a;

/// The notary's seal: a P-256 key and its certificate.
#[derive(Debug, Clone)]
pub struct Seal {
    signer: SealSigner,
    name: String,
}

impl Seal {
    /// From a PKCS#8 PEM P-256 key and its certificate's PEM.
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<Self, PdfError> {
        let signer = SealSigner::from_pem(key_pem, cert_pem)
            .map_err(|e| PdfError::Template(format!("seal: {e}")))?;
        let info = notarium_core::identity::CertInfo::from_der(signer.certificate_der())
            .map_err(|e| PdfError::Template(format!("seal certificate: {e}")))?;
        let name = info.common_name.unwrap_or(info.subject);
        Ok(Seal { signer, name })
    }

    /// From the key and certificate files.
    pub fn from_files(
        key_file: &std::path::Path,
        cert_file: &std::path::Path,
    ) -> Result<Self, PdfError> {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|e| PdfError::Io {
                path: p.display().to_string(),
                source: e,
            })
        };
        Seal::from_pem(&read(key_file)?, &read(cert_file)?)
    }

    /// The seal certificate's DER.
    pub fn certificate_der(&self) -> &[u8] {
        self.signer.certificate_der()
    }
}

/// Adds the signature field to `doc`, writes it and signs it.
pub(crate) fn seal(
    mut doc: Document,
    date: Object,
    seal: &Seal,
    timestamp: Option<&TimestampFn<'_>>,
) -> Result<Vec<u8>, PdfError> {
    let write = |e: lopdf::Error| PdfError::Write(e.to_string());
    let sig_id = doc.add_object(Dictionary::from_iter([
        ("Type", Object::Name(b"Sig".to_vec())),
        ("Filter", Object::Name(b"Adobe.PPKLite".to_vec())),
        ("SubFilter", Object::Name(b"ETSI.CAdES.detached".to_vec())),
        (
            "ByteRange",
            Object::Array(vec![
                Object::Integer(0),
                Object::Integer(RANGE_PLACEHOLDER),
                Object::Integer(RANGE_PLACEHOLDER),
                Object::Integer(RANGE_PLACEHOLDER),
            ]),
        ),
        (
            "Contents",
            Object::String(vec![0; SEAL_CONTENTS_BYTES], StringFormat::Hexadecimal),
        ),
        ("M", date),
        ("Name", text_string(&seal.name)),
        (
            "Reason",
            text_string("Deposit certificate issued by the notary / 存证证书由公证方签发"),
        ),
    ]));
    let page_id = *doc
        .get_pages()
        .values()
        .next()
        .ok_or_else(|| PdfError::Write("the document has no page".into()))?;
    // An invisible widget (zero-size rectangle: PDF/A needs no appearance
    // for it), printable and locked (PDF/A: the Print flag set, no Hidden,
    // Invisible or NoView).
    let field_id = doc.add_object(Dictionary::from_iter([
        ("FT", Object::Name(b"Sig".to_vec())),
        ("T", text_string("Notarium seal")),
        ("V", Object::Reference(sig_id)),
        ("Type", Object::Name(b"Annot".to_vec())),
        ("Subtype", Object::Name(b"Widget".to_vec())),
        (
            "Rect",
            Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
        ),
        ("F", Object::Integer(132)),
        ("P", Object::Reference(page_id)),
    ]));
    let page = doc
        .get_object_mut(page_id)
        .and_then(Object::as_dict_mut)
        .map_err(write)?;
    match page.get_mut(b"Annots") {
        Ok(Object::Array(annots)) => annots.push(Object::Reference(field_id)),
        _ => page.set("Annots", Object::Array(vec![Object::Reference(field_id)])),
    }
    doc.catalog_mut().map_err(write)?.set(
        "AcroForm",
        Dictionary::from_iter([
            ("Fields", Object::Array(vec![Object::Reference(field_id)])),
            // SignaturesExist | AppendOnly
            ("SigFlags", Object::Integer(3)),
        ]),
    );

    let mut pdf = super::finish::save(&mut doc)?;
    let (range_at, range_len) = find_byte_range(&pdf)?;
    let (start, end) = find_contents(&pdf)?;
    let range = format!("[0 {} {} {}", start, end, pdf.len() - end);
    if range.len() + 1 > range_len {
        return Err(PdfError::Write("the byte range does not fit".into()));
    }
    let mut text = range.into_bytes();
    text.resize(range_len - 1, b' ');
    text.push(b']');
    pdf[range_at..range_at + range_len].copy_from_slice(&text);

    let mut h = Sha256::new();
    h.update(&pdf[..start]);
    h.update(&pdf[end..]);
    let digest: [u8; 32] = h.finalize().into();
    let sign_err = |e: notarium_timestamp::TimestampError| PdfError::Write(format!("seal: {e}"));
    let mut cms = seal.signer.sign_detached(&digest).map_err(sign_err)?;
    if let Some(ask) = timestamp {
        let imprint: [u8; 32] = Sha256::digest(signature_value(&cms).map_err(sign_err)?).into();
        let token =
            ask(&imprint).map_err(|e| PdfError::Write(format!("the seal's timestamp: {e}")))?;
        cms = add_signature_timestamp(&cms, &token).map_err(sign_err)?;
    }
    if cms.len() > SEAL_CONTENTS_BYTES {
        return Err(PdfError::Write(format!(
            "the seal's signature takes {} bytes, more than the {SEAL_CONTENTS_BYTES} reserved",
            cms.len()
        )));
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in cms.iter().enumerate() {
        pdf[start + 1 + 2 * i] = HEX[usize::from(b >> 4)];
        pdf[start + 2 + 2 * i] = HEX[usize::from(b & 15)];
    }
    Ok(pdf)
}

/// The offset and length of the `[...]` of the one `/ByteRange` placeholder.
fn find_byte_range(pdf: &[u8]) -> Result<(usize, usize), PdfError> {
    let key = b"/ByteRange";
    let at = find(pdf, key, 0)
        .ok_or_else(|| PdfError::Write("the byte range placeholder is missing".into()))?;
    let open = at
        + key.len()
        + pdf[at + key.len()..]
            .iter()
            .position(|&b| b == b'[')
            .ok_or_else(|| PdfError::Write("no byte range array".into()))?;
    let close = open
        + pdf[open..]
            .iter()
            .position(|&b| b == b']')
            .ok_or_else(|| PdfError::Write("no byte range array end".into()))?;
    Ok((open, close + 1 - open))
}

/// The offsets of `<` and just after `>` of the `/Contents` placeholder.
fn find_contents(pdf: &[u8]) -> Result<(usize, usize), PdfError> {
    let len = 2 * SEAL_CONTENTS_BYTES + 2;
    let mut from = 0;
    while let Some(at) = pdf[from..]
        .iter()
        .position(|&b| b == b'<')
        .map(|p| p + from)
    {
        let s = pdf.get(at..at + len);
        if let Some(s) = s
            && s[len - 1] == b'>'
            && s[1..len - 1].iter().all(|&b| b == b'0')
        {
            return Ok((at, at + len));
        }
        from = at + 1;
    }
    Err(PdfError::Write(
        "the signature placeholder is missing".into(),
    ))
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}
