//! The sequencer: pending entries → consecutive indices → stored subtree
//! hashes → a signed checkpoint, one batch per interval. Only the holder of
//! the store's sequencer lease runs batches, and the store refuses a batch
//! from a deposed holder (epoch fencing), so the log never forks or skips.

use crate::metrics::Metrics;
use notarium_core::checkpoint::Checkpoint;
use notarium_core::error::FormatError;
use notarium_core::merkle::hashes_equal;
use notarium_log::sign::SignCheckpoint;
use notarium_log::tree::Frontier;
use notarium_log::{SignError, SigningKey};
use notarium_store::{Batch, CheckpointRow, IDEMPOTENCY_WINDOW_MS, Lease, Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the sequencer reclaims the pending queue's room
/// ([`Store::tidy_queue`]): at 20,000 submissions/s, 100,000 dead rows.
const TIDY_QUEUE_EVERY: Duration = Duration::from_secs(5);

/// How often the sequencer deletes the `Idempotency-Key` records older than
/// their 24-hour window ([`Store::forget_keys`]).
const FORGET_KEYS_EVERY: Duration = Duration::from_secs(60);

/// Why a batch was not appended.
#[derive(Debug, thiserror::Error)]
enum BatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configured origin cannot name a checkpoint (the configuration
    /// is checked at start, so a bug).
    #[error("the checkpoint: {0}")]
    Checkpoint(FormatError),
    #[error("signing the checkpoint: {0}")]
    Sign(SignError),
}

#[derive(Clone)]
pub struct Sequencer {
    pub store: Arc<dyn Store>,
    pub key: Arc<SigningKey>,
    pub origin: String,
    pub interval: Duration,
    pub batch_size: u32,
    pub metrics: Arc<Metrics>,
    /// Who we are, for the lease (host, pid).
    pub holder: String,
    /// Receives the size of every new checkpoint.
    pub checkpoints: watch::Sender<u64>,
}

impl Sequencer {
    /// Runs until `shutdown` turns true; a batch in flight is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            let lease = match self.store.acquire_sequencer(&self.holder).await {
                Ok(Some(l)) => l,
                Ok(None) => {
                    self.metrics.leader.store(false, Ordering::Relaxed);
                    wait(&mut shutdown, Duration::from_millis(1000)).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot try the sequencer lease");
                    wait(&mut shutdown, Duration::from_millis(1000)).await;
                    continue;
                }
            };
            tracing::info!(epoch = lease.epoch, "sequencer lease acquired");
            self.metrics.leader.store(true, Ordering::Relaxed);
            if let Err(e) = self.lead(&lease, &mut shutdown).await {
                tracing::warn!(error = %e, "sequencer stepped down");
            }
            self.metrics.leader.store(false, Ordering::Relaxed);
            let _ = self.store.release_sequencer(&lease).await;
        }
    }

    /// Sequences everything pending now, in batches of `batch_size`, then
    /// releases the lease; returns how many entries were appended. Fails at
    /// once if another process holds the lease (for the bulk loader, which
    /// runs while no notary sequences).
    pub async fn drain(&self) -> anyhow::Result<u64> {
        let Some(lease) = self.store.acquire_sequencer(&self.holder).await? else {
            anyhow::bail!(
                "another process holds the sequencer lease (a running notary?): stop it first"
            );
        };
        let result = async {
            let mut frontier = self.load_frontier().await?;
            let mut total = 0u64;
            loop {
                let n = self.sequence_once(&lease, &mut frontier).await?;
                total += n as u64;
                if n == 0 {
                    self.store.tidy_queue().await?;
                    return anyhow::Ok(total);
                }
            }
        }
        .await;
        let _ = self.store.release_sequencer(&lease).await;
        result
    }

    async fn load_frontier(&self) -> anyhow::Result<Frontier> {
        let state = self.store.log_state().await?;
        let f = crate::store::frontier(&*self.store, state.size).await?;
        if !hashes_equal(&f.root(), &state.root) && state.size > 0 {
            anyhow::bail!(
                "stored tree of size {} does not match the stored root",
                state.size
            );
        }
        self.metrics.log_size.store(state.size, Ordering::Relaxed);
        Ok(f)
    }

    async fn lead(
        &self,
        lease: &Lease,
        shutdown: &mut watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let mut frontier = self.load_frontier().await?;
        let mut ticks = 0u64;
        let mut tidied = Instant::now();
        let mut forgotten = Instant::now();
        loop {
            // Batches back to back while there is a backlog; otherwise wait.
            let appended = match self.sequence_once(lease, &mut frontier).await {
                Ok(n) => n,
                Err(BatchError::Store(StoreError::NotLeader)) => {
                    anyhow::bail!("lease lost (epoch {})", lease.epoch)
                }
                Err(BatchError::Store(StoreError::Conflict(c))) => {
                    anyhow::bail!("log changed under us: {c}")
                }
                Err(e) => {
                    tracing::error!(error = %e, "batch failed; reloading the tree head");
                    wait(shutdown, self.interval).await;
                    frontier = self.load_frontier().await?;
                    0
                }
            };
            if *shutdown.borrow() {
                return Ok(());
            }
            ticks += 1;
            if ticks.is_multiple_of(4) && !self.store.lease_alive(lease).await.unwrap_or(false) {
                anyhow::bail!("lease no longer held");
            }
            if tidied.elapsed() >= TIDY_QUEUE_EVERY {
                if let Err(e) = self.store.tidy_queue().await {
                    tracing::warn!(error = %e, "cannot tidy the pending queue");
                }
                tidied = Instant::now();
            }
            if forgotten.elapsed() >= FORGET_KEYS_EVERY {
                let before = notarium_log::clock::now().millis() - IDEMPOTENCY_WINDOW_MS;
                if let Err(e) = self.store.forget_keys(before).await {
                    tracing::warn!(error = %e, "cannot forget expired idempotency keys");
                }
                forgotten = Instant::now();
            }
            if appended < self.batch_size as usize {
                wait(shutdown, self.interval).await;
            }
        }
    }

    /// One batch: returns how many entries were appended.
    async fn sequence_once(
        &self,
        lease: &Lease,
        frontier: &mut Frontier,
    ) -> Result<usize, BatchError> {
        let pending = self.store.next_pending(self.batch_size).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let mut next = frontier.clone();
        let mut nodes = Vec::with_capacity(pending.len() * 2 + 64);
        for p in &pending {
            next.append_into(p.leaf_hash, &mut nodes);
        }
        let cp = Checkpoint::new(&self.origin, next.size(), next.root())
            .map_err(BatchError::Checkpoint)?;
        let note = cp.signed_note(&self.key).map_err(BatchError::Sign)?;
        let now = notarium_log::clock::now().millis();
        let batch = Batch {
            old_size: frontier.size(),
            entries: pending,
            nodes,
            checkpoint: CheckpointRow {
                size: next.size(),
                root: next.root(),
                note: note.to_text(),
                created_ms: now,
            },
        };
        let appended = batch.entries.len();
        let started = Instant::now();
        self.store.append_batch(lease, &batch).await?;
        self.metrics.batch_latency.observe(started.elapsed());
        *frontier = next;
        self.metrics
            .log_size
            .store(frontier.size(), Ordering::Relaxed);
        self.metrics.checkpoint_ms.store(now, Ordering::Relaxed);
        let _ = self.checkpoints.send(frontier.size());
        tracing::debug!(
            size = frontier.size(),
            entries = appended,
            "checkpoint signed"
        );
        Ok(appended)
    }
}

/// Waits `d` or until shutdown is signalled.
pub async fn wait(shutdown: &mut watch::Receiver<bool>, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = shutdown.changed() => {}
    }
}
