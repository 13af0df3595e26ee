//! Hostile PDFs for tests (feature `testkit`): files written byte by byte,
//! the way an attacker writes them, not through a PDF library.

use std::io::Write;

/// A PDF of `objects` (the bodies of objects 1, 2, ...; object 1 is the
/// catalog) with a classic cross-reference table.
pub fn pdf_of(objects: &[Vec<u8>]) -> Vec<u8> {
    let order: Vec<usize> = (0..objects.len()).collect();
    pdf_with_xref(objects, &order)
}

/// Like [`pdf_of`], but entry `k + 1` of the cross-reference table gives
/// the offset of object `xref[k] + 1` (so two entries may share one).
pub fn pdf_with_xref(objects: &[Vec<u8>], xref: &[usize]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let start = out.len();
    let size = xref.len() + 1;
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f\r\n").as_bytes());
    for &k in xref {
        out.extend_from_slice(format!("{:010} 00000 n\r\n", offsets[k]).as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{start}\n%%EOF\n").as_bytes(),
    );
    out
}

/// A stream object's body: `dict` entries, then `content` as it is.
pub fn stream(dict: &str, content: &[u8]) -> Vec<u8> {
    let mut body = format!("<< {dict} /Length {} >>\nstream\n", content.len()).into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(b"\nendstream");
    body
}

/// zlib (FlateDecode) of `len` bytes of `byte`, compressed as it is made.
pub fn deflated(prefix: &[u8], byte: u8, len: usize, suffix: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(prefix).unwrap();
    let chunk = vec![byte; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        z.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    z.write_all(suffix).unwrap();
    z.finish().unwrap()
}

/// The review's finding (issue 19): `streams` object streams, each holding
/// one string of `each` bytes, compressed about a thousand to one (190
/// streams of 15 MB make a 2.9 MB file). A reader that decodes object
/// streams while loading keeps every string.
pub fn object_stream_bomb(streams: usize, each: usize) -> Vec<u8> {
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [] /Count 0 >>".to_vec(),
    ];
    for i in 0..streams {
        // One object, numbered past the file's own, at offset 0.
        let index = format!("{} 0 ", 100_000 + i);
        let content = deflated(format!("{index}(").as_bytes(), b'a', each, b")");
        objects.push(stream(
            &format!(
                "/Type /ObjStm /N 1 /First {} /Filter /FlateDecode",
                index.len()
            ),
            &content,
        ));
    }
    pdf_of(&objects)
}
