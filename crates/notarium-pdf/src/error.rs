//! Errors of rendering and reading certificate PDFs.

/// What went wrong, in words a judge's expert understands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// The bytes are not a PDF lopdf can read.
    #[error("not a readable PDF: {0}")]
    NotPdf(String),
    /// The PDF is larger or more complex than a certificate PDF can be
    /// (the bounds of `extract_certificate_json`).
    #[error("the PDF is too large or too complex to be a certificate PDF: {0}")]
    TooComplex(String),
    /// The PDF is not in the form the notary writes (classic
    /// cross-reference table, no compressed objects, no encryption).
    #[error(
        "the PDF is not in the form the notary writes ({0}); extract its certificate.json attachment with a PDF reader and verify that"
    )]
    Unsupported(String),
    /// The PDF carries no embedded file named `certificate.json`.
    #[error("this PDF has no certificate.json attachment")]
    NoAttachment,
    /// The attachment is there but cannot be read, or is ambiguous.
    #[error("the certificate.json attachment cannot be used: {0}")]
    BadAttachment(String),
    /// The PDF's signature is malformed or ambiguous.
    #[error("the PDF's signature cannot be used: {0}")]
    BadSignature(String),
    /// The certificate JSON cannot be rendered (it does not parse, or it
    /// fails verification when a verifier was given).
    #[error("the certificate cannot be rendered: {0}")]
    Certificate(String),
    /// The template is malformed or refers to something unusable.
    #[error("certificate template: {0}")]
    Template(String),
    /// The font cannot be loaded or lacks what the page needs.
    #[error("font: {0}")]
    Font(String),
    /// The logo image cannot be decoded.
    #[error("logo image: {0}")]
    Image(String),
    /// A file named by the options or the template cannot be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Writing the PDF failed (a bug, or an unusable input that slipped by).
    #[error("writing the PDF failed: {0}")]
    Write(String),
}
