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
//!
//! Bounded (issue 19): lopdf parses every object of a file at once and, left
//! alone, decodes every object stream while doing so, so a 3 MB file could
//! take gigabytes. The reader here takes the PDF as the notary writes it (a
//! classic cross-reference table, direct stream lengths, no encryption, no
//! object or cross-reference streams, well-formed) and refuses anything else
//! before it costs much: at most [`MAX_PDF_BYTES`], at most [`MAX_VALUES`]
//! places where a PDF value can begin (which bounds what any one parse
//! allocates), at most [`MAX_OBJECTS`] objects, [`MAX_VALUES`] values and
//! [`MAX_KEPT_BYTES`] bytes kept, each object defined once, and at most
//! [`MAX_LOAD_TIME`] of parsing. Nothing is decompressed but the attachment
//! (at most [`MAX_ATTACHMENT_BYTES`]).

use crate::PdfError;
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

/// The file name under which the certificate JSON is attached.
pub const ATTACHMENT_NAME: &str = "certificate.json";

/// Largest attachment read (the core verifier reads at most 1 MiB).
pub const MAX_ATTACHMENT_BYTES: usize = 1024 * 1024;

/// Largest PDF read (a certificate PDF is a few hundred KB).
pub const MAX_PDF_BYTES: usize = 4 * 1024 * 1024;

/// Most places in the file where a PDF value may begin, and most values
/// kept. A parsed value takes at most about 240 bytes, so no parse of the
/// file allocates more than about 50 MB (a certificate PDF has about 20,000).
pub const MAX_VALUES: usize = 200_000;

/// Most indirect objects (a certificate PDF has a few dozen).
pub const MAX_OBJECTS: usize = 10_000;

/// Most bytes of names, strings and stream contents kept.
pub const MAX_KEPT_BYTES: usize = 8 * 1024 * 1024;

/// Longest the parse may take (a certificate PDF takes a few milliseconds).
pub const MAX_LOAD_TIME: Duration = Duration::from_secs(2);

/// Deepest name tree followed (real ones are two or three levels deep).
const MAX_NAME_TREE_DEPTH: usize = 16;

/// Returns the exact bytes of the file attached as `certificate.json`.
pub fn extract_certificate_json(pdf: &[u8]) -> Result<Vec<u8>, PdfError> {
    let doc = load(pdf)?;
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

/// Why a load was stopped, carried out of lopdf by unwinding.
struct Refused(String);

/// What the objects loaded so far cost.
struct Tally {
    ids: HashSet<ObjectId>,
    values: usize,
    bytes: usize,
    deadline: Instant,
}

thread_local! {
    static TALLY: RefCell<Option<Tally>> = const { RefCell::new(None) };
}

/// Clears the tally however the load ends.
struct Reset;

impl Drop for Reset {
    fn drop(&mut self) {
        TALLY.with(|t| t.borrow_mut().take());
    }
}

/// Parses the PDF within the bounds of the module documentation.
pub(crate) fn load(pdf: &[u8]) -> Result<Document, PdfError> {
    let too = |why: String| PdfError::TooComplex(why);
    if pdf.len() > MAX_PDF_BYTES {
        return Err(too(format!(
            "it is {} bytes, more than {MAX_PDF_BYTES}",
            pdf.len()
        )));
    }
    let starts = value_starts(pdf);
    if starts > MAX_VALUES {
        return Err(too(format!(
            "{starts} places where a value may begin, more than {MAX_VALUES}"
        )));
    }
    // Names are compared decoded (`/#45ncrypt` is `/Encrypt`).
    for (name, why) in [
        (&b"Encrypt"[..], "it is encrypted"),
        (b"XRefStm", "it has a cross-reference stream"),
    ] {
        if has_name(pdf, name) {
            return Err(PdfError::Unsupported(why.into()));
        }
    }
    if has_indirect_length(pdf) {
        return Err(PdfError::Unsupported(
            "a stream's /Length is an indirect reference".into(),
        ));
    }
    let options = lopdf::LoadOptions {
        filter: Some(admit),
        strict: true,
        // Nothing is decoded while loading: object and cross-reference
        // streams are refused, the attachment is decoded afterwards.
        max_decompressed_size: Some(0),
        ..lopdf::LoadOptions::default()
    };
    TALLY.with(|t| {
        *t.borrow_mut() = Some(Tally {
            ids: HashSet::new(),
            values: 0,
            bytes: 0,
            deadline: Instant::now() + MAX_LOAD_TIME,
        })
    });
    let _reset = Reset;
    // lopdf has no way to stop a load from its filter but unwinding; this
    // needs panic = unwind (the default, which the workspace keeps).
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Document::load_mem_with_options(pdf, options)
    })) {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(lopdf::Error::Decompress(_))) => Err(PdfError::Unsupported(
            "it has object or cross-reference streams (compressed objects)".into(),
        )),
        Ok(Err(e)) => Err(PdfError::NotPdf(e.to_string())),
        Err(payload) => match payload.downcast::<Refused>() {
            Ok(r) => Err(too(r.0)),
            Err(_) => Err(PdfError::NotPdf("the PDF parser failed on it".into())),
        },
    }
}

/// lopdf's filter, called with every object it parsed: counts it, keeps
/// it, or stops the load.
fn admit(id: ObjectId, object: &mut Object) -> Option<(ObjectId, Object)> {
    let verdict = TALLY.with(|t| match t.borrow_mut().as_mut() {
        Some(t) => t.admit(id, object),
        None => Ok(()),
    });
    if let Err(why) = verdict {
        std::panic::resume_unwind(Box::new(Refused(why)));
    }
    // lopdf keeps `object` itself; what is returned only says "keep".
    Some((id, Object::Null))
}

impl Tally {
    fn admit(&mut self, id: ObjectId, object: &Object) -> Result<(), String> {
        if !self.ids.insert(id) {
            return Err(format!("object {} {} is defined twice", id.0, id.1));
        }
        if self.ids.len() > MAX_OBJECTS {
            return Err(format!("more than {MAX_OBJECTS} objects"));
        }
        if Instant::now() >= self.deadline {
            return Err(format!("parsing it takes more than {MAX_LOAD_TIME:?}"));
        }
        let mut stack = vec![object];
        while let Some(o) = stack.pop() {
            self.values += 1;
            match o {
                Object::Name(b) | Object::String(b, _) => self.bytes += b.len(),
                Object::Array(a) => stack.extend(a),
                Object::Dictionary(d) => stack.extend(d.iter().map(|(_, v)| v)),
                Object::Stream(s) => {
                    if s.dict.has_type(b"ObjStm") {
                        return Err("it has object streams (compressed objects)".into());
                    }
                    self.bytes += s.content.len();
                    stack.extend(s.dict.iter().map(|(_, v)| v));
                }
                _ => {}
            }
        }
        if self.values > MAX_VALUES {
            return Err(format!("more than {MAX_VALUES} values"));
        }
        if self.bytes > MAX_KEPT_BYTES {
            return Err(format!(
                "more than {MAX_KEPT_BYTES} bytes of strings and streams"
            ));
        }
        Ok(())
    }
}

/// PDF white space and delimiters (ISO 32000-1 §7.2.2).
fn is_separator(b: u8) -> bool {
    matches!(b, 0 | b'\t' | b'\n' | 0x0c | b'\r' | b' ') || b"()<>[]{}/%".contains(&b)
}

/// An upper bound on the values any parse of `pdf` can make: every value
/// begins with one of `[(</+-.`, a digit after a non-digit, or `true`,
/// `false`, `null`.
fn value_starts(pdf: &[u8]) -> usize {
    let mut n = 0;
    for (i, &b) in pdf.iter().enumerate() {
        let rest = &pdf[i..];
        n += usize::from(match b {
            b'[' | b'(' | b'<' | b'/' | b'+' | b'-' | b'.' => true,
            b'0'..=b'9' => i == 0 || !pdf[i - 1].is_ascii_digit(),
            b't' => rest.starts_with(b"true"),
            b'f' => rest.starts_with(b"false"),
            b'n' => rest.starts_with(b"null"),
            _ => false,
        });
    }
    n
}

/// The names of `pdf` (`/` and the regular characters after it), `#xx`
/// escapes decoded.
fn names(pdf: &[u8]) -> impl Iterator<Item = (usize, Vec<u8>)> + '_ {
    pdf.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'/')
        .map(move |(i, _)| {
            let raw = pdf[i + 1..]
                .iter()
                .take_while(|b| !is_separator(**b))
                .copied();
            let raw: Vec<u8> = raw.collect();
            let mut name = Vec::with_capacity(raw.len());
            let mut j = 0;
            while j < raw.len() {
                let hex = raw
                    .get(j + 1..j + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match (raw[j], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
                    (b'#', Some(c)) => {
                        name.push(c);
                        j += 3;
                    }
                    (c, _) => {
                        name.push(c);
                        j += 1;
                    }
                }
            }
            (i + 1 + raw.len(), name)
        })
}

fn has_name(pdf: &[u8], wanted: &[u8]) -> bool {
    names(pdf).any(|(_, n)| n == wanted)
}

/// Whether a `/Length` is followed by `<int> <int> R`: lopdf would read that
/// object (and what it refers to) while parsing the stream, outside the
/// filter's tally.
fn has_indirect_length(pdf: &[u8]) -> bool {
    names(pdf).filter(|(_, n)| n == b"Length").any(|(end, _)| {
        let mut rest = &pdf[end..];
        for _ in 0..2 {
            rest = skip_white(rest);
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return false;
            }
            rest = &rest[digits..];
        }
        skip_white(rest).starts_with(b"R")
    })
}

fn skip_white(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .take_while(|c| matches!(c, 0 | b'\t' | b'\n' | 0x0c | b'\r' | b' '))
        .count();
    &b[n..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{object_stream_bomb, pdf_of, pdf_with_xref, stream};

    fn catalog() -> Vec<u8> {
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()
    }
    fn pages() -> Vec<u8> {
        b"<< /Type /Pages /Kids [] /Count 0 >>".to_vec()
    }

    #[test]
    fn a_plain_pdf_without_attachment_loads() {
        let pdf = pdf_of(&[catalog(), pages()]);
        let err = extract_certificate_json(&pdf).unwrap_err();
        assert!(matches!(err, PdfError::NoAttachment), "{err}");
    }

    /// The review's file, smaller: object streams are refused before any
    /// is decoded.
    #[test]
    fn object_streams_are_refused_undecoded() {
        let err = extract_certificate_json(&object_stream_bomb(8, 15 << 20)).unwrap_err();
        assert!(matches!(err, PdfError::TooComplex(_)), "{err}");
        assert!(err.to_string().contains("object streams"), "{err}");
    }

    #[test]
    fn a_file_that_would_parse_into_too_many_values_is_refused_unparsed() {
        for body in [b"0 ".repeat(MAX_VALUES), b"/".repeat(MAX_VALUES + 1)] {
            let mut array = b"[".to_vec();
            array.extend_from_slice(&body);
            array.push(b']');
            let err = extract_certificate_json(&pdf_of(&[catalog(), pages(), array])).unwrap_err();
            assert!(matches!(err, PdfError::TooComplex(_)), "{err}");
            assert!(
                err.to_string().contains("places where a value may begin"),
                "{err}"
            );
        }
        // A file of plain text far from the limit has few.
        assert_eq!(value_starts(b"abc 12 34.5 [/x (y) <<>>] true null"), 11);
    }

    #[test]
    fn an_object_reached_by_two_entries_is_refused() {
        let big = format!("[{}]", "1 ".repeat(1000)).into_bytes();
        // Entries 3 to 50 all point at object 3.
        let mut xref = vec![0, 1];
        xref.extend(std::iter::repeat_n(2, 48));
        let pdf = pdf_with_xref(&[catalog(), pages(), big], &xref);
        let err = extract_certificate_json(&pdf).unwrap_err();
        assert!(err.to_string().contains("is defined twice"), "{err}");
    }

    #[test]
    fn the_tally_stops_at_its_bounds() {
        let tally = || Tally {
            ids: HashSet::new(),
            values: 0,
            bytes: 0,
            deadline: Instant::now() + MAX_LOAD_TIME,
        };
        let mut t = tally();
        let mb = Object::String(vec![b'x'; 1 << 20], lopdf::StringFormat::Literal);
        let kept = (1..=9)
            .map(|i| t.admit((i, 0), &mb))
            .position(|r| r.is_err());
        assert_eq!(kept, Some(8), "the ninth MiB is refused");
        let mut t = tally();
        let many = Object::Array(vec![Object::Null; MAX_VALUES]);
        assert!(t.admit((1, 0), &many).unwrap_err().contains("values"));
        let mut t = tally();
        assert!((1..=MAX_OBJECTS as u32 + 1).any(|i| t.admit((i, 0), &Object::Null).is_err()));
        let mut t = tally();
        t.deadline = Instant::now();
        assert!(
            t.admit((1, 0), &Object::Null)
                .unwrap_err()
                .contains("takes more than")
        );
    }

    #[test]
    fn encryption_compressed_cross_references_and_indirect_lengths_are_refused() {
        let cases: [(Vec<u8>, &str); 3] = [
            (b"<< /#45ncrypt 9 0 R >>".to_vec(), "encrypted"),
            (b"<< /XRefStm 9 >>".to_vec(), "cross-reference stream"),
            (stream("/Length 7 0 R /X", b"abc"), "indirect reference"),
        ];
        for (body, why) in cases {
            let err = extract_certificate_json(&pdf_of(&[catalog(), pages(), body])).unwrap_err();
            assert!(matches!(err, PdfError::Unsupported(_)), "{err}");
            assert!(err.to_string().contains(why), "{err}");
        }
    }

    #[test]
    fn too_large_is_refused_unread() {
        let mut pdf = pdf_of(&[catalog(), pages()]);
        pdf.resize(MAX_PDF_BYTES + 1, b' ');
        let err = extract_certificate_json(&pdf).unwrap_err();
        assert!(matches!(err, PdfError::TooComplex(_)), "{err}");
    }
}
