//! Reading the embedded `certificate.json` back out of a certificate PDF.
//!
//! Read-only and defensive: the PDF may come from anyone. The attachment is
//! looked up where PDF readers look for it, the document's
//! `/Names/EmbeddedFiles` name tree, and in the catalog's `/AF` array (PDF 2.0
//! associated files). If these lead to different contents under the same
//! name, the PDF is ambiguous and refused: a verifier must not pick one.

use crate::PdfError;
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::BTreeSet;

/// The file name under which the certificate JSON is attached.
pub const ATTACHMENT_NAME: &str = "certificate.json";

/// Largest attachment read (the core verifier reads at most 1 MiB).
pub const MAX_ATTACHMENT_BYTES: usize = 1024 * 1024;

/// Deepest name tree followed (real ones are two or three levels deep).
const MAX_NAME_TREE_DEPTH: usize = 16;

/// Returns the exact bytes of the file attached as `certificate.json`.
pub fn extract_certificate_json(pdf: &[u8]) -> Result<Vec<u8>, PdfError> {
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(16 * 1024 * 1024),
        ..lopdf::LoadOptions::default()
    };
    let doc = Document::load_mem_with_options(pdf, options)
        .map_err(|e| PdfError::NotPdf(e.to_string()))?;
    let catalog = doc
        .catalog()
        .map_err(|e| PdfError::NotPdf(format!("no document catalog: {e}")))?;

    let mut filespecs: Vec<&Object> = Vec::new();
    if let Ok(names) = catalog.get_deref(b"Names", &doc).and_then(Object::as_dict)
        && let Ok(tree) = names
            .get_deref(b"EmbeddedFiles", &doc)
            .and_then(Object::as_dict)
    {
        let mut seen = BTreeSet::new();
        collect_named(&doc, tree, 0, &mut seen, &mut filespecs)?;
    }
    if let Ok(af) = catalog.get_deref(b"AF", &doc).and_then(Object::as_array) {
        for spec in af {
            let Ok((_, spec)) = doc.dereference(spec) else {
                continue;
            };
            if let Ok(d) = spec.as_dict()
                && filespec_names(d).iter().any(|n| n == ATTACHMENT_NAME)
            {
                filespecs.push(spec);
            }
        }
    }

    let mut found: Option<Vec<u8>> = None;
    for spec in filespecs {
        let bytes = embedded_file_bytes(&doc, spec)?;
        match &found {
            Some(prev) if *prev != bytes => {
                return Err(PdfError::BadAttachment(
                    "the PDF carries more than one certificate.json, with different contents"
                        .into(),
                ));
            }
            Some(_) => {}
            None => found = Some(bytes),
        }
    }
    found.ok_or(PdfError::NoAttachment)
}

/// Walks a name tree node, collecting the values named `certificate.json`.
fn collect_named<'a>(
    doc: &'a Document,
    node: &'a Dictionary,
    depth: usize,
    seen: &mut BTreeSet<ObjectId>,
    out: &mut Vec<&'a Object>,
) -> Result<(), PdfError> {
    if depth > MAX_NAME_TREE_DEPTH {
        return Err(PdfError::BadAttachment(
            "the embedded files name tree is too deep".into(),
        ));
    }
    if let Ok(names) = node.get_deref(b"Names", doc).and_then(Object::as_array) {
        for pair in names.chunks(2) {
            let [key, value] = pair else { continue };
            let Ok((_, key)) = doc.dereference(key) else {
                continue;
            };
            if decode_text(key).as_deref() == Some(ATTACHMENT_NAME)
                && let Ok((_, value)) = doc.dereference(value)
            {
                out.push(value);
            }
        }
    }
    if let Ok(kids) = node.get_deref(b"Kids", doc).and_then(Object::as_array) {
        for kid in kids {
            if let Object::Reference(id) = kid
                && !seen.insert(*id)
            {
                continue; // a cycle
            }
            if let Ok((_, kid)) = doc.dereference(kid)
                && let Ok(kid) = kid.as_dict()
            {
                collect_named(doc, kid, depth + 1, seen, out)?;
            }
        }
    }
    Ok(())
}

/// The file names a file specification dictionary gives (/UF, /F).
fn filespec_names(spec: &Dictionary) -> Vec<String> {
    [b"UF".as_slice(), b"F".as_slice()]
        .iter()
        .filter_map(|k| spec.get(k).ok().and_then(decode_text))
        .collect()
}

fn decode_text(obj: &Object) -> Option<String> {
    lopdf::decode_text_string(obj).ok()
}

/// The content of the embedded file stream of a file specification.
fn embedded_file_bytes(doc: &Document, spec: &Object) -> Result<Vec<u8>, PdfError> {
    let bad = |why: &str| PdfError::BadAttachment(why.to_string());
    let spec = spec
        .as_dict()
        .map_err(|_| bad("its file specification is not a dictionary"))?;
    let ef = spec
        .get_deref(b"EF", doc)
        .and_then(Object::as_dict)
        .map_err(|_| bad("its file specification has no /EF (embedded file) entry"))?;
    let stream_obj = ef
        .get_deref(b"UF", doc)
        .or_else(|_| ef.get_deref(b"F", doc))
        .map_err(|_| bad("its /EF dictionary names no embedded file stream"))?;
    let stream = stream_obj
        .as_stream()
        .map_err(|_| bad("its embedded file is not a stream"))?;
    let bytes = stream
        .decompressed_content_with_limit(MAX_ATTACHMENT_BYTES)
        .map_err(|e| {
            PdfError::BadAttachment(format!(
                "its embedded file stream cannot be decoded (or is larger than {MAX_ATTACHMENT_BYTES} bytes): {e}"
            ))
        })?;
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(PdfError::BadAttachment(format!(
            "it is {} bytes, more than {MAX_ATTACHMENT_BYTES}",
            bytes.len()
        )));
    }
    Ok(bytes)
}
