//! Configuration: a TOML file plus environment overrides, validated once at
//! start. Every problem is reported with the setting it concerns.
//!
//! Environment overrides (they win over the file):
//! `NOTARIUM_LISTEN`, `NOTARIUM_PUBLIC_URL`, `NOTARIUM_DATA_DIR`,
//! `DATABASE_URL`, `NOTARIUM_LOG_KEY_FILE`, `NOTARIUM_LOG_KEY_PEM` (the key
//! itself, for secret stores that inject environment variables),
//! `NOTARIUM_BATCH_INTERVAL_MS`, `NOTARIUM_POLICY`, `NOTARIUM_ADMIN_LISTEN`,
//! `NOTARIUM_METRICS_TOKEN`, `NOTARIUM_TLS_CERT_FILE`, `NOTARIUM_TLS_KEY_FILE`.

use notarium_core::encoding::pem_encode;
use notarium_core::identity::{CertInfo, Role, certs_from_pem_file};
use notarium_core::policy::Group;
use notarium_core::tlog_policy::{PolicyFile, VKEY_COSIGNATURE, VKEY_ED25519, Vkey};
use notarium_core::{Policy, TrustRoots, Verifier};
use notarium_log::SigningKey;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub server: ServerSection,
    pub log: LogSection,
    pub trust: TrustSection,
    #[serde(default, rename = "witness")]
    pub witnesses: Vec<WitnessSection>,
    #[serde(default)]
    pub limits: LimitsSection,
    #[serde(default)]
    pub tiles: TilesSection,
    /// RFC 3161 timestamping authorities; unset, checkpoints are not
    /// timestamped.
    #[serde(default)]
    pub tsa: Option<TsaSection>,
    /// `[seal]`: the notary's PDF seal (PAdES); without it PDFs are unsigned.
    pub seal: Option<SealSection>,
}

/// `[tsa]`: RFC 3161 timestamps over final checkpoints (contract §9,
/// docs/operations.md).
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct TsaSection {
    /// The TSAs' URLs (RFC 3161 §3.4 over HTTP), one or more.
    pub urls: Vec<String>,
    /// Root certificates (PEM) the TSA certificates must chain to.
    pub trust: Vec<PathBuf>,
    /// Intermediate CA certificates between the TSAs and `trust`, for
    /// tokens that do not carry them.
    #[serde(default)]
    pub chain_files: Vec<PathBuf>,
    /// Tokens (from distinct TSAs) a final checkpoint needs before its
    /// certificates are issued. Default: one from every URL.
    pub required: Option<usize>,
}

/// The validated `[tsa]` section.
#[derive(Debug, Clone)]
pub struct TsaConfig {
    pub urls: Vec<String>,
    pub roots: TrustRoots,
    pub intermediates: Vec<CertInfo>,
    pub required: usize,
}

impl TsaConfig {
    /// What checks the tokens of a certificate (for the core's verifier).
    pub fn trust(&self) -> Arc<notarium_timestamp::TsaTrust> {
        Arc::new(notarium_timestamp::TsaTrust::new(
            self.roots.clone(),
            self.intermediates.clone(),
        ))
    }
}

/// `[seal]`: the key and certificate that sign `certificate.pdf` (PAdES
/// baseline B-B, B-T with a TSA; docs/format.md "The PDF seal"). The
/// certificate must chain to `trust.roots`; PDF validators want the key
/// usages digitalSignature and nonRepudiation.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SealSection {
    /// PKCS#8 PEM P-256 key.
    pub key_file: PathBuf,
    /// Its certificate (PEM).
    pub cert_file: PathBuf,
    /// An RFC 3161 TSA that timestamps the seal's signature (B-T), once per
    /// certificate: its token is kept and reused when the PDF is served
    /// again. Without it, or while it does not answer, PDFs are sealed
    /// without a timestamp (B-B).
    pub tsa_url: Option<String>,
    /// PEM roots the TSA's tokens must chain to; default: `trust.roots`.
    #[serde(default)]
    pub tsa_roots: Vec<PathBuf>,
}

/// `[tiles]`: the log as C2SP tlog-tiles in a plain directory (docs/tiles.md).
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct TilesSection {
    /// Where the sequencer writes `checkpoint` and `tile/...` after each
    /// final checkpoint, for any static web server or CDN to serve.
    pub directory: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Base URL printed on certificates and in the QR code.
    pub public_url: Option<String>,
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL; without it the embedded SQLite store is used.
    pub database_url: Option<String>,
    /// Directory of the PDF template (templates/); default: the built-in one.
    pub template_dir: Option<PathBuf>,
    /// A second listener for operators: `/metrics` (and `/healthz`,
    /// `/readyz`). Set, `/metrics` is served there only.
    pub admin_listen: Option<String>,
    /// A bearer token `/metrics` requires (at least 16 characters). Without
    /// `admin_listen`, `/metrics` is served on the main listener only if
    /// this is set; with neither, `/metrics` is not served.
    pub metrics_token: Option<String>,
    /// The HTTPS certificate (then its intermediates), PEM. Set with
    /// `tls_key_file`, both listeners speak only TLS; re-read on SIGHUP.
    pub tls_cert_file: Option<PathBuf>,
    /// The private key of `tls_cert_file`, PEM. Never logged.
    pub tls_key_file: Option<PathBuf>,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: default_listen(),
            public_url: None,
            data_dir: default_data_dir(),
            database_url: None,
            template_dir: None,
            admin_listen: None,
            metrics_token: None,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_data_dir() -> PathBuf {
    "data".into()
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    pub origin: String,
    pub key_file: Option<PathBuf>,
    pub cert_file: PathBuf,
    /// Intermediate CA certificates between the notary and the root.
    #[serde(default)]
    pub chain_files: Vec<PathBuf>,
    /// After a key rotation: the certificates of the keys this log signed
    /// with before (same origin), so that checkpoints they signed still
    /// become final with the right certificate. Their intermediates go in
    /// `chain_files`.
    #[serde(default)]
    pub previous_cert_files: Vec<PathBuf>,
    /// How often the sequencer appends what is pending. Unset: 100 ms on
    /// the embedded store, 500 ms on PostgreSQL (see [`default_interval`]).
    #[serde(default)]
    pub batch_interval_ms: Option<u64>,
    #[serde(default = "default_batch")]
    pub batch_size: u32,
}

/// The sequencing interval when none is configured. The embedded store has
/// one writer, shared by submission groups and the sequencer's batch: a
/// batch of 500 ms of entries held it for about 90 ms at 15,000
/// submissions/s, which set the submissions' p99 (78-86 ms); batches of
/// 100 ms hold it for about 24 ms (p99 36-39 ms). PostgreSQL commits
/// submissions while a batch runs, so it keeps the longer interval and
/// signs fewer checkpoints (docs/benchmarks.md, run 8).
pub fn default_interval(postgres: bool) -> u64 {
    if postgres { 500 } else { 100 }
}
fn default_batch() -> u32 {
    10_000
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct TrustSection {
    pub roots: Vec<PathBuf>,
    #[serde(default)]
    pub policy: Option<String>,
    /// CA certificates (PEM) trusted for every witness's HTTPS besides the
    /// system's roots: a private CA of the witnesses' TLS certificates.
    #[serde(default)]
    pub witness_ca_file: Option<PathBuf>,
    /// A C2SP tlog-policy file: a checkpoint is final only once its quorum
    /// of standard witnesses (`[[witness]] vkey`) has cosigned too.
    #[serde(default)]
    pub policy_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct WitnessSection {
    /// The witness's submission prefix: `<url>/add-checkpoint`.
    pub url: String,
    /// An X.509 role witness: its certificate (ECDSA cosignatures).
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// A standard C2SP witness: its note verifier key (Ed25519
    /// cosignature/v1, `name+keyid+base64(0x04 || key)`), instead of
    /// `cert_file`.
    #[serde(default)]
    pub vkey: Option<String>,
    #[serde(default)]
    pub chain_files: Vec<PathBuf>,
    /// During a certificate renewal: the witness's other certificates (same
    /// name and role, the old or the new key). A cosignature is accepted
    /// from any of them that is valid at its time, and each final
    /// checkpoint carries the one that signed it.
    #[serde(default)]
    pub previous_cert_files: Vec<PathBuf>,
    /// CA certificates (PEM) trusted for this witness's HTTPS, besides the
    /// system's roots and `trust.witness_ca_file`.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Submissions per second per API key (0: unlimited).
    #[serde(default = "default_rate")]
    pub per_key_rate: u32,
    /// Burst allowance per API key. A batch larger than the burst is
    /// admitted once the key's bucket is full and leaves it in debt.
    #[serde(default = "default_burst")]
    pub per_key_burst: u32,
    /// Entries waiting for their durable commit before new ones get 503.
    #[serde(default = "default_queue")]
    pub intake_queue: usize,
    /// Largest group committed at once.
    #[serde(default = "default_group")]
    pub group_max: usize,
    /// Group commits in flight at once (each holds a store connection).
    #[serde(default = "default_intake_workers")]
    pub intake_workers: usize,
    /// Per witness request deadline.
    #[serde(default = "default_witness_timeout")]
    pub witness_timeout_ms: u64,
    /// Valid API keys kept in memory (least recently used beyond); unknown
    /// keys are never kept.
    #[serde(default = "default_key_cache")]
    pub key_cache_capacity: usize,
    /// Unknown API keys a client address (IPv6: its /64) may present per
    /// window before its uncached keys get 429 without a store lookup
    /// (0: no limit).
    #[serde(default = "default_auth_failures")]
    pub auth_failures: u32,
    /// The window of `auth_failures`, in seconds.
    #[serde(default = "default_auth_failure_window")]
    pub auth_failure_window_s: u64,
    /// `POST /v1/verify` requests per second per client address (an IPv4
    /// address, an IPv6 /64; 0: unlimited).
    #[serde(default = "default_verify_rate")]
    pub verify_rate: u32,
    /// Burst allowance per client address for `POST /v1/verify`.
    #[serde(default = "default_verify_burst")]
    pub verify_burst: u32,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            per_key_rate: default_rate(),
            per_key_burst: default_burst(),
            intake_queue: default_queue(),
            group_max: default_group(),
            intake_workers: default_intake_workers(),
            witness_timeout_ms: default_witness_timeout(),
            key_cache_capacity: default_key_cache(),
            auth_failures: default_auth_failures(),
            auth_failure_window_s: default_auth_failure_window(),
            verify_rate: default_verify_rate(),
            verify_burst: default_verify_burst(),
        }
    }
}

/// A thousand submissions per second per key on average (the notary takes
/// about 15,000 per second in all, docs/benchmarks.md): one tenant cannot
/// take the whole notary. 0 lifts the limit.
fn default_rate() -> u32 {
    1000
}
fn default_burst() -> u32 {
    1000
}
fn default_queue() -> usize {
    50_000
}
fn default_group() -> usize {
    4096
}
fn default_intake_workers() -> usize {
    2
}
fn default_witness_timeout() -> u64 {
    5_000
}
fn default_key_cache() -> usize {
    10_000
}
fn default_auth_failures() -> u32 {
    20
}
fn default_auth_failure_window() -> u64 {
    60
}
/// A judge's page asks once per certificate checked.
fn default_verify_rate() -> u32 {
    5
}
fn default_verify_burst() -> u32 {
    20
}

/// A configuration problem, naming the setting.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn err(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

/// A witness the notary asks for cosignatures.
#[derive(Debug, Clone)]
pub struct WitnessConfig {
    pub url: String,
    pub name: String,
    /// `None`: a standard C2SP witness, known by `vkey`.
    pub role: Option<Role>,
    /// Its certificates: `cert_file` first, then `previous_cert_files`.
    pub certs: Vec<SignerCert>,
    /// A standard witness's key (Ed25519 cosignature/v1).
    pub vkey: Option<Vkey>,
    /// CAs its HTTPS certificate may chain to besides the system's roots
    /// (`trust.witness_ca_file`, then its `ca_file`).
    pub tls_cas: Vec<reqwest::Certificate>,
}

/// A signer certificate that certificates may carry.
#[derive(Debug, Clone)]
pub struct SignerCert {
    pub cert: CertInfo,
    /// PEM of the certificate, then of the intermediates on its path to a
    /// trust root (the root itself is not included).
    pub pems: Vec<String>,
}

impl SignerCert {
    /// Checks the chain within the certificate's validity (a previous
    /// certificate may have expired: it still backs what it signed then).
    fn new(
        roots: &TrustRoots,
        cert: CertInfo,
        pool: &[CertInfo],
        now: i64,
        what: &str,
    ) -> Result<(Self, notarium_core::identity::Chain), ConfigError> {
        let at = now.min(cert.not_after - 1).max(cert.not_before);
        let chain = notarium_core::identity::Chain::build(roots, &cert, pool, at)
            .map_err(|e| err(format!("{what}: {e}")))?;
        let pems = chain.certs[..chain.certs.len() - 1]
            .iter()
            .map(|c| pem_encode("CERTIFICATE", &c.der))
            .collect();
        Ok((SignerCert { cert, pems }, chain))
    }
}

/// Everything validated, keys loaded.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    /// Set: both listeners speak only TLS with this certificate and key.
    pub tls: Option<Arc<notarium_http::tls::CertReloader>>,
    pub admin_listen: Option<String>,
    pub metrics_token: Option<String>,
    pub public_url: String,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub template_dir: Option<PathBuf>,
    pub origin: String,
    pub key: Arc<SigningKey>,
    /// The current notary certificate first, then `log.previous_cert_files`.
    pub notary_certs: Vec<SignerCert>,
    /// The PEMs of the current certificates: notary, its chain, and each
    /// witness with its chain. (A final checkpoint carries those of the
    /// signatures it has, see `witnessing`.)
    pub certificate_pems: Vec<String>,
    pub witnesses: Vec<WitnessConfig>,
    pub policy: Policy,
    /// `trust.policy_file`, parsed.
    pub policy_file: Option<PolicyFile>,
    pub roots: TrustRoots,
    pub batch_interval_ms: u64,
    pub batch_size: u32,
    pub limits: LimitsSection,
    /// `[tiles] directory`, resolved.
    pub tiles_directory: Option<PathBuf>,
    pub tsa: Option<TsaConfig>,
    /// `[seal]`, loaded.
    pub seal: Option<Arc<crate::render::PdfSeal>>,
}

impl Config {
    /// The verifier this notary's certificates must pass.
    pub fn verifier(&self) -> Verifier {
        let v = Verifier::new(
            self.roots.clone(),
            Some(self.origin.clone()),
            self.policy.clone(),
        );
        let v = match &self.policy_file {
            Some(f) => v.with_policy_file(f.clone()),
            None => v,
        };
        match &self.tsa {
            Some(tsa) => v.with_timestamps(tsa.trust()),
            None => v,
        }
    }
}

fn read(base: &Path, p: &Path, what: &str) -> Result<String, ConfigError> {
    let path = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    std::fs::read_to_string(&path).map_err(|e| err(format!("{what} {}: {e}", path.display())))
}

fn load_certs(base: &Path, files: &[PathBuf], what: &str) -> Result<Vec<CertInfo>, ConfigError> {
    let mut out = Vec::new();
    for f in files {
        let text = read(base, f, what)?;
        let certs =
            certs_from_pem_file(&text).map_err(|e| err(format!("{what} {}: {e}", f.display())))?;
        if certs.is_empty() {
            return Err(err(format!("{what} {} holds no CERTIFICATE", f.display())));
        }
        out.extend(certs);
    }
    Ok(out)
}

/// The CA certificates of a PEM file, for an HTTPS client.
pub fn load_cas(path: &Path, what: &str) -> Result<Vec<reqwest::Certificate>, ConfigError> {
    let certs = notarium_http::tls::read_certificates(path, what).map_err(|e| err(e.0))?;
    certs
        .iter()
        .map(|c| {
            reqwest::Certificate::from_der(c)
                .map_err(|e| err(format!("{what} {}: {e}", path.display())))
        })
        .collect()
}

fn resolve_path(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn resolve_tsa(base: &Path, t: &TsaSection) -> Result<TsaConfig, ConfigError> {
    if t.urls.is_empty() {
        return Err(err("tsa.urls needs at least one TSA URL"));
    }
    let mut urls: Vec<String> = Vec::new();
    for (i, u) in t.urls.iter().enumerate() {
        if !u.starts_with("http://") && !u.starts_with("https://") {
            return Err(err(format!("tsa.urls[{i}] \"{u}\" is not an http(s) URL")));
        }
        if urls.contains(u) {
            return Err(err(format!("tsa.urls[{i}] \"{u}\" is configured twice")));
        }
        urls.push(u.clone());
    }
    if t.trust.is_empty() {
        return Err(err(
            "tsa.trust needs the root certificate(s) the TSA certificates chain to",
        ));
    }
    let roots = TrustRoots::new(load_certs(base, &t.trust, "tsa.trust")?)
        .map_err(|e| err(format!("tsa.trust: {e}")))?;
    let intermediates = load_certs(base, &t.chain_files, "tsa.chain_files")?;
    let required = t.required.unwrap_or(urls.len());
    if !(1..=urls.len()).contains(&required) {
        return Err(err(format!(
            "tsa.required is {required}, but must be between 1 and the number of tsa.urls ({})",
            urls.len()
        )));
    }
    Ok(TsaConfig {
        urls,
        roots,
        intermediates,
        required,
    })
}

impl FileConfig {
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| err(e.to_string()))
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text).map_err(|e| err(format!("{}: {}", path.display(), e.0)))
    }

    /// Applies environment overrides, loads keys and certificates (paths
    /// relative to `base`), and checks that everything fits together.
    pub fn resolve(mut self, base: &Path) -> Result<Config, ConfigError> {
        if let Some(v) = env("NOTARIUM_LISTEN") {
            self.server.listen = v;
        }
        if let Some(v) = env("NOTARIUM_ADMIN_LISTEN") {
            self.server.admin_listen = Some(v);
        }
        if let Some(v) = env("NOTARIUM_METRICS_TOKEN") {
            self.server.metrics_token = Some(v);
        }
        if let Some(v) = env("NOTARIUM_TLS_CERT_FILE") {
            self.server.tls_cert_file = Some(v.into());
        }
        if let Some(v) = env("NOTARIUM_TLS_KEY_FILE") {
            self.server.tls_key_file = Some(v.into());
        }
        if let Some(v) = env("NOTARIUM_PUBLIC_URL") {
            self.server.public_url = Some(v);
        }
        if let Some(v) = env("NOTARIUM_DATA_DIR") {
            self.server.data_dir = v.into();
        }
        if let Some(v) = env("DATABASE_URL") {
            self.server.database_url = Some(v);
        }
        if let Some(v) = env("NOTARIUM_LOG_KEY_FILE") {
            self.log.key_file = Some(v.into());
        }
        if let Some(v) = env("NOTARIUM_BATCH_INTERVAL_MS") {
            self.log.batch_interval_ms = Some(v.parse().map_err(|_| {
                err(format!(
                    "NOTARIUM_BATCH_INTERVAL_MS=\"{v}\" is not a number"
                ))
            })?);
        }
        if let Some(v) = env("NOTARIUM_POLICY") {
            self.trust.policy = Some(v);
        }
        let batch_interval_ms = self
            .log
            .batch_interval_ms
            .unwrap_or_else(|| default_interval(self.server.database_url.is_some()));
        if !(10..=60_000).contains(&batch_interval_ms) {
            return Err(err("log.batch_interval_ms must be between 10 and 60000"));
        }
        if !(1..=100_000).contains(&self.log.batch_size) {
            return Err(err("log.batch_size must be between 1 and 100000"));
        }
        if !(1..=1_000_000).contains(&self.limits.key_cache_capacity) {
            return Err(err(
                "limits.key_cache_capacity must be between 1 and 1000000",
            ));
        }
        if !(1..=86_400).contains(&self.limits.auth_failure_window_s) {
            return Err(err(
                "limits.auth_failure_window_s must be between 1 and 86400",
            ));
        }
        if !(1..=32).contains(&self.limits.intake_workers) {
            return Err(err("limits.intake_workers must be between 1 and 32"));
        }
        self.server
            .listen
            .parse::<std::net::SocketAddr>()
            .map_err(|_| {
                err(format!(
                    "server.listen \"{}\" is not an address:port",
                    self.server.listen
                ))
            })?;
        if let Some(a) = &self.server.admin_listen
            && a.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(err(format!(
                "server.admin_listen \"{a}\" is not an address:port"
            )));
        }
        if self
            .server
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.trim().len() < 16 || t.trim() != t)
        {
            return Err(err(
                "server.metrics_token must be at least 16 characters, without spaces around",
            ));
        }

        let tls = match (&self.server.tls_cert_file, &self.server.tls_key_file) {
            (None, None) => None,
            (Some(c), Some(k)) => Some(
                notarium_http::tls::CertReloader::load(
                    &resolve_path(base, c),
                    &resolve_path(base, k),
                )
                .map_err(|e| err(format!("server.{e}")))?,
            ),
            _ => {
                return Err(err(
                    "server.tls_cert_file and server.tls_key_file go together: set both, or neither",
                ));
            }
        };
        let witness_cas = match &self.trust.witness_ca_file {
            Some(f) => load_cas(&resolve_path(base, f), "trust.witness_ca_file")?,
            None => Vec::new(),
        };

        let key_pem = match (env("NOTARIUM_LOG_KEY_PEM"), &self.log.key_file) {
            (Some(pem), _) => pem,
            (None, Some(f)) => read(base, f, "log.key_file")?,
            (None, None) => return Err(err("log.key_file (or NOTARIUM_LOG_KEY_PEM) is required")),
        };
        let key = SigningKey::from_pkcs8_pem(&key_pem).map_err(|e| err(format!("log key: {e}")))?;
        let roots = TrustRoots::new(load_certs(base, &self.trust.roots, "trust.roots")?)
            .map_err(|e| err(format!("trust.roots: {e}")))?;
        let policy = match &self.trust.policy {
            Some(p) => Policy::parse(p).map_err(|e| err(format!("trust.policy: {e}")))?,
            None => Policy::default(),
        };

        let notary = load_certs(
            base,
            std::slice::from_ref(&self.log.cert_file),
            "log.cert_file",
        )?
        .remove(0);
        let notary_chain = load_certs(base, &self.log.chain_files, "log.chain_files")?;
        if notary.key != *key.public() {
            return Err(err(
                "log.cert_file does not certify the key in log.key_file",
            ));
        }
        let now = notarium_log::clock::now().unix_seconds();
        let chain = notarium_core::identity::Chain::build(&roots, &notary, &notary_chain, now)
            .map_err(|e| err(format!("log.cert_file: {e}")))?;
        if chain.role != Role::Notary {
            return Err(err(format!(
                "log.cert_file has role {} (subject OU), not notary",
                chain.role
            )));
        }
        if chain.name != self.log.origin {
            return Err(err(format!(
                "log.origin is \"{}\" but the notary certificate's CN is \"{}\"",
                self.log.origin, chain.name
            )));
        }
        let mut pems = vec![pem_encode("CERTIFICATE", &notary.der)];
        pems.extend(
            notary_chain
                .iter()
                .map(|c| pem_encode("CERTIFICATE", &c.der)),
        );
        let mut notary_certs =
            vec![SignerCert::new(&roots, notary.clone(), &notary_chain, now, "log.cert_file")?.0];
        for (i, f) in self.log.previous_cert_files.iter().enumerate() {
            let what = format!("log.previous_cert_files[{i}] {}", f.display());
            let cert =
                load_certs(base, std::slice::from_ref(f), "log.previous_cert_files")?.remove(0);
            let (signer, chain) = SignerCert::new(&roots, cert, &notary_chain, now, &what)?;
            if chain.role != Role::Notary || chain.name != self.log.origin {
                return Err(err(format!(
                    "{what}: role {} and CN \"{}\"; a previous notary certificate of this log has OU notary and CN \"{}\"",
                    chain.role, chain.name, self.log.origin
                )));
            }
            if notary_certs.iter().any(|n| n.cert.der == signer.cert.der) {
                return Err(err(format!("{what}: this certificate is configured twice")));
            }
            notary_certs.push(signer);
        }

        let mut witnesses = Vec::new();
        for (i, w) in self.witnesses.iter().enumerate() {
            if !w.url.starts_with("http://") && !w.url.starts_with("https://") {
                return Err(err(format!(
                    "witness[{i}].url \"{}\" is not an http(s) URL",
                    w.url
                )));
            }
            let mut tls_cas = witness_cas.clone();
            if let Some(f) = &w.ca_file {
                tls_cas.extend(load_cas(
                    &resolve_path(base, f),
                    &format!("witness[{i}].ca_file"),
                )?);
            }
            let cert_file = match (&w.cert_file, &w.vkey) {
                (Some(f), None) => f,
                (None, Some(v)) => {
                    let vkey = standard_witness_key(v, w)
                        .map_err(|e| err(format!("witness[{i}].vkey: {e}")))?;
                    if witnesses
                        .iter()
                        .any(|x: &WitnessConfig| x.name == vkey.name)
                    {
                        return Err(err(format!("witness {} is configured twice", vkey.name)));
                    }
                    witnesses.push(WitnessConfig {
                        url: w.url.trim_end_matches('/').to_string(),
                        name: vkey.name.clone(),
                        role: None,
                        certs: Vec::new(),
                        vkey: Some(vkey),
                        tls_cas,
                    });
                    continue;
                }
                _ => {
                    return Err(err(format!(
                        "witness[{i}]: give cert_file (an X.509 role witness) or vkey (a standard C2SP witness), not both or neither"
                    )));
                }
            };
            let what = format!("witness[{i}].cert_file");
            let cert = load_certs(base, std::slice::from_ref(cert_file), &what)?.remove(0);
            let wchain = load_certs(base, &w.chain_files, "witness.chain_files")?;
            let chain = notarium_core::identity::Chain::build(&roots, &cert, &wchain, now)
                .map_err(|e| err(format!("{what}: {e}")))?;
            let mut certs = vec![SignerCert::new(&roots, cert.clone(), &wchain, now, &what)?.0];
            for (j, f) in w.previous_cert_files.iter().enumerate() {
                let what = format!("witness[{i}].previous_cert_files[{j}] {}", f.display());
                let other = load_certs(base, std::slice::from_ref(f), &what)?.remove(0);
                let (signer, other_chain) = SignerCert::new(&roots, other, &wchain, now, &what)?;
                if other_chain.role != chain.role || other_chain.name != chain.name {
                    return Err(err(format!(
                        "{what}: certifies {} witness \"{}\", but witness[{i}].cert_file certifies {} witness \"{}\" (a renewed certificate keeps the name and role)",
                        other_chain.role, other_chain.name, chain.role, chain.name
                    )));
                }
                if certs.iter().any(|c| c.cert.der == signer.cert.der) {
                    return Err(err(format!("{what}: this certificate is configured twice")));
                }
                certs.push(signer);
            }
            if !chain.role.is_witness() {
                return Err(err(format!(
                    "{what} has role {}, not court or arbitration",
                    chain.role
                )));
            }
            if witnesses
                .iter()
                .any(|x: &WitnessConfig| x.name == chain.name)
            {
                return Err(err(format!("witness {} is configured twice", chain.name)));
            }
            for c in std::iter::once(&cert).chain(wchain.iter()) {
                let pem = pem_encode("CERTIFICATE", &c.der);
                if !pems.contains(&pem) {
                    pems.push(pem);
                }
            }
            witnesses.push(WitnessConfig {
                url: w.url.trim_end_matches('/').to_string(),
                name: chain.name.clone(),
                role: Some(chain.role),
                certs,
                vkey: None,
                tls_cas,
            });
        }
        let tsa = match &self.tsa {
            Some(t) => Some(resolve_tsa(base, t)?),
            None => None,
        };
        for req in policy.requirements() {
            let (need, role) = (req.count, req.group);
            if role == Group::Tsa {
                let have = tsa.as_ref().map_or(0, |t| t.required);
                if have < need {
                    return Err(err(format!(
                        "policy \"{policy}\" needs {need} TSA token(s) but [tsa] requires {have} (tsa.required, default: every tsa.urls)"
                    )));
                }
                continue;
            }
            let have = witnesses
                .iter()
                .filter(|w| w.role.map(Group::Role) == Some(role))
                .count();
            if have < need {
                return Err(err(format!(
                    "policy \"{policy}\" needs {need} {role} witness(es) but {have} are configured"
                )));
            }
        }
        let policy_file = match &self.trust.policy_file {
            None => None,
            Some(f) => {
                let text = read(base, f, "trust.policy_file")?;
                let file = PolicyFile::parse(&text)
                    .map_err(|e| err(format!("trust.policy_file {}: {e}", f.display())))?;
                // The quorum must be reachable with the standard witnesses
                // configured, or no checkpoint would ever be final.
                let have: Vec<Option<u64>> = file
                    .witnesses
                    .iter()
                    .map(|(_, k)| {
                        let asked = witnesses
                            .iter()
                            .any(|w| w.vkey.as_ref().is_some_and(|v| v.key == k.key));
                        asked.then_some(0)
                    })
                    .collect();
                if file
                    .quorum_time(&have)
                    .is_some_and(|q| q.satisfied_at.is_none())
                {
                    return Err(err(format!(
                        "trust.policy_file {}: its quorum cannot be met by the [[witness]] vkeys configured",
                        f.display()
                    )));
                }
                Some(file)
            }
        };
        let public_url = self
            .server
            .public_url
            .clone()
            .unwrap_or_else(|| {
                let scheme = if tls.is_some() { "https" } else { "http" };
                format!("{scheme}://{}", self.server.listen)
            })
            .trim_end_matches('/')
            .to_string();
        let data_dir = if self.server.data_dir.is_absolute() {
            self.server.data_dir.clone()
        } else {
            base.join(&self.server.data_dir)
        };
        let seal = match &self.seal {
            None => None,
            Some(s) => Some(Arc::new(seal_section(base, s, &roots, now)?)),
        };
        Ok(Config {
            seal,
            listen: self.server.listen,
            tls,
            admin_listen: self.server.admin_listen,
            metrics_token: self.server.metrics_token,
            public_url,
            data_dir,
            database_url: self.server.database_url,
            template_dir: self
                .server
                .template_dir
                .map(|t| if t.is_absolute() { t } else { base.join(t) }),
            origin: self.log.origin,
            key: Arc::new(key),
            notary_certs,
            certificate_pems: pems,
            witnesses,
            policy,
            policy_file,
            roots,
            batch_interval_ms,
            batch_size: self.log.batch_size,
            limits: self.limits,
            tiles_directory: self.tiles.directory.map(|d| resolve_path(base, &d)),
            tsa,
        })
    }
}

/// A `[[witness]] vkey`: type 0x04 (or 0x01 for the same Ed25519 key), and
/// none of the X.509 witness's options.
fn standard_witness_key(text: &str, w: &WitnessSection) -> Result<Vkey, String> {
    if !w.chain_files.is_empty() || !w.previous_cert_files.is_empty() {
        return Err("chain_files and previous_cert_files go with cert_file".into());
    }
    let k = Vkey::parse(text)?;
    match k.key_type {
        VKEY_COSIGNATURE => Ok(k),
        VKEY_ED25519 => Ok(Vkey {
            key_type: VKEY_COSIGNATURE,
            ..k
        }),
        t => Err(format!(
            "type 0x{t:02x} is not an Ed25519 cosignature/v1 key (0x04)"
        )),
    }
}

/// Loads and checks `[seal]`: the key is the certificate's, the certificate
/// chains to `trust.roots` now and may sign (digitalSignature), the TSA URL
/// is http(s).
fn seal_section(
    base: &Path,
    s: &SealSection,
    roots: &TrustRoots,
    now: i64,
) -> Result<crate::render::PdfSeal, ConfigError> {
    let key = read(base, &s.key_file, "seal.key_file")?;
    let cert_pem = read(base, &s.cert_file, "seal.cert_file")?;
    let seal = notarium_pdf::Seal::from_pem(&key, &cert_pem)
        .map_err(|e| err(format!("seal.key_file and seal.cert_file: {e}")))?;
    let cert = CertInfo::from_der(seal.certificate_der())
        .map_err(|e| err(format!("seal.cert_file: {e}")))?;
    let pool = certs_from_pem_file(&cert_pem).map_err(|e| err(format!("seal.cert_file: {e}")))?;
    roots
        .path(&cert, &pool, now)
        .map_err(|e| err(format!("seal.cert_file: {e}")))?;
    if !cert.digital_signature || cert.is_ca {
        return Err(err(
            "seal.cert_file: the seal certificate needs the digitalSignature key usage and may not be a CA",
        ));
    }
    if let Some(u) = &s.tsa_url
        && !u.starts_with("http://")
        && !u.starts_with("https://")
    {
        return Err(err(format!("seal.tsa_url \"{u}\" is not an http(s) URL")));
    }
    let tsa_roots = if s.tsa_roots.is_empty() {
        roots.clone()
    } else {
        TrustRoots::new(load_certs(base, &s.tsa_roots, "seal.tsa_roots")?)
            .map_err(|e| err(format!("seal.tsa_roots: {e}")))?
    };
    Ok(crate::render::PdfSeal::new(
        seal,
        s.tsa_url.clone(),
        tsa_roots,
    ))
}
