//! The notary's service: its shared state and every operation the HTTP
//! handlers call. It knows no HTTP: it takes what a request carried (a
//! header value, a body, path and query values) and answers a result or a
//! typed [`Error`], which src/api/error.rs maps to a status in one function.

mod auth;
mod error;
mod evidence;
mod log;
mod verify;

pub use error::{Error, Missing, OutOfRange};
pub use evidence::EntryStatus;
pub use notarium_request::{Invalid, MAX_BATCH};

use crate::budget::{Budget, MAX_INFLIGHT_SUBMISSION_BYTES, MAX_INFLIGHT_VERIFY_BYTES};
use crate::config::Config;
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::store::prove;
use notarium_core::Verifier;
use notarium_core::entry::{Entry, SubmitterId};
use notarium_core::merkle::Hash;
use notarium_core::note::Note;
use notarium_core::time::UtcMillis;
use notarium_log::sign::issue_certificate;
use notarium_log::tree::Plan;
use notarium_store::{Store, StoredEntry};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::hash::Hash as StdHash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `POST /v1/verify` requests worked on at once, each on the blocking pool
/// (a certificate PDF is parsed in a few milliseconds; a hostile one within
/// the bounds of notarium_pdf, about 100 MB): the others wait their turn,
/// their bodies held within the in-flight budget.
pub const VERIFY_SLOTS: usize = 2;

/// Most token buckets kept per limit (one per API key, one per client
/// address); beyond, the full ones are forgotten.
const MAX_BUCKETS: usize = 100_000;

/// How recently another process must have signed a checkpoint for this
/// one, not sequencing, to count as ready while entries wait.
const SEQUENCED_WITHIN_MS: i64 = 10_000;

pub struct AppState {
    store: Arc<dyn Store>,
    intake: Intake,
    metrics: Arc<Metrics>,
    config: Arc<Config>,
    verifier: Verifier,
    renderer: Arc<notarium_pdf::Renderer>,
    keys: auth::KeyCache,
    auth_failures: auth::AuthFailures,
    buckets: Mutex<HashMap<Hash, Bucket>>,
    /// `POST /v1/verify` buckets, per client address.
    clients: Mutex<HashMap<IpAddr, Bucket>>,
    verify_slots: tokio::sync::Semaphore,
    /// Bytes of submission bodies in flight.
    pub submission_bytes: Budget,
    /// Bytes of `POST /v1/verify` bodies in flight.
    pub verify_bytes: Budget,
    /// The largest log size this process has read from the store.
    known_log_size: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Who is calling: an authenticated tenant, and the hash of the key it
/// used (rate limits are per key).
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: SubmitterId,
    key: Hash,
}

/// Who sequences the log, when the notary is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequencing {
    ThisProcess,
    AnotherProcess,
}

/// The SHA-256 of an API key, the only form in which keys are stored.
pub fn key_hash(key: &str) -> Hash {
    Sha256::digest(key.as_bytes()).into()
}

/// A new API key: `ntk_` and 64 hex characters (256 random bits).
pub fn new_api_key() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("system randomness");
    format!("ntk_{}", hex::encode(b))
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        intake: Intake,
        metrics: Arc<Metrics>,
        config: Arc<Config>,
        renderer: notarium_pdf::Renderer,
    ) -> Self {
        AppState {
            keys: auth::KeyCache::new(config.limits.key_cache_capacity),
            auth_failures: auth::AuthFailures::new(
                config.limits.auth_failures,
                Duration::from_secs(config.limits.auth_failure_window_s),
            ),
            renderer: Arc::new(renderer),
            verifier: config.verifier(),
            store,
            intake,
            metrics,
            config,
            buckets: Mutex::default(),
            clients: Mutex::default(),
            verify_slots: tokio::sync::Semaphore::new(VERIFY_SLOTS),
            submission_bytes: Budget::new(MAX_INFLIGHT_SUBMISSION_BYTES),
            verify_bytes: Budget::new(MAX_INFLIGHT_VERIFY_BYTES),
            known_log_size: AtomicU64::new(0),
        }
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counts a refusal in `notarium_rejections_total`, by its reason.
    pub fn count(&self, e: &Error) {
        if let Some(reason) = e.rejection() {
            self.metrics.reject(reason);
        }
    }

    /// A log size of at least `size` if the log has that many entries,
    /// else the log's size. The log only grows, so a size this process has
    /// read before answers without asking the store again: a proof for a
    /// tree that size or smaller costs one round trip to the store, not
    /// two.
    async fn log_size_at_least(&self, size: u64) -> Result<u64, Error> {
        let known = self.known_log_size.load(Ordering::Relaxed);
        if size <= known {
            return Ok(known);
        }
        let now = self.store.log_state().await?.size;
        self.known_log_size.fetch_max(now, Ordering::Relaxed);
        Ok(now)
    }

    /// Per-key token bucket; `n` submissions at once.
    fn rate_limit(&self, caller: &Caller, n: usize) -> Result<(), Error> {
        let (rate, burst) = (
            self.config.limits.per_key_rate,
            self.config.limits.per_key_burst,
        );
        take(&self.buckets, caller.key, rate, burst, n)
            .map_err(|retry_after| Error::RateLimited { rate, retry_after })
    }

    /// Per-client token bucket of `POST /v1/verify` (`client`: the peer's
    /// address; an IPv6 address counts by its /64, what one host is given).
    pub fn verify_rate_limit(&self, client: Option<IpAddr>) -> Result<(), Error> {
        let (rate, burst) = (
            self.config.limits.verify_rate,
            self.config.limits.verify_burst,
        );
        let client = match client {
            Some(IpAddr::V6(a)) if a.to_ipv4_mapped().is_none() => {
                IpAddr::V6((u128::from(a) & !((1u128 << 64) - 1)).into())
            }
            Some(IpAddr::V6(a)) => IpAddr::V4(a.to_ipv4_mapped().expect("mapped")),
            Some(a) => a,
            None => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        };
        take(&self.clients, client, rate, burst, 1)
            .map_err(|retry_after| Error::ClientRateLimited { rate, retry_after })
    }

    /// The certificate JSON of an entry, once a final checkpoint covers it.
    async fn certificate(&self, e: &StoredEntry) -> Result<Option<String>, Error> {
        let Some(index) = e.log_index else {
            return Ok(None);
        };
        let Some((fin, timestamps)) = self.issuable(index).await? else {
            return Ok(None);
        };
        let entry = entry_of(e)?;
        let plan =
            Plan::inclusion(index, fin.size).map_err(|e| Error::internal("the final size", e))?;
        let path = prove(&*self.store, &plan).await?;
        let note = Note::parse(&fin.note).map_err(|e| Error::internal("a final checkpoint", e))?;
        let mut cert = issue_certificate(&entry, index, path, note, fin.certificates.clone());
        cert.timestamps = timestamps;
        Ok(Some(cert.to_json()))
    }

    /// The final checkpoint that certifies leaf `index`, with the base64
    /// timestamp tokens its certificates carry, once it may be issued: it
    /// is the first final checkpoint covering the leaf, and with `[tsa]`
    /// configured it holds `tsa.required` tokens (the first that many in
    /// the order they were stored, so the certificate's bytes never
    /// change once issued).
    async fn issuable(
        &self,
        index: u64,
    ) -> Result<Option<(notarium_store::FinalCheckpoint, Vec<String>)>, Error> {
        let Some(fin) = self.store.first_final_covering(index).await? else {
            return Ok(None);
        };
        let Some(tsa) = &self.config.tsa else {
            return Ok(Some((fin, Vec::new())));
        };
        let mut tokens = self.store.timestamp_tokens(fin.size).await?;
        if tokens.len() < tsa.required {
            return Ok(None);
        }
        tokens.sort_by(|a, b| (a.stored_ms, &a.tsa).cmp(&(b.stored_ms, &b.tsa)));
        let timestamps = tokens[..tsa.required]
            .iter()
            .map(|t| notarium_core::encoding::b64(&t.token))
            .collect();
        Ok(Some((fin, timestamps)))
    }

    /// Ready to take submissions: the store answers, and the log is being
    /// sequenced (by us, or by another process that holds the lease).
    pub async fn readiness(&self) -> Result<Sequencing, Error> {
        self.store.ping().await?;
        if self.metrics.leader.load(Ordering::Relaxed) {
            return Ok(Sequencing::ThisProcess);
        }
        // Another process holds the lease if the log keeps moving: nothing
        // waits, or a checkpoint was signed recently.
        let pending = self.store.pending_count().await?;
        let recent = self.store.latest_checkpoint().await?.is_some_and(|c| {
            notarium_log::clock::now().millis() - c.created_ms < SEQUENCED_WITHIN_MS
        });
        if pending > 0 && !recent {
            return Err(Error::NoSequencer { pending });
        }
        Ok(Sequencing::AnotherProcess)
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics_text(&self) -> String {
        // Pending first: a batch leaves the queue and enters the log in one
        // transaction, so once nothing is pending the size read next counts it.
        let pending = self.store.pending_count().await.ok();
        let log_size = self.store.log_state().await.ok().map(|s| s.size);
        self.metrics.render(
            pending,
            log_size,
            (self.intake.queued(), self.intake.committing()),
        )
    }
}

/// Token bucket `key` of `buckets` (`rate` per second, at most `burst`):
/// takes `n`, or answers the seconds to wait. A request larger than the
/// burst is admitted once the bucket is full and leaves it in debt (the
/// caller then waits in proportion), else it could never pass however long
/// the client honoured Retry-After. Rate 0: unlimited.
fn take<K: StdHash + Eq>(
    buckets: &Mutex<HashMap<K, Bucket>>,
    key: K,
    rate: u32,
    burst: u32,
    n: usize,
) -> Result<(), u64> {
    if rate == 0 {
        return Ok(());
    }
    let per_second = f64::from(rate);
    let burst = f64::from(burst).max(1.0);
    let mut buckets = buckets.lock().expect("buckets");
    let now = Instant::now();
    let refill = |b: &Bucket| b.tokens + now.duration_since(b.at).as_secs_f64() * per_second;
    if buckets.len() >= MAX_BUCKETS {
        buckets.retain(|_, b| refill(b) < burst);
        if buckets.len() >= MAX_BUCKETS {
            buckets.clear();
        }
    }
    let b = buckets.entry(key).or_insert(Bucket {
        tokens: burst,
        at: now,
    });
    b.tokens = refill(b).min(burst);
    b.at = now;
    let need = (n as f64).min(burst);
    if b.tokens >= need {
        b.tokens -= n as f64;
        Ok(())
    } else {
        Err(((need - b.tokens) / per_second).ceil().max(1.0) as u64)
    }
}

/// Rebuilds the core entry of a stored row.
pub(crate) fn entry_of(e: &StoredEntry) -> Result<Entry, Error> {
    let r = &e.entry;
    fn stored(e: impl std::fmt::Display) -> Error {
        Error::internal("a stored entry", e)
    }
    Ok(Entry {
        evidence_sha256: r.evidence_sha256,
        salt: r.salt,
        metadata: r.metadata.clone(),
        submitter: r.tenant.clone(),
        received: UtcMillis::from_millis(r.received_ms).map_err(stored)?,
    })
}
