//! The PDF certificate end to end: a real certificate signed with the
//! development keys, rendered, read back, tampered with.
//!
//! The visible-text and pdfdetach checks run poppler-utils (`pdftotext`,
//! `pdfdetach`); they fail, never skip, when it is missing.
#![cfg(feature = "render")]

mod common;

use common::*;
use notarium_pdf::{
    PdfError, RenderOptions, Renderer, TemplateSource, extract_certificate_json, render,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// One certificate with metadata for all tests (signing is randomised, so
/// each build of it differs).
fn cert() -> &'static [u8] {
    static CERT: OnceLock<Vec<u8>> = OnceLock::new();
    CERT.get_or_init(|| certificate(3))
}

fn options() -> RenderOptions {
    RenderOptions::new(VERIFY_URL, CERT_ID, verifier())
}

fn rendered() -> &'static [u8] {
    static PDF: OnceLock<Vec<u8>> = OnceLock::new();
    PDF.get_or_init(|| render(cert(), &options()).unwrap())
}

/// A scratch directory, removed when dropped.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("notarium-pdf-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// Runs a poppler-utils tool; panics with a clear message when it is missing.
fn poppler(tool: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "cannot run `{tool}` ({e}): these tests need poppler-utils \
             (Debian: apt-get install poppler-utils)"
        )
    });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn pdftotext(pdf: &[u8], name: &str) -> String {
    let dir = temp_dir(name);
    let path = dir.join("certificate.pdf");
    std::fs::write(&path, pdf).unwrap();
    let text = poppler("pdftotext", &["-layout", path.to_str().unwrap(), "-"]);
    String::from_utf8(text).unwrap()
}

#[test]
fn the_certificate_verifies_with_the_development_pki() {
    let report = verifier().verify_certificate(cert(), Some(&digest(3)));
    assert!(report.valid, "{:#?}", report.first_failure());
    assert_eq!(report.witnesses.len(), 2);
}

#[test]
fn renders_one_small_a4_page() {
    let pdf = rendered();
    assert!(pdf.starts_with(b"%PDF-1.7\n"));
    assert!(pdf.len() < 300 * 1024, "{} bytes", pdf.len());
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let pages = doc.get_pages();
    assert_eq!(pages.len(), 1);
    let page = doc.get_dictionary(pages[&1]).unwrap();
    let mediabox: Vec<f32> = page
        .get(b"MediaBox")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_float().unwrap())
        .collect();
    assert!(
        (mediabox[2] - 595.28).abs() < 0.5 && (mediabox[3] - 841.89).abs() < 0.5,
        "{mediabox:?}"
    );
}

#[test]
fn the_attachment_is_the_json_byte_for_byte() {
    let pdf = rendered();
    assert_eq!(extract_certificate_json(pdf).unwrap(), cert());

    // And it is where PDF readers look: the EmbeddedFiles name tree and the
    // catalog's associated files, with a Filespec naming it.
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let catalog = doc.catalog().unwrap();
    let names = catalog
        .get_deref(b"Names", &doc)
        .unwrap()
        .as_dict()
        .unwrap();
    let tree = names
        .get_deref(b"EmbeddedFiles", &doc)
        .unwrap()
        .as_dict()
        .unwrap();
    let pairs = tree.get(b"Names").unwrap().as_array().unwrap();
    assert_eq!(pairs.len(), 2);
    assert_eq!(pairs[0].as_str().unwrap(), b"certificate.json");
    let spec = doc.dereference(&pairs[1]).unwrap().1.as_dict().unwrap();
    assert_eq!(spec.get(b"Type").unwrap().as_name().unwrap(), b"Filespec");
    assert_eq!(
        spec.get(b"AFRelationship").unwrap().as_name().unwrap(),
        b"Source"
    );
    let ef = spec.get(b"EF").unwrap().as_dict().unwrap();
    let file = doc
        .dereference(ef.get(b"F").unwrap())
        .unwrap()
        .1
        .as_stream()
        .unwrap();
    assert_eq!(
        file.dict.get(b"Subtype").unwrap().as_name().unwrap(),
        b"application/json"
    );
    assert_eq!(file.content, cert());
    let af = catalog.get(b"AF").unwrap().as_array().unwrap();
    assert_eq!(af[0], pairs[1]);
}

#[test]
fn pdfdetach_lists_and_extracts_it() {
    let dir = temp_dir("detach");
    let path = dir.join("certificate.pdf");
    std::fs::write(&path, rendered()).unwrap();
    let list = String::from_utf8(poppler("pdfdetach", &["-list", path.to_str().unwrap()])).unwrap();
    assert!(
        list.contains("1 embedded files") && list.contains("1: certificate.json"),
        "{list}"
    );
    let out = dir.join("out.json");
    poppler(
        "pdfdetach",
        &[
            "-save",
            "1",
            "-o",
            out.to_str().unwrap(),
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read(&out).unwrap(), cert());
}

#[test]
fn the_page_shows_the_facts() {
    let text = pdftotext(rendered(), "text");
    let report = verifier().verify_certificate(cert(), None);
    let log = report.log.as_ref().unwrap();
    for needle in [
        "电子数据存证证书",
        "Electronic Evidence Deposit Certificate",
        CERT_ID,
        &digest_hex(3),
        SUBMITTER,
        "2026-11-29T05:59:53.123Z", // received
        "2026-11-29T06:00:02Z",     // court
        "2026-11-29T06:00:03Z",     // arbitration
        COURT,
        ARBITRATION,
        "法院",
        "仲裁机构",
        "供货合同-签署版.pdf",
        "(2026)京0105民初1234号",
        "48,213",
        "application/pdf",
        ORIGIN,
        &log.root_hash,
        "notarium-verify certificate.pdf --trust root.pem",
        "https://notary.example/verify?id=NT-2026-000123&",
    ] {
        assert!(
            text.contains(needle),
            "the page does not show {needle:?}:\n{text}"
        );
    }
    // Index and tree size are on their rows.
    assert!(
        text.lines()
            .any(|l| l.contains("Entry index") && l.trim_end().ends_with(" 3")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("Tree size") && l.trim_end().ends_with(" 5")),
        "{text}"
    );
}

#[test]
fn metadata_comes_from_the_certificate_not_the_clock() {
    let doc = lopdf::Document::load_mem(rendered()).unwrap();
    let info = doc
        .trailer
        .get_deref(b"Info", &doc)
        .unwrap()
        .as_dict()
        .unwrap();
    let text = |k: &[u8]| lopdf::decode_text_string(info.get(k).unwrap()).unwrap();
    assert_eq!(
        text(b"Title"),
        "电子数据存证证书 Electronic Evidence Deposit Certificate"
    );
    assert!(text(b"Subject").contains(&digest_hex(3)));
    assert!(text(b"Subject").contains(CERT_ID));
    // The witnessed time (contract §9): the arbitration witness's T0 + 3,
    // when the policy was first met.
    assert_eq!(text(b"CreationDate"), "D:20261129060003Z");
    assert_eq!(text(b"ModDate"), "D:20261129060003Z");
}

#[test]
fn rendering_is_deterministic() {
    let a = rendered();
    let b = render(cert(), &options()).unwrap();
    assert!(
        a == b.as_slice(),
        "two renderings of one certificate differ"
    );
    // A separately loaded renderer, on another thread, gives the same bytes.
    let c = std::thread::spawn(|| {
        Renderer::new(&TemplateSource::Builtin)
            .unwrap()
            .render(cert(), CERT_ID, VERIFY_URL, &verifier())
            .unwrap()
    })
    .join()
    .unwrap();
    assert!(a == c.as_slice(), "a second renderer gives other bytes");
    // Different inputs, different files.
    let d = render(
        cert(),
        &RenderOptions {
            certificate_id: "NT-2026-000124".into(),
            ..options()
        },
    )
    .unwrap();
    assert!(a != d.as_slice());
}

#[test]
fn an_altered_attachment_is_rejected_by_the_verifier() {
    let pdf = rendered();
    // Patch the submitter inside the embedded JSON, same length, so the file
    // stays a well-formed PDF: what a forger editing bytes would do.
    let needle = b"\"submitter\": \"acme-trading\"";
    let at = pdf
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the JSON is stored uncompressed");
    let mut forged = pdf.to_vec();
    forged[at + needle.len() - 2] = b'h'; // acme-tradinh
    let json = extract_certificate_json(&forged).unwrap();
    assert_ne!(json, cert());
    let report = verifier().verify_certificate(&json, None);
    assert!(!report.valid);
    assert_eq!(report.first_failure().unwrap().id.as_str(), "entry");

    // Replacing the attachment with lopdf: a certificate for other evidence.
    let mut doc = lopdf::Document::load_mem(pdf).unwrap();
    let other = String::from_utf8(cert().to_vec())
        .unwrap()
        .replace(&digest_hex(3), &digest_hex(4));
    for object in doc.objects.values_mut() {
        if let lopdf::Object::Stream(s) = object
            && s.content == cert()
        {
            s.set_content(other.clone().into_bytes());
        }
    }
    let mut resaved = Vec::new();
    doc.save_to(&mut resaved).unwrap();
    let json = extract_certificate_json(&resaved).unwrap();
    assert_eq!(json, other.as_bytes());
    assert!(!verifier().verify_certificate(&json, None).valid);
}

#[test]
fn a_pdf_without_the_attachment_is_a_clear_error() {
    let mut doc = lopdf::Document::load_mem(rendered()).unwrap();
    let catalog = doc.catalog_mut().unwrap();
    catalog.remove(b"Names");
    catalog.remove(b"AF");
    let mut stripped = Vec::new();
    doc.save_to(&mut stripped).unwrap();
    let err = extract_certificate_json(&stripped).unwrap_err();
    assert!(matches!(err, PdfError::NoAttachment), "{err:?}");
    assert_eq!(
        err.to_string(),
        "this PDF has no certificate.json attachment"
    );

    let err = extract_certificate_json(b"{\"format\": \"notarium/certificate/v1\"}").unwrap_err();
    assert!(matches!(err, PdfError::NotPdf(_)), "{err:?}");
}

#[test]
fn two_different_attachments_are_refused() {
    // A second certificate.json, reachable through /AF only, with other bytes.
    let mut doc = lopdf::Document::load_mem(rendered()).unwrap();
    let file = doc.add_object(lopdf::Stream::new(lopdf::Dictionary::new(), b"{}".to_vec()));
    let spec = doc.add_object(lopdf::Dictionary::from_iter([
        ("Type", lopdf::Object::Name(b"Filespec".to_vec())),
        ("F", lopdf::Object::string_literal("certificate.json")),
        (
            "EF",
            lopdf::Object::Dictionary(lopdf::Dictionary::from_iter([(
                "F",
                lopdf::Object::Reference(file),
            )])),
        ),
    ]));
    doc.catalog_mut()
        .unwrap()
        .get_mut(b"AF")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push(lopdf::Object::Reference(spec));
    let mut two = Vec::new();
    doc.save_to(&mut two).unwrap();
    let err = extract_certificate_json(&two).unwrap_err();
    assert!(matches!(err, PdfError::BadAttachment(_)), "{err:?}");
}

/// The rendered PDF with an extra file specification `name` holding
/// `bytes`, and `edit` applied to the catalog.
fn with_extra_file(
    name: &str,
    bytes: &[u8],
    edit: impl FnOnce(&mut lopdf::Dictionary, lopdf::ObjectId),
) -> Vec<u8> {
    let mut doc = lopdf::Document::load_mem(rendered()).unwrap();
    let file = doc.add_object(lopdf::Stream::new(lopdf::Dictionary::new(), bytes.to_vec()));
    let spec = doc.add_object(lopdf::Dictionary::from_iter([
        ("Type", lopdf::Object::Name(b"Filespec".to_vec())),
        ("UF", lopdf::Object::string_literal(name)),
        (
            "EF",
            lopdf::Object::Dictionary(lopdf::Dictionary::from_iter([(
                "F",
                lopdf::Object::Reference(file),
            )])),
        ),
    ]));
    edit(doc.catalog_mut().unwrap(), spec);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn the_attachment_is_chosen_by_its_own_name_never_by_a_name_tree_key() {
    // Contract §9. A name-tree key "certificate.json" that points to a
    // file named notes.txt (holding another, valid-looking certificate):
    // a reader shows "notes.txt", so the PDF is refused, not verified.
    let pdf = with_extra_file("notes.txt", cert(), |catalog, spec| {
        let names = catalog.get_mut(b"Names").unwrap().as_dict_mut().unwrap();
        let tree = names
            .get_mut(b"EmbeddedFiles")
            .unwrap()
            .as_dict_mut()
            .unwrap();
        *tree.get_mut(b"Names").unwrap() = lopdf::Object::Array(vec![
            lopdf::Object::string_literal("certificate.json"),
            lopdf::Object::Reference(spec),
        ]);
    });
    let err = extract_certificate_json(&pdf).unwrap_err().to_string();
    assert!(
        err.contains("listed as \"certificate.json\" but named \"notes.txt\""),
        "{err}"
    );
    // A second file named certificate.json, even with the same bytes, is
    // a second file: refused.
    let pdf = with_extra_file("certificate.json", cert(), |catalog, spec| {
        catalog
            .get_mut(b"AF")
            .unwrap()
            .as_array_mut()
            .unwrap()
            .push(lopdf::Object::Reference(spec));
    });
    let err = extract_certificate_json(&pdf).unwrap_err().to_string();
    assert!(
        err.contains("2 embedded files named certificate.json"),
        "{err}"
    );
    // Another attachment beside it, under its own name, is fine.
    let pdf = with_extra_file("notes.txt", b"hello", |catalog, spec| {
        catalog
            .get_mut(b"AF")
            .unwrap()
            .as_array_mut()
            .unwrap()
            .push(lopdf::Object::Reference(spec));
    });
    assert_eq!(extract_certificate_json(&pdf).unwrap(), cert());
}

#[test]
fn a_certificate_that_does_not_verify_is_not_rendered() {
    let bad = String::from_utf8(cert().to_vec()).unwrap().replace(
        "\"submitter\": \"acme-trading\"",
        "\"submitter\": \"someone-else\"",
    );
    assert_ne!(bad.as_bytes(), cert());
    let err = render(bad.as_bytes(), &options()).unwrap_err();
    assert!(matches!(err, PdfError::Certificate(_)), "{err:?}");
    assert!(err.to_string().contains("check \"entry\" failed"), "{err}");
    // Malformed JSON never renders.
    let err = render(b"{}", &options()).unwrap_err();
    assert!(matches!(err, PdfError::Certificate(_)), "{err:?}");
}

#[test]
fn the_page_shows_only_what_the_verifier_counts_and_its_witnessed_time() {
    // A court cosignature backdated a year does not count (contract §9):
    // the page lists the two that do, and the witnessed time is when the
    // policy was first met by them, the arbitration witness's T0 + 7.
    let json = cosigned_by(
        METADATA,
        3,
        &[
            ("court", COURT, T0 - 365 * 86_400),
            ("arbitration", ARBITRATION, T0 + 7),
        ],
        &[],
    );
    let report = verifier().verify_certificate(&json, None);
    assert!(
        !report.valid,
        "one court cosignature, backdated: not enough"
    );
    let two_courts = {
        // The same court key under a second certificate would count once;
        // a second court witness is the fixture court2.
        cosigned_by(
            METADATA,
            3,
            &[
                ("court", COURT, T0 - 365 * 86_400),
                (
                    "../tests/fixtures/pki/court2",
                    "court2.example/witness",
                    T0 + 1,
                ),
                ("arbitration", ARBITRATION, T0 + 7),
            ],
            &["../tests/fixtures/pki/intermediate"],
        )
    };
    let facts = notarium_pdf::CertificateFacts::from_json(&two_courts, &verifier()).unwrap();
    assert_eq!(facts.witnesses.len(), 2, "{:#?}", facts.witnesses);
    assert!(facts.witnesses.iter().all(|w| w.unix_time >= T0));
    assert_eq!(facts.witnessed_at, "2026-11-29T06:00:07Z");
    let pdf = render(&two_courts, &options()).unwrap();
    let text = pdftotext(&pdf, "counted");
    assert!(text.contains("2026-11-29T06:00:07Z"), "{text}");
    assert!(
        !text.contains("2025-11-29"),
        "the backdated time is not shown: {text}"
    );
}

#[test]
fn a_certificate_without_metadata_renders() {
    let json = certificate(0);
    let pdf = render(&json, &options()).unwrap();
    assert_eq!(extract_certificate_json(&pdf).unwrap(), json);
    let text = pdftotext(&pdf, "minimal");
    assert!(text.contains(&digest_hex(0)), "{text}");
    assert!(!text.contains("File name"), "{text}");
}

#[test]
fn an_operator_template_changes_the_page_without_recompiling() {
    let dir = temp_dir("template");
    // A small PNG logo.
    let logo = image::RgbImage::from_fn(60, 60, |x, y| {
        if (x as i32 - 30).pow(2) + (y as i32 - 30).pow(2) < 800 {
            image::Rgb([158, 27, 27])
        } else {
            image::Rgb([255, 255, 255])
        }
    });
    logo.save(dir.join("logo.png")).unwrap();
    std::fs::write(
        dir.join("certificate.toml"),
        "[notary]\nname_zh = \"北京示范公证处\"\nname_en = \"Beijing Example Notary Office\"\n\
         [logo]\npath = \"logo.png\"\n[colors]\naccent = \"#123456\"\n\
         [time]\nlocal_label_zh = \"\"\nlocal_label_en = \"\"\n",
    )
    .unwrap();
    let opts = RenderOptions {
        template: TemplateSource::Path(dir.join("certificate.toml")),
        ..options()
    };
    let pdf = render(cert(), &opts).unwrap();
    assert!(pdf.len() < 300 * 1024);
    let text = pdftotext(&pdf, "template-text");
    assert!(
        text.contains("北京示范公证处") && text.contains("Beijing Example Notary Office"),
        "{text}"
    );
    assert!(!text.contains("北京时间"), "{text}");
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let page = doc.get_pages()[&1];
    let images = doc.get_page_images(page).unwrap();
    assert_eq!(images.len(), 2, "QR code and logo");
    if let Ok(dir) = std::env::var("NOTARIUM_PDF_OUT") {
        std::fs::write(Path::new(&dir).join("template.pdf"), &pdf).unwrap();
    }

    // Errors an operator can act on.
    let bad = |text: &str| {
        Renderer::new(&TemplateSource::Text {
            text: text.into(),
            base_dir: Some(dir.to_path_buf()),
        })
        .unwrap_err()
        .to_string()
    };
    assert!(bad("[notary]\nname = \"x\"\n").contains("unknown field"));
    assert!(bad("[logo]\npath = \"missing.png\"\n").contains("missing.png"));
    assert!(bad("[font]\npath = \"logo.png\"\n").contains("font"));
    assert!(
        render(
            cert(),
            &RenderOptions {
                certificate_id: String::new(),
                ..options()
            }
        )
        .is_err()
    );
}

#[test]
fn renderers_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Renderer>();
    shareable::<RenderOptions>();
}

#[test]
fn the_qr_code_scans_to_the_verification_link() {
    // The QR image as the PDF carries it (8-bit grey, Flate), scanned.
    let doc = lopdf::Document::load_mem(rendered()).unwrap();
    let images = doc.get_page_images(doc.get_pages()[&1]).unwrap();
    assert_eq!(images.len(), 1, "the QR code is the only image");
    let qr = &images[0];
    let stream = doc.get_object(qr.id).unwrap().as_stream().unwrap();
    let pixels = stream.decompressed_content().unwrap();
    let (w, h) = (qr.width as usize, qr.height as usize);
    assert_eq!(pixels.len(), w * h);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(
        content,
        format!("{VERIFY_URL}?id={CERT_ID}&sha256={}", digest_hex(3))
    );
}

#[test]
fn long_metadata_is_shortened_on_the_page_and_kept_whole_in_the_attachment() {
    let json = certificate_with(&long_metadata(), 3);
    assert!(verifier().verify_certificate(&json, None).valid);
    let pdf = render(&json, &options()).unwrap();
    assert!(pdf.len() < 300 * 1024);
    assert_eq!(extract_certificate_json(&pdf).unwrap(), json);
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    assert_eq!(doc.get_pages().len(), 1);
    let text = pdftotext(&pdf, "long");
    assert!(text.contains("关于某某科技有限公司"), "{text}");
    assert!(
        text.contains('…'),
        "shortened values end with an ellipsis:\n{text}"
    );
    // Everything else is still there.
    for needle in [
        digest_hex(3).as_str(),
        SUBMITTER,
        "2026-11-29T06:00:03Z",
        "123,456,789,012",
    ] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
}
