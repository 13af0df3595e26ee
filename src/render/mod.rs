//! Certificates for people: the PDF (via notarium-pdf, with the template
//! configured in `server.template_dir` or the built-in one), sealed by the
//! notary when `[seal]` is configured.

use crate::config::Config;
use notarium_pdf::{PdfError, Renderer, Seal, TemplateSource};
use notarium_store::Store;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

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

/// Signature timestamps also kept in memory, at most this many.
const SEAL_TOKENS_KEPT: usize = 10_000;

/// The notary's PDF seal (`[seal]`) and the signature timestamps it got.
///
/// Rendering is deterministic, so the seal's signature value, and the
/// imprint a TSA timestamps, are the same each time a certificate's PDF is
/// served: the token is requested once and kept in the store, keyed by that
/// imprint (a function of the certificate, the template and the seal), so
/// the PDF is the same file after a restart; an LRU in memory saves the
/// store a read per download.
#[derive(Debug)]
pub struct PdfSeal {
    seal: Seal,
    tsa_url: Option<String>,
    tsa_roots: notarium_core::TrustRoots,
    tokens: Mutex<lru::LruCache<[u8; 32], Vec<u8>>>,
    client: std::sync::OnceLock<reqwest::Client>,
}

impl PdfSeal {
    pub fn new(seal: Seal, tsa_url: Option<String>, tsa_roots: notarium_core::TrustRoots) -> Self {
        PdfSeal {
            seal,
            tsa_url,
            tsa_roots,
            tokens: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(SEAL_TOKENS_KEPT).expect("non-zero"),
            )),
            client: std::sync::OnceLock::new(),
        }
    }

    /// A token over `imprint`: the kept one (in memory, else in the store),
    /// else the TSA's (checked by `tsa::request_timestamp`: the imprint, the
    /// nonce, the TSA's chain to the configured roots), kept in the store
    /// before it is used. Runs on a blocking thread of the runtime.
    fn timestamp(
        &self,
        store: &dyn Store,
        url: &str,
        imprint: &[u8; 32],
    ) -> Result<Vec<u8>, String> {
        if let Some(t) = self.tokens.lock().expect("not poisoned").get(imprint) {
            return Ok(t.clone());
        }
        let rt = tokio::runtime::Handle::current();
        let kept = rt
            .block_on(store.seal_token(imprint))
            .map_err(|e| e.to_string())?;
        let token = match kept {
            Some(token) => token,
            None => {
                let token = self.ask_tsa(&rt, url, imprint)?;
                let now = notarium_log::clock::now().millis();
                rt.block_on(store.keep_seal_token(imprint, &token, now))
                    .map_err(|e| e.to_string())?
            }
        };
        self.tokens
            .lock()
            .expect("not poisoned")
            .put(*imprint, token.clone());
        Ok(token)
    }

    fn ask_tsa(
        &self,
        rt: &tokio::runtime::Handle,
        url: &str,
        imprint: &[u8; 32],
    ) -> Result<Vec<u8>, String> {
        let client = self.client.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .expect("an HTTP client builds")
        });
        let asked = crate::tsa::request_timestamp(client, url, *imprint, &self.tsa_roots, &[]);
        let (token, _) = rt.block_on(asked).map_err(|e| e.to_string())?;
        Ok(token)
    }

    fn render(
        &self,
        store: &dyn Store,
        r: &Renderer,
        json: &[u8],
        id: &str,
        url: &str,
        verifier: &notarium_core::Verifier,
    ) -> Result<Vec<u8>, PdfError> {
        let Some(tsa) = &self.tsa_url else {
            return r.render_sealed(json, id, url, verifier, &self.seal, None);
        };
        let ask = |imprint: &[u8; 32]| self.timestamp(store, tsa, imprint);
        match r.render_sealed(json, id, url, verifier, &self.seal, Some(&ask)) {
            // A TSA that does not answer does not stop the PDF: it is
            // sealed without a timestamp (B-B) and the next download asks
            // again.
            Err(PdfError::Write(e)) if e.starts_with("the seal's timestamp") => {
                tracing::warn!(certificate = id, error = %e, "PDF sealed without a timestamp");
                r.render_sealed(json, id, url, verifier, &self.seal, None)
            }
            other => other,
        }
    }
}

/// Renders the PDF of a certificate JSON on the blocking pool, sealed when
/// `[seal]` is configured. What the page states comes from `verifier`'s
/// report on it.
pub async fn pdf(
    store: &Arc<dyn Store>,
    renderer: &Arc<Renderer>,
    config: &Config,
    verifier: &notarium_core::Verifier,
    id: &str,
    json: String,
) -> Result<Vec<u8>, RenderError> {
    let (r, url, id) = (renderer.clone(), verify_url(config), id.to_string());
    let verifier = verifier.clone();
    let (seal, store) = (config.seal.clone(), store.clone());
    Ok(tokio::task::spawn_blocking(move || match &seal {
        Some(seal) => seal.render(&*store, &r, json.as_bytes(), &id, &url, &verifier),
        None => r.render(json.as_bytes(), &id, &url, &verifier),
    })
    .await??)
}
