//! Certificates for people: the PDF (via notarium-pdf, with the template
//! configured in `server.template_dir` or the built-in one).

use crate::config::Config;
use notarium_pdf::{PdfError, Renderer, TemplateSource};

/// Loads the template once at start, so a broken template stops the server
/// with a clear message instead of failing requests.
pub fn renderer(config: &Config) -> anyhow::Result<Renderer> {
    let source = match &config.template_dir {
        Some(dir) => TemplateSource::Path(dir.join("certificate.toml")),
        None => TemplateSource::Builtin,
    };
    Renderer::new(&source).map_err(|e| anyhow::anyhow!("certificate template: {e}"))
}

/// The judge's page URL printed on certificates.
pub fn verify_url(config: &Config) -> String {
    format!("{}/verify", config.public_url)
}

/// Why a certificate PDF could not be made: never the caller's fault (the
/// certificate JSON is the notary's own).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Pdf(#[from] PdfError),
    #[error("the rendering task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Renders the PDF of a certificate JSON on the blocking pool. What the
/// page states comes from `verifier`'s report on it.
pub async fn pdf(
    renderer: &std::sync::Arc<Renderer>,
    config: &Config,
    verifier: &notarium_core::Verifier,
    id: &str,
    json: String,
) -> Result<Vec<u8>, RenderError> {
    let (r, url, id) = (renderer.clone(), verify_url(config), id.to_string());
    let verifier = verifier.clone();
    Ok(
        tokio::task::spawn_blocking(move || r.render(json.as_bytes(), &id, &url, &verifier))
            .await??,
    )
}
