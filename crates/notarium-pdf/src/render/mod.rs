//! Rendering the one-page bilingual certificate.

mod canvas;
mod facts;
mod finish;
mod font;
mod page;
mod pdfa;
mod qr;
#[cfg(feature = "seal")]
mod seal;
mod template;

pub use facts::{CertificateFacts, TimestampFact, WitnessFact};
#[cfg(feature = "seal")]
pub use seal::{SEAL_CONTENTS_BYTES, Seal, TimestampFn};
pub use template::BUILTIN_TEMPLATE;

use crate::PdfError;
use font::PageFont;
use notarium_core::verify::Verifier;
use printpdf::{
    FontId, ImageCompression, ImageOptimizationOptions, Mm, PdfDocument, PdfFont, PdfPage,
    PdfSaveOptions, RawImage, XObject, XObjectId,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use template::Template;

/// Where the template comes from.
#[derive(Clone, Debug, Default)]
pub enum TemplateSource {
    /// The built-in `templates/certificate.toml`.
    #[default]
    Builtin,
    /// A template file; the font and logo paths in it are relative to its
    /// directory.
    Path(PathBuf),
    /// Template text; relative paths in it are resolved against `base_dir`
    /// (the working directory when `None`).
    Text {
        text: String,
        base_dir: Option<PathBuf>,
    },
}

/// What [`render`] needs besides the certificate.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    pub template: TemplateSource,
    /// The judge's verification page, e.g. `https://notary.example/verify`;
    /// the QR code carries it with `id` and `sha256` query parameters.
    pub verify_url: String,
    /// The notary's identifier of this certificate, printed on the page.
    pub certificate_id: String,
    /// Only a certificate that verifies is rendered, and what the page
    /// states (witnesses, the witnessed time) comes from its report.
    pub verifier: Verifier,
}

impl RenderOptions {
    pub fn new(
        verify_url: impl Into<String>,
        certificate_id: impl Into<String>,
        verifier: Verifier,
    ) -> Self {
        RenderOptions {
            template: TemplateSource::Builtin,
            verify_url: verify_url.into(),
            certificate_id: certificate_id.into(),
            verifier,
        }
    }
}

/// Renders the PDF certificate of `cert_json` (contract §5), with the JSON
/// attached byte for byte as `certificate.json`. Deterministic: the same
/// certificate and options give the same bytes.
pub fn render(cert_json: &[u8], opts: &RenderOptions) -> Result<Vec<u8>, PdfError> {
    Renderer::new(&opts.template)?.render(
        cert_json,
        &opts.certificate_id,
        &opts.verify_url,
        &opts.verifier,
    )
}

/// A loaded template with its font and logo, for rendering many
/// certificates (the font is parsed once per process either way).
#[derive(Debug, Clone)]
pub struct Renderer {
    template: Template,
    font: Arc<PageFont>,
    logo: Option<RawImage>,
}

impl Renderer {
    pub fn new(source: &TemplateSource) -> Result<Self, PdfError> {
        let (text, base_dir): (std::borrow::Cow<'_, str>, Option<PathBuf>) = match source {
            TemplateSource::Builtin => (BUILTIN_TEMPLATE.into(), None),
            TemplateSource::Path(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| PdfError::Io {
                    path: p.display().to_string(),
                    source: e,
                })?;
                (text.into(), p.parent().map(Path::to_path_buf))
            }
            TemplateSource::Text { text, base_dir } => (text.as_str().into(), base_dir.clone()),
        };
        let template = Template::parse(&text)?;
        let font = PageFont::load(
            &template.font.path,
            template.font.index,
            base_dir.as_deref(),
        )?;
        let logo = if template.logo.path.is_empty() {
            None
        } else {
            let p = match &base_dir {
                Some(d) => d.join(&template.logo.path),
                None => PathBuf::from(&template.logo.path),
            };
            let bytes = std::fs::read(&p).map_err(|e| PdfError::Io {
                path: p.display().to_string(),
                source: e,
            })?;
            let mut warnings = Vec::new();
            let img = RawImage::decode_from_bytes(&bytes, &mut warnings)
                .map_err(|e| PdfError::Image(format!("{}: {e}", p.display())))?;
            Some(img)
        };
        Ok(Renderer {
            template,
            font,
            logo,
        })
    }

    /// Renders one certificate (see [`render`]).
    pub fn render(
        &self,
        cert_json: &[u8],
        certificate_id: &str,
        verify_url: &str,
        verifier: &Verifier,
    ) -> Result<Vec<u8>, PdfError> {
        let (mut doc, _) = self.render_doc(cert_json, certificate_id, verify_url, verifier)?;
        finish::save(&mut doc)
    }

    /// Renders one certificate (see [`render`]) sealed by the notary: a
    /// PAdES signature (baseline B-B, and B-T with a `timestamp` that asks a
    /// TSA for a token over the signature value). Deterministic like
    /// [`render`]: the same certificate gives the same bytes, the same
    /// signature and the same timestamp imprint, so a token kept from an
    /// earlier rendering may be returned by `timestamp` again.
    #[cfg(feature = "seal")]
    pub fn render_sealed(
        &self,
        cert_json: &[u8],
        certificate_id: &str,
        verify_url: &str,
        verifier: &Verifier,
        seal: &Seal,
        timestamp: Option<&TimestampFn<'_>>,
    ) -> Result<Vec<u8>, PdfError> {
        let (doc, date) = self.render_doc(cert_json, certificate_id, verify_url, verifier)?;
        let date = lopdf::Object::String(
            finish::pdf_date(date).into_bytes(),
            lopdf::StringFormat::Literal,
        );
        seal::seal(doc, date, seal, timestamp)
    }

    fn render_doc(
        &self,
        cert_json: &[u8],
        certificate_id: &str,
        verify_url: &str,
        verifier: &Verifier,
    ) -> Result<(lopdf::Document, u64), PdfError> {
        check_line("certificate id", certificate_id, 128)?;
        check_line("verification page URL", verify_url, 512)?;
        if verify_url.contains(char::is_whitespace) {
            return Err(PdfError::Certificate(
                "the verification page URL contains a space".into(),
            ));
        }
        let facts = CertificateFacts::from_json(cert_json, verifier)?;
        let link = qr::verify_link(verify_url, certificate_id, &facts.evidence_sha256);

        let t = &self.template;
        let title = format!("{} {}", t.text.title_zh, t.text.title_en);
        let mut doc = PdfDocument::new(&title);
        // Fixed resource names: printpdf's generated ones differ per call.
        let font_id = FontId("F1".into());
        doc.resources
            .fonts
            .map
            .insert(font_id.clone(), PdfFont::new(self.font.parsed.clone()));
        let qr_id = XObjectId("QR".into());
        let qr_img = qr::qr_image(&link)?;
        let qr_px = qr_img.width;
        doc.resources
            .xobjects
            .map
            .insert(qr_id.clone(), XObject::Image(qr_img));
        let logo = self.logo.as_ref().map(|img| {
            let id = XObjectId("Logo".into());
            doc.resources
                .xobjects
                .map
                .insert(id.clone(), XObject::Image(img.clone()));
            (id, img.width, img.height)
        });

        let ops = page::draw(
            &page::PageInput {
                template: t,
                facts: &facts,
                certificate_id,
                link: &link,
                qr: (qr_id, qr_px),
                logo,
            },
            &self.font,
            font_id,
        )?;
        doc.with_pages(vec![PdfPage::new(
            Mm(canvas::PAGE_W_MM),
            Mm(canvas::PAGE_H_MM),
            ops,
        )]);
        let save = PdfSaveOptions {
            // Streams are compressed in `finish`, at a faster level than
            // printpdf's (zlib level 9 took half the rendering time).
            optimize: false,
            subset_fonts: true,
            secure: true,
            image_optimization: Some(ImageOptimizationOptions {
                quality: None,
                max_image_size: None,
                dither_greyscale: None,
                convert_to_greyscale: Some(false),
                auto_optimize: Some(false),
                // Raw here, compressed with the other streams in `finish`.
                format: Some(ImageCompression::None),
            }),
        };
        let mut warnings = Vec::new();
        let page_pdf = doc.save(&save, &mut warnings);
        if let Some(w) = warnings
            .iter()
            .find(|w| w.severity == printpdf::PdfParseErrorSeverity::Error)
        {
            return Err(PdfError::Write(w.msg.clone()));
        }

        let subject = format!(
            "{} {} · SHA-256 {}",
            t.labels.certificate_id.en, certificate_id, facts.evidence_sha256
        );
        let date = facts.witnessed_unix;
        let doc = finish::finish_doc(
            &page_pdf,
            cert_json,
            &finish::DocInfo {
                title,
                subject,
                author: format!("{} {}", t.notary.name_zh, t.notary.name_en),
                keywords: format!(
                    "{}; {}; certificate.json; notarium",
                    certificate_id, facts.evidence_sha256
                ),
                date,
            },
        )?;
        Ok((doc, date))
    }
}

fn check_line(what: &str, s: &str, max: usize) -> Result<(), PdfError> {
    if s.is_empty() || s.len() > max || s.chars().any(char::is_control) {
        return Err(PdfError::Certificate(format!(
            "the {what} must be 1 to {max} bytes of text on one line"
        )));
    }
    Ok(())
}
