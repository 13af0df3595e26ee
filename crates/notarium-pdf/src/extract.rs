//! Reading the embedded `certificate.json` back out of a certificate PDF.
//!
//! Read-only and defensive: the PDF may come from anyone. Every embedded
//! file is looked up where PDF readers look for it, the document's
//! `/Names/EmbeddedFiles` name tree, and in the catalog's `/AF` array (PDF 2.0
//! associated files). Contract §9: the verifier reads the one embedded file
//! whose own file name (`/UF`, else `/F`) is `certificate.json`. A name-tree
//! key that disagrees with the file's own name, a file whose `/UF` and `/F`
//! disagree, or two such files make the PDF ambiguous, and it is refused: a
//! verifier must not pick one, nor verify what a PDF reader shows under
//! another name.

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

    // Every file specification, with the name-tree key it was found under
    // (None for /AF), each object once.
    let mut entries: Vec<(Option<String>, Option<ObjectId>, &Object)> = Vec::new();
    if let Ok(names) = catalog.get_deref(b"Names", &doc).and_then(Object::as_dict)
        && let Ok(tree) = names
            .get_deref(b"EmbeddedFiles", &doc)
            .and_then(Object::as_dict)
    {
        let mut seen = BTreeSet::new();
        collect_named(&doc, tree, 0, &mut seen, &mut entries)?;
    }
    if let Ok(af) = catalog.get_deref(b"AF", &doc).and_then(Object::as_array) {
        for spec in af {
            if let Ok((id, spec)) = doc.dereference(spec) {
                entries.push((None, id, spec));
            }
        }
    }
    let mut chosen: Vec<(Option<ObjectId>, &Object)> = Vec::new();
    for (key, id, spec) in entries {
        let name = spec.as_dict().ok().map(own_name).transpose()?.flatten();
        let named = name.as_deref() == Some(ATTACHMENT_NAME);
        if let Some(key) = &key
            && (key == ATTACHMENT_NAME || named)
            && name.as_deref() != Some(key.as_str())
        {
            return Err(PdfError::BadAttachment(format!(
                "an embedded file is listed as \"{key}\" but named \"{}\"",
                name.unwrap_or_default()
            )));
        }
        let same = |(i, s): &(Option<ObjectId>, &Object)| match (i, id) {
            (Some(a), Some(b)) => *a == b,
            _ => std::ptr::eq(*s, spec),
        };
        if named && !chosen.iter().any(same) {
            chosen.push((id, spec));
        }
    }
    match chosen.as_slice() {
        [] => Err(PdfError::NoAttachment),
        [(_, spec)] => embedded_file_bytes(&doc, spec),
        _ => Err(PdfError::BadAttachment(format!(
            "the PDF carries {} embedded files named certificate.json",
            chosen.len()
        ))),
    }
}

/// A file specification's own name: `/UF`, else `/F`; both present and
/// different is an ambiguity.
fn own_name(spec: &Dictionary) -> Result<Option<String>, PdfError> {
    let get = |k: &[u8]| spec.get(k).ok().and_then(decode_text);
    match (get(b"UF"), get(b"F")) {
        (Some(uf), Some(f)) if uf != f => Err(PdfError::BadAttachment(format!(
            "an embedded file is named \"{uf}\" (/UF) and \"{f}\" (/F)"
        ))),
        (uf, f) => Ok(uf.or(f)),
    }
}

/// Walks a name tree node, collecting every (key, file specification).
#[allow(clippy::type_complexity)]
fn collect_named<'a>(
    doc: &'a Document,
    node: &'a Dictionary,
    depth: usize,
    seen: &mut BTreeSet<ObjectId>,
    out: &mut Vec<(Option<String>, Option<ObjectId>, &'a Object)>,
) -> Result<(), PdfError> {
    if depth > MAX_NAME_TREE_DEPTH {
        return Err(PdfError::BadAttachment(
            "the embedded files name tree is too deep".into(),
        ));
    }
    if let Ok(names) = node.get_deref(b"Names", doc).and_then(Object::as_array) {
        for pair in names.chunks(2) {
            let [key, value] = pair else { continue };
            if let Ok((_, key)) = doc.dereference(key)
                && let Ok((id, value)) = doc.dereference(value)
            {
                out.push((Some(decode_text(key).unwrap_or_default()), id, value));
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
