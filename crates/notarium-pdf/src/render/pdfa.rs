//! What makes the certificate PDF/A-3b (ISO 19005-3, level B): XMP
//! metadata that says so and repeats the document information, and an
//! output intent with an sRGB ICC profile (the page's colours are
//! DeviceRGB). The fonts are embedded (subset) by printpdf and the
//! `certificate.json` attachment is an associated file (`/AF`,
//! `/AFRelationship /Source`, MIME type `application/json`), in `finish`.

use lopdf::{Dictionary, Document, Object, Stream};

/// The XMP packet (ISO 16684-1) of a PDF/A-3b document with these
/// document information entries. `date` is `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn xmp(
    title: &str,
    author: &str,
    subject: &str,
    keywords: &str,
    producer: &str,
    date: &str,
) -> Vec<u8> {
    let (title, author, subject, keywords, producer) = (
        esc(title),
        esc(author),
        esc(subject),
        esc(keywords),
        esc(producer),
    );
    format!(
        r#"<?xpacket begin="{bom}" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about=""
 xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
<pdfaid:part>3</pdfaid:part>
<pdfaid:conformance>B</pdfaid:conformance>
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{subject}</rdf:li></rdf:Alt></dc:description>
<pdf:Keywords>{keywords}</pdf:Keywords>
<pdf:Producer>{producer}</pdf:Producer>
<xmp:CreatorTool>Notarium</xmp:CreatorTool>
<xmp:CreateDate>{date}</xmp:CreateDate>
<xmp:ModifyDate>{date}</xmp:ModifyDate>
<xmp:MetadataDate>{date}</xmp:MetadataDate>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"#,
        bom = '\u{feff}'
    )
    .into_bytes()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Adds the XMP metadata stream and the sRGB output intent to the catalog.
pub(crate) fn add(doc: &mut Document, xmp: Vec<u8>) -> Result<(), lopdf::Error> {
    let mut meta = Stream::new(
        Dictionary::from_iter([
            ("Type", Object::Name(b"Metadata".to_vec())),
            ("Subtype", Object::Name(b"XML".to_vec())),
        ]),
        xmp,
    );
    // Readable by tools that do not decompress (ISO 19005: XMP unfiltered).
    meta.allows_compression = false;
    let meta_id = doc.add_object(meta);
    let mut icc = Stream::new(
        Dictionary::from_iter([("N", Object::Integer(3))]),
        srgb_icc(),
    );
    icc.allows_compression = true;
    let icc_id = doc.add_object(icc);
    let intent = doc.add_object(Dictionary::from_iter([
        ("Type", Object::Name(b"OutputIntent".to_vec())),
        ("S", Object::Name(b"GTS_PDFA1".to_vec())),
        (
            "OutputConditionIdentifier",
            Object::string_literal("sRGB IEC61966-2.1"),
        ),
        (
            "RegistryName",
            Object::string_literal("http://www.color.org"),
        ),
        ("Info", Object::string_literal("sRGB IEC61966-2.1")),
        ("DestOutputProfile", Object::Reference(icc_id)),
    ]));
    let catalog = doc.catalog_mut()?;
    catalog.set("Metadata", Object::Reference(meta_id));
    catalog.set(
        "OutputIntents",
        Object::Array(vec![Object::Reference(intent)]),
    );
    Ok(())
}

/// A minimal ICC v2 display profile of sRGB (IEC 61966-2-1), made here
/// rather than copied: the sRGB primaries adapted to D50 (Bradford), the
/// D50 white point of the PCS, and the sRGB tone curve sampled at 256
/// points. About 1.2 KB.
pub(crate) fn srgb_icc() -> Vec<u8> {
    fn s15(v: f64) -> [u8; 4] {
        ((v * 65536.0).round() as i32).to_be_bytes()
    }
    fn xyz(x: f64, y: f64, z: f64) -> Vec<u8> {
        let mut t = b"XYZ \0\0\0\0".to_vec();
        for v in [x, y, z] {
            t.extend_from_slice(&s15(v));
        }
        t
    }
    let desc_text = b"sRGB IEC61966-2.1 (Notarium)\0";
    let mut desc = b"desc\0\0\0\0".to_vec();
    desc.extend_from_slice(&(desc_text.len() as u32).to_be_bytes());
    desc.extend_from_slice(desc_text);
    // Unicode language and count, ScriptCode code, count and 67 bytes.
    desc.extend_from_slice(&[0; 4 + 4 + 2 + 1 + 67]);
    let mut cprt = b"text\0\0\0\0".to_vec();
    cprt.extend_from_slice(b"No copyright, use freely\0");
    let mut curve = b"curv\0\0\0\0".to_vec();
    curve.extend_from_slice(&256u32.to_be_bytes());
    for i in 0..256 {
        let v = f64::from(i) / 255.0;
        let lin = if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        };
        curve.extend_from_slice(&((lin * 65535.0).round() as u16).to_be_bytes());
    }
    let tags: Vec<(&[u8; 4], Vec<u8>)> = vec![
        (b"desc", desc),
        (b"cprt", cprt),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
    ];
    // gTRC and bTRC share rTRC's data (ICC.1 §7.3.5 allows shared tags).
    let count = tags.len() + 2;
    let mut table = Vec::new();
    let mut data = Vec::new();
    let base = 128 + 4 + 12 * count;
    let mut trc = (0, 0);
    for (sig, body) in &tags {
        while !data.len().is_multiple_of(4) {
            data.push(0);
        }
        let at = (base + data.len()) as u32;
        table.extend_from_slice(*sig);
        table.extend_from_slice(&at.to_be_bytes());
        table.extend_from_slice(&(body.len() as u32).to_be_bytes());
        if *sig == b"rTRC" {
            trc = (at, body.len() as u32);
        }
        data.extend_from_slice(body);
    }
    for sig in [b"gTRC", b"bTRC"] {
        table.extend_from_slice(sig);
        table.extend_from_slice(&trc.0.to_be_bytes());
        table.extend_from_slice(&trc.1.to_be_bytes());
    }
    while !data.len().is_multiple_of(4) {
        data.push(0);
    }
    let size = (base + data.len()) as u32;
    let mut h = Vec::with_capacity(size as usize);
    h.extend_from_slice(&size.to_be_bytes());
    h.extend_from_slice(&[0; 4]); // CMM
    h.extend_from_slice(&[2, 0x10, 0, 0]); // version 2.1
    h.extend_from_slice(b"mntrRGB XYZ ");
    // 2025-01-01 00:00:00
    for v in [2025u16, 1, 1, 0, 0, 0] {
        h.extend_from_slice(&v.to_be_bytes());
    }
    h.extend_from_slice(b"acsp");
    h.extend_from_slice(&[0; 4 + 4 + 4 + 4 + 8]); // platform, flags, device, attributes
    h.extend_from_slice(&0u32.to_be_bytes()); // perceptual
    h.extend_from_slice(&xyz(0.9642, 1.0, 0.8249)[8..]); // PCS illuminant D50
    h.extend_from_slice(&[0; 4]); // creator
    h.resize(128, 0);
    h.extend_from_slice(&(count as u32).to_be_bytes());
    h.extend_from_slice(&table);
    h.extend_from_slice(&data);
    debug_assert_eq!(h.len(), size as usize);
    h
}

#[cfg(test)]
mod tests {
    #[test]
    fn icc_profile_header() {
        let p = super::srgb_icc();
        assert_eq!(
            u32::from_be_bytes(p[..4].try_into().unwrap()) as usize,
            p.len()
        );
        assert_eq!(&p[36..40], b"acsp");
        assert_eq!(&p[12..24], b"mntrRGB XYZ ");
        assert_eq!(u32::from_be_bytes(p[128..132].try_into().unwrap()), 9);
    }
}
