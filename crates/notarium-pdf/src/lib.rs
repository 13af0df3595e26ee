//! The PDF deposit certificate (电子数据存证证书) of Notarium.
//!
//! A certificate PDF is one A4 page that a person reads, plus the
//! certificate JSON of contract §5 embedded byte for byte as a file
//! attachment named `certificate.json`. The page is a rendering for people;
//! the attachment is what verifiers check (`notarium-verify certificate.pdf`).
//!
//! - [`extract_certificate_json`] (always available): read-only PDF parsing
//!   that returns the attachment's exact bytes. This is all the offline
//!   verifier needs; depend on this crate with `default-features = false`
//!   to get only it (lopdf and thiserror, nothing else).
//! - [`render`] (feature `render`, on by default): lays out the page from an
//!   operator-editable template (`templates/certificate.toml`), with the CJK
//!   font subset to the glyphs used, a QR code for the verification page,
//!   metadata derived from the certificate (never the wall clock: the same
//!   certificate and options always give the same bytes) and the attachment.
#![forbid(unsafe_code)]

mod error;
mod extract;
#[cfg(feature = "render")]
mod render;
mod signature;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use error::PdfError;
pub use extract::{
    ATTACHMENT_NAME, MAX_ATTACHMENT_BYTES, MAX_KEPT_BYTES, MAX_LOAD_TIME, MAX_OBJECTS,
    MAX_PDF_BYTES, MAX_VALUES, extract_certificate_json,
};
#[cfg(feature = "render")]
pub use render::{
    BUILTIN_TEMPLATE, CertificateFacts, RenderOptions, Renderer, TemplateSource, TimestampFact,
    WitnessFact, render,
};
#[cfg(feature = "seal")]
pub use render::{SEAL_CONTENTS_BYTES, Seal, TimestampFn};
pub use signature::{PdfSignature, pdf_signature};
