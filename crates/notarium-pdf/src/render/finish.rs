//! After printpdf has laid out the page: the `certificate.json` attachment,
//! the document information and a deterministic file identifier (lopdf).

use crate::{ATTACHMENT_NAME, PdfError};
use lopdf::{Dictionary, Document, Object, Stream, StringFormat, text_string};
use sha2::{Digest, Sha256};

/// The document information dictionary's entries.
pub(crate) struct DocInfo {
    pub title: String,
    pub subject: String,
    pub author: String,
    pub keywords: String,
    /// Unix seconds: the certificate's witnessed time (contract §9; or its
    /// received time), never the wall clock.
    pub date: u64,
}

/// The PDF written out (classic cross-reference table, no object streams).
pub(crate) fn save(doc: &mut Document) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::with_capacity(128 * 1024);
    doc.save_to(&mut out)
        .map_err(|e| PdfError::Write(e.to_string()))?;
    Ok(out)
}

/// Adds the attachment and metadata to the PDF printpdf wrote (the
/// document, written by [`save`], or sealed first).
pub(crate) fn finish_doc(
    page_pdf: &[u8],
    json: &[u8],
    info: &DocInfo,
) -> Result<Document, PdfError> {
    let write = |e: lopdf::Error| PdfError::Write(e.to_string());
    let mut doc = Document::load_mem(page_pdf).map_err(write)?;
    // Associated files (/AF, /AFRelationship) are PDF 2.0; PDF 1.7 readers
    // ignore them and use the /EmbeddedFiles name tree (PDF 1.3+).
    doc.version = "1.7".to_string();
    let date = Object::String(pdf_date(info.date).into_bytes(), StringFormat::Literal);
    tag_font_subsets(&mut doc, json);
    compress_streams(&mut doc)?;

    let mut file = Stream::new(
        Dictionary::from_iter([
            ("Type", Object::Name(b"EmbeddedFile".to_vec())),
            ("Subtype", Object::Name(b"application/json".to_vec())),
            (
                "Params",
                Object::Dictionary(Dictionary::from_iter([
                    ("Size", Object::Integer(json.len() as i64)),
                    ("CreationDate", date.clone()),
                    ("ModDate", date.clone()),
                ])),
            ),
        ]),
        json.to_vec(),
    );
    // Stored as is: the JSON stays readable in the file and byte-identical.
    file.allows_compression = false;
    let file_id = doc.add_object(file);
    let spec_id = doc.add_object(Dictionary::from_iter([
        ("Type", Object::Name(b"Filespec".to_vec())),
        ("F", Object::string_literal(ATTACHMENT_NAME)),
        ("UF", text_string(ATTACHMENT_NAME)),
        (
            "Desc",
            text_string("Notarium deposit certificate (notarium/certificate/v1): the data this page shows; verify it with notarium-verify"),
        ),
        ("AFRelationship", Object::Name(b"Source".to_vec())),
        (
            "EF",
            Object::Dictionary(Dictionary::from_iter([
                ("F", Object::Reference(file_id)),
                ("UF", Object::Reference(file_id)),
            ])),
        ),
    ]));

    let catalog = doc.catalog_mut().map_err(write)?;
    catalog.set(
        "Names",
        Dictionary::from_iter([(
            "EmbeddedFiles",
            Object::Dictionary(Dictionary::from_iter([(
                "Names",
                Object::Array(vec![
                    Object::string_literal(ATTACHMENT_NAME),
                    Object::Reference(spec_id),
                ]),
            )])),
        )]),
    );
    catalog.set("AF", Object::Array(vec![Object::Reference(spec_id)]));
    catalog.set(
        "ViewerPreferences",
        Dictionary::from_iter([("DisplayDocTitle", Object::Boolean(true))]),
    );
    catalog.set("Lang", Object::string_literal("zh-CN"));

    let producer = concat!("notarium-pdf ", env!("CARGO_PKG_VERSION"));
    let xmp_date = {
        let d = pdf_date(info.date);
        format!(
            "{}-{}-{}T{}:{}:{}Z",
            &d[2..6],
            &d[6..8],
            &d[8..10],
            &d[10..12],
            &d[12..14],
            &d[14..16]
        )
    };
    super::pdfa::add(
        &mut doc,
        super::pdfa::xmp(
            &info.title,
            &info.author,
            &info.subject,
            &info.keywords,
            producer,
            &xmp_date,
        ),
    )
    .map_err(write)?;
    let info_dict = Dictionary::from_iter([
        ("Title", text_string(&info.title)),
        ("Subject", text_string(&info.subject)),
        ("Author", text_string(&info.author)),
        ("Keywords", text_string(&info.keywords)),
        ("Creator", text_string("Notarium")),
        (
            "Producer",
            text_string(concat!("notarium-pdf ", env!("CARGO_PKG_VERSION"))),
        ),
        ("CreationDate", date.clone()),
        ("ModDate", date),
    ]);
    match doc.trailer.get(b"Info").and_then(Object::as_reference) {
        Ok(id) => {
            doc.objects.insert(id, Object::Dictionary(info_dict));
        }
        Err(_) => {
            let id = doc.add_object(info_dict);
            doc.trailer.set("Info", Object::Reference(id));
        }
    }

    // The file identifier is derived from what the file says, so the same
    // certificate gives the same bytes (printpdf writes random ones).
    let mut h = Sha256::new();
    h.update(b"notarium-pdf/id/v1\n");
    h.update(file_id_input(info));
    h.update(json);
    let id = h.finalize()[..16].to_vec();
    doc.trailer.set(
        "ID",
        Object::Array(vec![
            Object::String(id.clone(), StringFormat::Hexadecimal),
            Object::String(id, StringFormat::Hexadecimal),
        ]),
    );
    Ok(doc)
}

/// zlib level for the page's streams: measured on a certificate, level 9
/// took half the rendering time; level 3 is ~3x faster than 6 for 5% more
/// bytes on the font subset.
const COMPRESSION_LEVEL: u32 = 3;

/// Flate-compresses the page's streams that have no filter yet.
fn compress_streams(doc: &mut Document) -> Result<(), PdfError> {
    use std::io::Write;
    for object in doc.objects.values_mut() {
        let Object::Stream(stream) = object else {
            continue;
        };
        if !stream.allows_compression || stream.dict.has(b"Filter") {
            continue;
        }
        let mut z = flate2::write::ZlibEncoder::new(
            Vec::with_capacity(stream.content.len() / 2),
            flate2::Compression::new(COMPRESSION_LEVEL),
        );
        z.write_all(&stream.content)
            .map_err(|e| PdfError::Write(e.to_string()))?;
        let compressed = z.finish().map_err(|e| PdfError::Write(e.to_string()))?;
        if compressed.len() + 20 < stream.content.len() {
            stream
                .dict
                .set("Filter", Object::Name(b"FlateDecode".to_vec()));
            stream.set_content(compressed);
        }
    }
    Ok(())
}

/// printpdf names its subset fonts `F1+Name`; PDF readers recognise a
/// subset by a tag of six capital letters (ISO 32000-1 §9.6.4). Give it one,
/// derived from the certificate so that the output stays deterministic
/// (printpdf's own output is not: it carries a random file identifier).
fn tag_font_subsets(doc: &mut Document, json: &[u8]) {
    let digest = Sha256::digest(json);
    let tag: Vec<u8> = digest[..6].iter().map(|b| b'A' + b % 26).collect();
    for object in doc.objects.values_mut() {
        let dict = match object {
            Object::Dictionary(d) => d,
            Object::Stream(s) => &mut s.dict,
            _ => continue,
        };
        for key in [b"BaseFont".as_slice(), b"FontName".as_slice()] {
            let Ok(Object::Name(name)) = dict.get_mut(key) else {
                continue;
            };
            let Some(plus) = name.iter().position(|&b| b == b'+') else {
                continue;
            };
            let prefix = &name[..plus];
            if prefix.len() == 6 && prefix.iter().all(u8::is_ascii_uppercase) {
                continue;
            }
            let mut tagged = tag.clone();
            tagged.extend_from_slice(&name[plus..]);
            *name = tagged;
        }
    }
}

fn file_id_input(info: &DocInfo) -> Vec<u8> {
    format!("{}\n{}\n{}\n", info.title, info.subject, info.author).into_bytes()
}

/// `D:YYYYMMDDHHmmSSZ` (PDF date, UTC).
pub(crate) fn pdf_date(unix_seconds: u64) -> String {
    let text = notarium_core::time::UtcMillis::from_unix_seconds(unix_seconds)
        .map(|t| t.to_text())
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into());
    let digits: String = text[..19].chars().filter(char::is_ascii_digit).collect();
    format!("D:{digits}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates() {
        assert_eq!(pdf_date(1_795_932_002), "D:20261129060002Z");
        assert_eq!(pdf_date(0), "D:19700101000000Z");
    }
}
