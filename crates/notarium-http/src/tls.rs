//! The HTTPS listener's certificate: rustls with the ring provider.
//!
//! Both servers take `tls_cert_file` (the server certificate, then its
//! intermediates, PEM) and `tls_key_file` (its private key, PEM: PKCS#8,
//! PKCS#1 or SEC1). Set, the listener speaks only TLS (1.2 and 1.3).
//!
//! The pair is re-read on SIGHUP ([`CertReloader::reload_on_sighup`]): the
//! handshakes after the signal present the new certificate, connections
//! already open keep theirs, and a pair that does not load (unreadable,
//! not PEM, a key that does not match the certificate) is refused with an
//! error in the log while the old pair stays in service. Key material is
//! never logged: errors about the key file name the file and the problem,
//! never its content.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub use rustls;

/// A certificate or key that cannot serve, with the file and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError(pub String);

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

/// The crypto provider of every TLS connection Notarium makes or accepts:
/// ring, which the workspace already builds for its signatures. rustls
/// 0.23.48 deprecates it for lacking post-quantum key exchange
/// (X25519MLKEM768, aws-lc-rs only); aws-lc-rs would add a C build of
/// minutes to every cold build, and the transport's confidentiality is not
/// what the certificates' evidence rests on (docs/threat-model.md).
#[allow(deprecated)]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes ring the process's default rustls provider (HTTP clients built
/// without an explicit one use it). Idempotent.
pub fn install_default_provider() {
    let _ = Arc::unwrap_or_clone(provider()).install_default();
}

/// Reads the certificates of a PEM file (`what` names the setting).
pub fn read_certificates(
    path: &Path,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |e: pem::Error| TlsError(format!("{what} {}: {}", path.display(), pem_problem(e)));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(bad)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    if certs.is_empty() {
        return Err(TlsError(format!(
            "{what} {}: holds no CERTIFICATE",
            path.display()
        )));
    }
    Ok(certs)
}

/// What is wrong with a PEM file, without quoting its content.
fn pem_problem(e: pem::Error) -> String {
    match e {
        pem::Error::Io(e) => e.to_string(),
        pem::Error::NoItemsFound => "holds no PEM item of the expected kind".into(),
        _ => "is not valid PEM".into(),
    }
}

/// A certificate chain and key loaded from `cert` and `key`, the key
/// checked against the certificate.
fn load_pair(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let chain = read_certificates(cert, "tls_cert_file")?;
    let der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        TlsError(match e {
            pem::Error::NoItemsFound => format!(
                "tls_key_file {}: holds no PRIVATE KEY (PKCS#8, RSA or EC)",
                key.display()
            ),
            e => format!("tls_key_file {}: {}", key.display(), pem_problem(e)),
        })
    })?;
    let signing = provider().key_provider.load_private_key(der).map_err(|_| {
        TlsError(format!(
            "tls_key_file {}: not a usable private key (RSA, ECDSA P-256/P-384 or Ed25519)",
            key.display()
        ))
    })?;
    let pair = CertifiedKey::new(chain, signing);
    match pair.keys_match() {
        Ok(()) => Ok(pair),
        Err(rustls::Error::InconsistentKeys(_)) => Err(TlsError(format!(
            "tls_key_file {} is not the key of the certificate in tls_cert_file {}",
            key.display(),
            cert.display()
        ))),
        Err(e) => Err(TlsError(format!("tls_cert_file {}: {e}", cert.display()))),
    }
}

/// The listener's certificate and key, re-read from their files on demand.
pub struct CertReloader {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl std::fmt::Debug for CertReloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertReloader")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for CertReloader {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current().clone())
    }
}

impl CertReloader {
    /// Loads the pair; fails (naming the file and the problem) if it cannot
    /// serve.
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<Self>, TlsError> {
        let pair = load_pair(cert, key)?;
        Ok(Arc::new(CertReloader {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: RwLock::new(Arc::new(pair)),
        }))
    }

    fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Re-reads both files; on any problem keeps the pair in service and
    /// returns the problem.
    pub fn reload(&self) -> Result<(), TlsError> {
        let pair = load_pair(&self.cert, &self.key)?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(pair);
        Ok(())
    }

    /// The DER of the certificate now served (the chain's first).
    pub fn certificate(&self) -> Vec<u8> {
        self.current()
            .end_entity_cert()
            .map(|c| c.to_vec())
            .unwrap_or_default()
    }

    /// A rustls server configuration presenting this pair (TLS 1.2 and 1.3,
    /// no client certificates).
    pub fn server_config(self: &Arc<Self>) -> rustls::ServerConfig {
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(self.clone())
    }

    /// Re-reads the pair on every SIGHUP until the runtime stops; each
    /// outcome is logged (files, never key material). Spawn it on the
    /// server's runtime.
    #[cfg(unix)]
    pub async fn reload_on_sighup(self: Arc<Self>) {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGHUP: TLS certificates reload only on restart");
                return;
            }
        };
        while hup.recv().await.is_some() {
            match self.reload() {
                Ok(()) => tracing::info!(
                    cert = %self.cert.display(),
                    key = %self.key.display(),
                    "SIGHUP: TLS certificate and key reloaded"
                ),
                Err(e) => tracing::error!(
                    error = %e,
                    "SIGHUP: TLS certificate and key NOT reloaded; the previous ones stay in service"
                ),
            }
        }
    }
}
