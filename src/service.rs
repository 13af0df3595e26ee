//! The notary's shared state and the operations handlers call. Handlers
//! stay thin: extract, call here, respond.

use crate::api::error::ApiError;
use crate::config::Config;
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::store::prove;
use actix_web::http::StatusCode;
use notarium_core::Verifier;
use notarium_core::entry::{Entry, Metadata, SubmitterId};
use notarium_core::merkle::Hash;
use notarium_core::note::Note;
use notarium_core::time::UtcMillis;
use notarium_log::sign::issue_certificate;
use notarium_log::tree::Plan;
use notarium_store::{Store, StoredEntry};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an API key lookup is cached.
const KEY_CACHE_TTL: Duration = Duration::from_secs(30);

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub intake: Intake,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
    pub verifier: Verifier,
    pub renderer: Arc<notarium_pdf::Renderer>,
    keys: Mutex<HashMap<Hash, (Option<SubmitterId>, Instant)>>,
    buckets: Mutex<HashMap<Hash, Bucket>>,
    /// Bytes of submission bodies in flight (see `api::read_budgeted_body`).
    pub submission_bytes: crate::api::Budget,
    /// Bytes of `POST /v1/verify` bodies in flight.
    pub verify_bytes: crate::api::Budget,
    /// The largest log size this process has read from the store.
    known_log_size: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
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
            renderer: Arc::new(renderer),
            verifier: config.verifier(),
            store,
            intake,
            metrics,
            config,
            keys: Mutex::default(),
            buckets: Mutex::default(),
            submission_bytes: crate::api::Budget::new(crate::api::MAX_INFLIGHT_SUBMISSION_BYTES),
            verify_bytes: crate::api::Budget::new(crate::api::MAX_INFLIGHT_VERIFY_BYTES),
            known_log_size: AtomicU64::new(0),
        }
    }

    /// A log size of at least `size` if the log has that many entries,
    /// else the log's size. The log only grows, so a size this process has
    /// read before answers without asking the store again: a proof for a
    /// tree that size or smaller costs one round trip to the store, not
    /// two.
    pub async fn log_size_at_least(&self, size: u64) -> Result<u64, ApiError> {
        let known = self.known_log_size.load(Ordering::Relaxed);
        if size <= known {
            return Ok(known);
        }
        let now = self.store.log_state().await?.size;
        self.known_log_size.fetch_max(now, Ordering::Relaxed);
        Ok(now)
    }

    /// The tenant of a `Bearer` API key.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<(SubmitterId, Hash), ApiError> {
        let key = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                self.metrics.reject("unauthorized");
                ApiError::unauthorized("an API key is required: Authorization: Bearer <key>")
            })?;
        let h = key_hash(key);
        let cached = self
            .keys
            .lock()
            .expect("key cache")
            .get(&h)
            .filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL)
            .map(|(t, _)| t.clone());
        let tenant = match cached {
            Some(t) => t,
            None => {
                let t = self
                    .store
                    .tenant_for_key(&h)
                    .await?
                    .and_then(|t| SubmitterId::parse(&t).ok());
                let mut cache = self.keys.lock().expect("key cache");
                if cache.len() > 100_000 {
                    cache.clear();
                }
                cache.insert(h, (t.clone(), Instant::now()));
                t
            }
        };
        match tenant {
            Some(t) => Ok((t, h)),
            None => {
                self.metrics.reject("unauthorized");
                Err(ApiError::unauthorized("unknown API key"))
            }
        }
    }

    /// Per-key token bucket; `n` submissions at once.
    pub fn rate_limit(&self, key: &Hash, n: usize) -> Result<(), ApiError> {
        let rate = self.config.limits.per_key_rate as f64;
        if rate <= 0.0 {
            return Ok(());
        }
        let burst = (self.config.limits.per_key_burst as f64).max(1.0);
        let mut buckets = self.buckets.lock().expect("buckets");
        let now = Instant::now();
        let b = buckets.entry(*key).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        // The bucket never holds more than `burst`: a batch larger than
        // that is admitted once the bucket is full and leaves it in debt
        // (the key then waits in proportion), else it could never pass
        // however long the client honoured Retry-After.
        let need = (n as f64).min(burst);
        if b.tokens >= need {
            b.tokens -= n as f64;
            Ok(())
        } else {
            let wait = ((need - b.tokens) / rate).ceil().max(1.0) as u64;
            self.metrics.reject("rate_limited");
            Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("this API key may submit {rate} entries per second"),
            )
            .retry_after(wait))
        }
    }

    /// Whether an entry is final, and its certificate JSON if so.
    pub async fn certificate(&self, e: &StoredEntry) -> Result<Option<(String, u64)>, ApiError> {
        let Some(index) = e.log_index else {
            return Ok(None);
        };
        let Some(fin) = self.store.first_final_covering(index).await? else {
            return Ok(None);
        };
        let entry = entry_of(e)?;
        let plan = Plan::inclusion(index, fin.size).map_err(ApiError::internal)?;
        let path = prove(&*self.store, &plan).await?;
        let note = Note::parse(&fin.note).map_err(ApiError::internal)?;
        let cert = issue_certificate(&entry, index, path, note, fin.certificates.clone());
        Ok(Some((cert.to_json(), fin.size)))
    }
}

/// Rebuilds the core entry of a stored row.
pub fn entry_of(e: &StoredEntry) -> Result<Entry, ApiError> {
    let r = &e.entry;
    Ok(Entry {
        evidence_sha256: r.evidence_sha256,
        salt: r.salt,
        metadata: r
            .metadata
            .as_deref()
            .map(Metadata::from_text)
            .transpose()
            .map_err(ApiError::internal)?,
        submitter: SubmitterId::parse(&r.tenant).map_err(ApiError::internal)?,
        received: UtcMillis::from_millis(r.received_ms).map_err(ApiError::internal)?,
    })
}
