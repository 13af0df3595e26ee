//! Submissions: entries are built at once (salt, commitments, received
//! time), then committed in groups: whatever arrived while the previous
//! commit was in flight goes into the next one, in one durable transaction,
//! and one notary signature covers the group's receipts. A submission is
//! answered only after its group's commit returned.

use crate::metrics::Metrics;
use notarium_core::entry::{Entry, Metadata, SubmitterId};
use notarium_core::keys::SigningKey;
use notarium_core::merkle::leaf_hash;
use notarium_core::receipt::sign_receipts;
use notarium_core::time::UtcMillis;
use notarium_store::{NewEntry, Store};
use ring::rand::{SecureRandom, SystemRandom};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

/// One accepted entry, with its receipt.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub id: String,
    pub received_at: String,
    pub entry_text: String,
    pub salt_hex: String,
    pub receipt: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("the notary is at capacity, try again shortly")]
    Overloaded,
    #[error("storage: {0}")]
    Store(String),
    #[error("the notary is shutting down")]
    ShuttingDown,
}

struct Job {
    entries: Vec<(NewEntry, String)>,
    reply: oneshot::Sender<Result<Vec<Accepted>, IntakeError>>,
}

/// The handle handlers submit through.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Job>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake").finish_non_exhaustive()
    }
}

/// Random bytes per entry: a 32-byte salt, then the id's 80 random bits.
pub const RANDOM_PER_ENTRY: usize = 32 + 10;

/// An id: 48-bit milliseconds then 80 random bits, as 32 hex characters
/// (sortable by time, unguessable).
fn new_id(random: &[u8], now: UtcMillis) -> String {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&now.millis().to_be_bytes()[2..]);
    b[6..].copy_from_slice(random);
    hex::encode(b)
}

/// The stored rows and entry texts of `items` received at `received`;
/// `random` holds [`RANDOM_PER_ENTRY`] fresh random bytes per item (salt
/// and id).
pub fn build_entries(
    tenant: &SubmitterId,
    items: Vec<([u8; 32], Option<Metadata>)>,
    received: UtcMillis,
    random: &[u8],
) -> Vec<(NewEntry, String)> {
    assert_eq!(random.len(), items.len() * RANDOM_PER_ENTRY);
    items
        .into_iter()
        .zip(random.chunks_exact(RANDOM_PER_ENTRY))
        .map(|((digest, metadata), random)| {
            let (salt_bytes, id_bytes) = random.split_at(32);
            let mut salt = [0u8; 32];
            salt.copy_from_slice(salt_bytes);
            let entry = Entry {
                evidence_sha256: digest,
                salt,
                metadata,
                submitter: tenant.clone(),
                received,
            };
            let text = entry.leaf_text();
            let row = NewEntry {
                id: new_id(id_bytes, received),
                tenant: tenant.to_string(),
                evidence_sha256: digest,
                salt,
                metadata: entry.metadata.as_ref().map(|m| m.as_str().to_string()),
                received_ms: received.millis(),
                leaf_hash: leaf_hash(text.as_bytes()),
            };
            (row, text)
        })
        .collect()
}

impl Intake {
    /// Starts `workers` group-commit workers. `queue` bounds the jobs
    /// waiting (admission control: beyond it, submissions get 503).
    pub fn start(
        store: Arc<dyn Store>,
        key: Arc<SigningKey>,
        origin: String,
        queue: usize,
        group_max: usize,
        workers: usize,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..workers.max(1) {
            let (rx, store, key, origin, metrics) = (
                rx.clone(),
                store.clone(),
                key.clone(),
                origin.clone(),
                metrics.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let jobs = {
                        let mut rx = rx.lock().await;
                        let Some(first) = rx.recv().await else { return };
                        let mut n = first.entries.len();
                        let mut jobs = vec![first];
                        while n < group_max {
                            match rx.try_recv() {
                                Ok(j) => {
                                    n += j.entries.len();
                                    jobs.push(j);
                                }
                                Err(_) => break,
                            }
                        }
                        jobs
                    };
                    commit_group(&*store, &key, &origin, jobs, &metrics).await;
                }
            });
        }
        Intake {
            tx,
            rng: SystemRandom::new(),
        }
    }

    /// Builds the entries for `items` (digest, metadata) of `tenant` and
    /// waits until they are durable; all or none.
    pub async fn submit(
        &self,
        tenant: &SubmitterId,
        items: Vec<([u8; 32], Option<Metadata>)>,
    ) -> Result<Vec<Accepted>, IntakeError> {
        let received = UtcMillis::now();
        // One system randomness call for the whole submission (salts and
        // ids), not two per entry.
        let mut random = vec![0u8; items.len() * RANDOM_PER_ENTRY];
        self.rng.fill(&mut random).expect("system randomness");
        let entries = build_entries(tenant, items, received, &random);
        let (reply, rx) = oneshot::channel();
        self.tx
            .try_send(Job { entries, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => IntakeError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => IntakeError::ShuttingDown,
            })?;
        rx.await.map_err(|_| IntakeError::ShuttingDown)?
    }
}

async fn commit_group(
    store: &dyn Store,
    key: &SigningKey,
    origin: &str,
    jobs: Vec<Job>,
    metrics: &Metrics,
) {
    let rows: Vec<NewEntry> = jobs
        .iter()
        .flat_map(|j| j.entries.iter().map(|(r, _)| r.clone()))
        .collect();
    let started = std::time::Instant::now();
    let result = store.insert_entries(&rows).await;
    metrics.observe_commit(rows.len(), started.elapsed());
    if let Err(e) = result {
        tracing::error!(error = %e, entries = rows.len(), "group commit failed");
        for j in jobs {
            let _ = j.reply.send(Err(IntakeError::Store(e.to_string())));
        }
        return;
    }
    let texts: Vec<&[u8]> = jobs
        .iter()
        .flat_map(|j| j.entries.iter().map(|(_, t)| t.as_bytes()))
        .collect();
    let receipts = match sign_receipts(origin, key, &texts) {
        Ok(r) => r,
        Err(e) => {
            // The entries are stored and will be logged; only the receipt failed.
            tracing::error!(error = %e, "signing receipts failed");
            for j in jobs {
                let _ = j
                    .reply
                    .send(Err(IntakeError::Store("receipt signing failed".into())));
            }
            return;
        }
    };
    let mut receipts = receipts.into_iter();
    for j in jobs {
        let accepted = j
            .entries
            .into_iter()
            .map(|(row, text)| Accepted {
                received_at: UtcMillis::from_millis(row.received_ms)
                    .expect("now")
                    .to_text(),
                salt_hex: hex::encode(row.salt),
                id: row.id,
                entry_text: text,
                receipt: receipts.next().expect("one receipt per entry"),
            })
            .collect();
        let _ = j.reply.send(Ok(accepted));
    }
}
