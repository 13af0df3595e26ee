//! Submissions: entries are built at once (salt, commitments, received
//! time), then committed in groups: whatever arrived while the previous
//! commit was in flight goes into the next one, in one durable transaction,
//! and one notary signature covers the group's receipts. A submission is
//! answered only after its group's commit returned.

use crate::metrics::Metrics;
use notarium_core::encoding::hex_lower;
use notarium_core::entry::{Entry, Metadata, SubmitterId};
use notarium_core::merkle::{Hash, leaf_hash};
use notarium_core::time::UtcMillis;
use notarium_log::sign::sign_receipts_for_leaves;
use notarium_log::{SignError, SigningKey};
use notarium_store::{Claim, Earlier, IDEMPOTENCY_WINDOW_MS, NewEntry, Store, StoreError};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Why a submission was not accepted; nothing of it was stored, except
/// after `Receipts` (see there).
#[derive(Debug, Clone, thiserror::Error)]
pub enum IntakeError {
    #[error("the notary is at capacity, try again shortly")]
    Overloaded,
    /// The group commit failed: one store error answers every submission
    /// of the group, hence shared.
    #[error("storage: {0}")]
    Store(Arc<StoreError>),
    #[error("the notary is shutting down")]
    ShuttingDown,
    /// The entries are stored (and will be logged) but their receipts
    /// could not be signed.
    #[error("signing the receipts: {0}")]
    Receipts(SignError),
    /// The `Idempotency-Key` was used for another request in the window.
    #[error("this Idempotency-Key was used with another request in the last 24 hours")]
    KeyReused,
}

/// A submission's `Idempotency-Key` and what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnceKey {
    /// The key the header names (`notarium_request::parse_idempotency_key`).
    pub key: String,
    /// SHA-256 of the endpoint and the request body.
    pub request: Hash,
}

/// A job's answer: its entries, or the earlier use of its key.
#[derive(Debug, Clone)]
enum Outcome {
    Stored(Vec<Accepted>),
    Earlier(Earlier),
}

struct Job {
    entries: Vec<(NewEntry, String)>,
    once: Option<OnceKey>,
    reply: oneshot::Sender<Result<Outcome, IntakeError>>,
}

/// The handle handlers submit through.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Job>,
    /// Where repeated `Idempotency-Key` requests find their first answer.
    store: Arc<dyn Store>,
    /// Entries submitted and not yet taken by a commit worker.
    queued: Arc<AtomicUsize>,
    /// Entries a commit worker has taken and not yet answered.
    committing: Arc<AtomicUsize>,
    limit: usize,
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
/// (sortable by time, unguessable). The store may name the entry anew
/// when it commits it, keeping some of the random bits (PostgreSQL keeps
/// 56: see `Store::insert_entries`); the answer carries the stored id.
fn new_id(random: &[u8], now: UtcMillis) -> String {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&now.millis().to_be_bytes()[2..]);
    b[6..].copy_from_slice(random);
    hex_lower(&b)
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
                tenant: tenant.clone(),
                evidence_sha256: digest,
                salt,
                metadata: entry.metadata.clone(),
                received_ms: received.millis(),
                leaf_hash: leaf_hash(text.as_bytes()),
            };
            (row, text)
        })
        .collect()
}

impl Intake {
    /// Starts `workers` group-commit workers. `queue` bounds the entries
    /// waiting for a commit (admission control: beyond it, submissions get
    /// 503; a single submission larger than the bound is admitted only when
    /// nothing waits).
    pub fn start(
        store: Arc<dyn Store>,
        key: Arc<SigningKey>,
        origin: String,
        queue: usize,
        group_max: usize,
        workers: usize,
        metrics: Arc<Metrics>,
    ) -> Self {
        // Every job holds at least one entry, so `queue` jobs never bind
        // before `queue` entries do.
        let (tx, rx) = mpsc::channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let queued = Arc::new(AtomicUsize::new(0));
        let committing = Arc::new(AtomicUsize::new(0));
        for _ in 0..workers.max(1) {
            let (rx, queued, committing, store, key, origin, metrics) = (
                rx.clone(),
                queued.clone(),
                committing.clone(),
                store.clone(),
                key.clone(),
                origin.clone(),
                metrics.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let (jobs, n) = {
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
                        committing.fetch_add(n, Ordering::Relaxed);
                        queued.fetch_sub(n, Ordering::Relaxed);
                        (jobs, n)
                    };
                    commit_group(&*store, &key, &origin, jobs, &metrics).await;
                    committing.fetch_sub(n, Ordering::Relaxed);
                }
            });
        }
        Intake {
            tx,
            store,
            queued,
            committing,
            limit: queue.max(1),
            rng: SystemRandom::new(),
        }
    }

    /// Entries submitted and not yet taken by a commit worker.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Entries taken by a commit worker and not yet answered.
    pub fn committing(&self) -> usize {
        self.committing.load(Ordering::Relaxed)
    }

    /// Builds the entries for `items` (digest, metadata) of `tenant` and
    /// waits until they are durable; all or none.
    pub async fn submit(
        &self,
        tenant: &SubmitterId,
        items: Vec<([u8; 32], Option<Metadata>)>,
    ) -> Result<Vec<Accepted>, IntakeError> {
        self.submit_once(tenant, items, None).await
    }

    /// [`Intake::submit`] under an `Idempotency-Key`: if the tenant used
    /// `once.key` in the last 24 hours for the same request, nothing is
    /// stored and the answer is that request's first answer (its entries,
    /// ids and receipts); for another request, `KeyReused`.
    pub async fn submit_once(
        &self,
        tenant: &SubmitterId,
        items: Vec<([u8; 32], Option<Metadata>)>,
        once: Option<OnceKey>,
    ) -> Result<Vec<Accepted>, IntakeError> {
        let n = items.len();
        let before = self.queued.fetch_add(n, Ordering::Relaxed);
        if before > 0 && before + n > self.limit {
            self.queued.fetch_sub(n, Ordering::Relaxed);
            return Err(IntakeError::Overloaded);
        }
        let received = notarium_log::clock::now();
        // One system randomness call for the whole submission (salts and
        // ids), not two per entry.
        let mut random = vec![0u8; items.len() * RANDOM_PER_ENTRY];
        self.rng.fill(&mut random).expect("system randomness");
        let entries = build_entries(tenant, items, received, &random);
        let request = once.as_ref().map(|o| o.request);
        let (reply, rx) = oneshot::channel();
        self.tx
            .try_send(Job {
                entries,
                once,
                reply,
            })
            .map_err(|e| {
                self.queued.fetch_sub(n, Ordering::Relaxed);
                match e {
                    mpsc::error::TrySendError::Full(_) => IntakeError::Overloaded,
                    mpsc::error::TrySendError::Closed(_) => IntakeError::ShuttingDown,
                }
            })?;
        match rx.await.map_err(|_| IntakeError::ShuttingDown)?? {
            Outcome::Stored(accepted) => Ok(accepted),
            Outcome::Earlier(e) if Some(e.request) == request => self.answer_again(tenant, e).await,
            Outcome::Earlier(_) => Err(IntakeError::KeyReused),
        }
    }

    /// The first answer to a repeated request, rebuilt from its stored
    /// entries (ids, texts, salts, received times) and the receipts kept
    /// with its key.
    async fn answer_again(
        &self,
        tenant: &SubmitterId,
        earlier: Earlier,
    ) -> Result<Vec<Accepted>, IntakeError> {
        let store_err = |e| IntakeError::Store(Arc::new(e));
        if earlier.ids.len() != earlier.receipts.len() {
            return Err(store_err(StoreError::Database(format!(
                "an Idempotency-Key names {} entries and {} receipts",
                earlier.ids.len(),
                earlier.receipts.len()
            ))));
        }
        let mut found = Vec::with_capacity(earlier.ids.len());
        for id in &earlier.ids {
            let e = self.store.get_entry(tenant, id).await.map_err(store_err)?;
            let e = e.ok_or_else(|| {
                store_err(StoreError::NotFound(format!(
                    "entry {id} of an Idempotency-Key"
                )))
            })?;
            let received = UtcMillis::from_millis(e.entry.received_ms)
                .map_err(|err| store_err(StoreError::Database(format!("entry {id}: {err}"))))?;
            let r = e.entry;
            let text = Entry {
                evidence_sha256: r.evidence_sha256,
                salt: r.salt,
                metadata: r.metadata.clone(),
                submitter: r.tenant.clone(),
                received,
            }
            .leaf_text();
            found.push((r, text));
        }
        Ok(accepted(found.into_iter().zip(earlier.receipts)))
    }
}

/// The answers for stored rows with their entry texts and receipts.
fn accepted(rows: impl Iterator<Item = ((NewEntry, String), String)>) -> Vec<Accepted> {
    // The entries of a submission share their received time: format it once.
    let mut received: (i64, String) = (i64::MIN, String::new());
    rows.map(|((row, text), receipt)| Accepted {
        received_at: {
            if received.0 != row.received_ms {
                let at = UtcMillis::from_millis(row.received_ms).expect("a received time");
                received = (row.received_ms, at.to_text());
            }
            received.1.clone()
        },
        salt_hex: hex_lower(&row.salt),
        id: row.id,
        entry_text: text,
        receipt,
    })
    .collect()
}

async fn commit_group(
    store: &dyn Store,
    key: &SigningKey,
    origin: &str,
    mut jobs: Vec<Job>,
    metrics: &Metrics,
) {
    // A job that repeats the key of an earlier job of this group follows
    // it: its rows are dropped and it gets the leader's answer.
    let mut first: HashMap<(SubmitterId, String), usize> = HashMap::new();
    let mut leader: Vec<Option<usize>> = vec![None; jobs.len()];
    for (i, j) in jobs.iter_mut().enumerate() {
        let (Some(once), Some((row, _))) = (&j.once, j.entries.first()) else {
            continue;
        };
        match first.entry((row.tenant.clone(), once.key.clone())) {
            MapEntry::Occupied(o) => {
                leader[i] = Some(*o.get());
                j.entries.clear();
            }
            MapEntry::Vacant(v) => {
                v.insert(i);
            }
        }
    }
    // The group's rows are moved out of the jobs into one slice for the
    // store (not copied), and handed back to each job in order below,
    // under the ids the store gave them.
    let counts: Vec<usize> = jobs.iter().map(|j| j.entries.len()).collect();
    let mut claims = Vec::new();
    let mut claim_of = vec![None; jobs.len()];
    let mut at = 0;
    for (i, (j, n)) in jobs.iter().zip(&counts).enumerate() {
        if let (Some(once), Some((row, _))) = (&j.once, j.entries.first()) {
            claim_of[i] = Some(claims.len());
            claims.push(Claim {
                tenant: row.tenant.clone(),
                key: once.key.clone(),
                request: once.request,
                rows: at..at + n,
            });
        }
        at += n;
    }
    let (mut rows, texts): (Vec<NewEntry>, Vec<String>) =
        jobs.iter_mut().flat_map(|j| j.entries.drain(..)).unzip();
    let started = std::time::Instant::now();
    // The receipts' tree has the entries' leaf hashes, already computed.
    // Keyed submissions keep their first answer with the key, so their
    // group's receipts are signed before the commit and stored with it; a
    // repeat's rows are then not stored, and its leaves stay only in the
    // tree of receipts that go to the group's other submissions (a receipt
    // proves its own leaf, never that every leaf of its group is logged).
    let (result, receipts) = if claims.is_empty() {
        (
            store.insert_entries(&mut rows).await.map(|()| Vec::new()),
            None,
        )
    } else {
        let leaves: Vec<_> = rows.iter().map(|r| r.leaf_hash).collect();
        match sign_receipts_for_leaves(origin, key, &leaves) {
            Ok(receipts) => {
                let now = notarium_log::clock::now().millis();
                let since = now - IDEMPOTENCY_WINDOW_MS;
                let result = store
                    .insert_claimed(&mut rows, &claims, &receipts, now, since)
                    .await;
                (result, Some(receipts))
            }
            Err(e) => {
                // Nothing was stored.
                tracing::error!(error = %e, "signing receipts failed");
                for j in jobs {
                    let _ = j.reply.send(Err(IntakeError::Receipts(e.clone())));
                }
                return;
            }
        }
    };
    metrics.observe_commit(rows.len(), started.elapsed());
    let earlier = match result {
        Ok(earlier) => earlier,
        Err(e) => {
            tracing::error!(error = %e, entries = rows.len(), "group commit failed");
            let e = Arc::new(e);
            for j in jobs {
                let _ = j.reply.send(Err(IntakeError::Store(e.clone())));
            }
            return;
        }
    };
    let receipts = match receipts {
        Some(r) => r,
        None => match sign_receipts_for_leaves(
            origin,
            key,
            &rows.iter().map(|r| r.leaf_hash).collect::<Vec<_>>(),
        ) {
            Ok(r) => r,
            Err(e) => {
                // The entries are stored and will be logged; only the receipt failed.
                tracing::error!(error = %e, "signing receipts failed");
                for j in jobs {
                    let _ = j.reply.send(Err(IntakeError::Receipts(e.clone())));
                }
                return;
            }
        },
    };
    let mut accepted_rows = rows.into_iter().zip(texts).zip(receipts);
    let mut outcomes: Vec<Result<Outcome, IntakeError>> = Vec::with_capacity(jobs.len());
    for (i, n) in counts.iter().enumerate() {
        let mine: Vec<_> = accepted_rows.by_ref().take(*n).collect();
        outcomes.push(match leader[i] {
            // A repeat within the group: the leader's first use of the key,
            // if it is for the same request; an earlier use is for the
            // caller to judge (see `submit_once`).
            Some(l) => match &outcomes[l] {
                Ok(Outcome::Stored(_))
                    if jobs[l].once.as_ref().map(|o| o.request)
                        != jobs[i].once.as_ref().map(|o| o.request) =>
                {
                    Err(IntakeError::KeyReused)
                }
                other => other.clone(),
            },
            None => match claim_of[i].and_then(|c| earlier[c].clone()) {
                Some(e) => Ok(Outcome::Earlier(e)),
                None => Ok(Outcome::Stored(accepted(mine.into_iter()))),
            },
        });
    }
    for (j, outcome) in jobs.into_iter().zip(outcomes) {
        let _ = j.reply.send(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    async fn until(what: &str, mut f: impl FnMut() -> bool) {
        let end = Instant::now() + Duration::from_secs(20);
        while !f() {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn items(n: usize) -> Vec<([u8; 32], Option<Metadata>)> {
        (0..n).map(|i| ([i as u8; 32], None)).collect()
    }

    /// The queue bound counts entries, not requests: while a commit is
    /// stuck (another connection holds SQLite's write lock), submissions are
    /// admitted until the waiting entries would pass the bound, then 503.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_queue_bound_counts_entries() {
        let dir = std::env::temp_dir().join(format!("notarium-intake-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("notary.db");
        let store = notarium_store::SqliteStore::open(&db).unwrap();
        store.migrate().await.unwrap();
        store
            .add_tenant(&SubmitterId::parse("acme").unwrap(), 0)
            .await
            .unwrap();
        let key = SigningKey::from_pkcs8_pem(include_str!("../certs/notary.key")).unwrap();
        let intake = Intake::start(
            Arc::new(store),
            Arc::new(key),
            "notarium.example/log".into(),
            10,
            4096,
            1,
            Arc::new(Metrics::default()),
        );
        let tenant = SubmitterId::parse("acme").unwrap();
        let blocker = rusqlite::Connection::open(&db).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

        let submit = |n: usize| {
            let (intake, tenant) = (intake.clone(), tenant.clone());
            tokio::spawn(async move { intake.submit(&tenant, items(n)).await })
        };
        let a = submit(3);
        // Taken alone: had `b` been submitted before the worker woke, both
        // would have gone into one commit.
        until("the worker to take the first job", || {
            intake.committing() == 3
        })
        .await;
        assert_eq!(intake.queued(), 0);
        let b = submit(6);
        until("6 entries waiting", || intake.queued() == 6).await;
        let c = submit(4);
        until("10 entries waiting", || intake.queued() == 10).await;
        // One more entry would pass the bound of 10.
        assert!(matches!(
            intake.submit(&tenant, items(1)).await,
            Err(IntakeError::Overloaded)
        ));
        assert_eq!(intake.queued(), 10, "a refused submission leaves no trace");

        blocker.execute_batch("ROLLBACK").unwrap();
        for (job, n) in [(a, 3), (b, 6), (c, 4)] {
            assert_eq!(job.await.unwrap().unwrap().len(), n);
        }
        assert_eq!(intake.queued(), 0);
        until("every commit answered", || intake.committing() == 0).await;
        // Nothing waits: a submission larger than the bound is admitted.
        assert_eq!(intake.submit(&tenant, items(25)).await.unwrap().len(), 25);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
