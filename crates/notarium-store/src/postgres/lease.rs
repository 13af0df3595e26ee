//! The sequencer lease and the fencing of its batches.
//!
//! `acquire_sequencer` opens a DEDICATED connection (not from the pool),
//! takes the session advisory lock [`SEQUENCER_LOCK_KEY`] on it with
//! `pg_try_advisory_lock`, and increments `log_state.epoch`. The store
//! keeps that connection as long as the lease lives; if the process dies
//! or the connection breaks, PostgreSQL ends the session and drops the
//! lock, and the next sequencer's acquire moves the epoch on. A batch is
//! fenced in its transaction by `epoch` and `size` on the single
//! `log_state` row ([`fence`]), so a deposed sequencer that still has pool
//! connections can never fork the log or leave a gap.

use super::PostgresStore;
use super::connection::{db_err, describe, pg_text};
use super::tree::read_log_state;
use crate::{Batch, Lease, Result, StoreError};
use deadpool_postgres::GenericClient;
use std::time::Duration;
use tokio_postgres::Client;

/// The session advisory lock that makes one process the sequencer
/// ("Notarium" in ASCII). Advisory locks are per database.
pub const SEQUENCER_LOCK_KEY: i64 = 0x4e6f_7461_7269_756d;
/// How long `lease_alive` waits for the lease connection to answer.
const LEASE_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The connection whose session holds the advisory lock.
pub(super) struct HeldLease {
    epoch: i64,
    client: Client,
}

impl PostgresStore {
    pub(super) async fn acquire_lease(&self, holder: &str) -> Result<Option<Lease>> {
        let mut held = self.lease.lock().await;
        if let Some(h) = held.as_ref() {
            if !h.client.is_closed() {
                return Ok(None);
            }
            // The old lease connection died: that lease is gone.
            *held = None;
        }
        let (client, connection) =
            self.lease_config
                .connect(self.tls.clone())
                .await
                .map_err(|e| {
                    StoreError::Database(format!(
                        "opening the sequencer lease connection ({}): {}",
                        describe(&self.lease_config),
                        pg_text(&e)
                    ))
                })?;
        // The connection task ends when `client` is dropped, which closes
        // the session and so releases the advisory lock.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&SEQUENCER_LOCK_KEY])
            .await
            .map_err(db_err)?
            .get(0);
        if !got {
            return Ok(None);
        }
        let epoch: i64 = client
            .query_one(
                "UPDATE log_state SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch",
                &[],
            )
            .await
            .map_err(db_err)?
            .get(0);
        *held = Some(HeldLease { epoch, client });
        Ok(Some(Lease {
            epoch,
            holder: holder.to_owned(),
        }))
    }

    pub(super) async fn probe_lease(&self, lease: &Lease) -> Result<bool> {
        let mut held = self.lease.lock().await;
        let Some(h) = held.as_ref().filter(|h| h.epoch == lease.epoch) else {
            return Ok(false);
        };
        // The probe runs on the lease connection itself: an answer proves the
        // session, and so the advisory lock, is still there.
        let probe = tokio::time::timeout(
            LEASE_PROBE_TIMEOUT,
            h.client
                .query_one("SELECT epoch FROM log_state WHERE id = 1", &[]),
        )
        .await;
        match probe {
            Ok(Ok(row)) => Ok(row.get::<_, i64>(0) == lease.epoch),
            // No answer: treat the lease as lost and close the connection,
            // so the server releases the lock if it still holds it.
            _ => {
                *held = None;
                Ok(false)
            }
        }
    }

    pub(super) async fn release_lease(&self, lease: &Lease) -> Result<()> {
        let mut held = self.lease.lock().await;
        if held.as_ref().is_none_or(|h| h.epoch != lease.epoch) {
            return Ok(());
        }
        if let Some(h) = held.take() {
            // Moving the epoch on fences the released lease for good. If the
            // connection is already broken the session (and lock) is gone,
            // and the next acquire moves the epoch instead.
            let _ = h
                .client
                .execute(
                    "UPDATE log_state SET epoch = epoch + 1 WHERE id = 1 AND epoch = $1",
                    &[&lease.epoch],
                )
                .await;
            let _ = h
                .client
                .execute("SELECT pg_advisory_unlock($1)", &[&SEQUENCER_LOCK_KEY])
                .await;
        }
        Ok(())
    }

    /// `NotLeader` unless this store holds `lease` on a live connection.
    pub(super) async fn check_lease(&self, lease: &Lease) -> Result<()> {
        let held = self.lease.lock().await;
        match held.as_ref() {
            Some(h) if h.epoch == lease.epoch && !h.client.is_closed() => Ok(()),
            _ => Err(StoreError::NotLeader),
        }
    }
}

/// Moves the log's head to `new` entries and the batch's root, in the
/// batch's transaction, if `lease` is current and the log has the size the
/// batch extends; otherwise `NotLeader` or `Conflict`. The row lock taken
/// here also serialises the transaction with a new sequencer's epoch
/// increment: whichever commits second sees the other's effect.
pub(super) async fn fence(
    tx: &impl GenericClient,
    lease: &Lease,
    batch: &Batch,
    old: i64,
    new: i64,
) -> Result<()> {
    let moved = tx
        .execute(
            "UPDATE log_state SET size = $1, root = $2
             WHERE id = 1 AND epoch = $3 AND size = $4",
            &[&new, &batch.checkpoint.root.as_slice(), &lease.epoch, &old],
        )
        .await
        .map_err(db_err)?;
    if moved == 1 {
        return Ok(());
    }
    let state = read_log_state(tx).await?;
    Err(if state.epoch != lease.epoch {
        StoreError::NotLeader
    } else {
        StoreError::Conflict(format!(
            "the log has {} entries, the batch extends {}",
            state.size, batch.old_size
        ))
    })
}
