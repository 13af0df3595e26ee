//! The shared store: PostgreSQL, for any number of front-ends and one
//! sequencer.
//!
//! Durability: every session runs with `synchronous_commit = on` (the
//! server default, set explicitly in the connection options so that a role
//! or database default of `off` cannot weaken it): a commit returns only
//! once its WAL is flushed to disk (and, with synchronous standbys
//! configured, to them), so an acknowledged `insert_entries` survives a crash
//! of the server.
//!
//! Bulk work is one round trip: group inserts, node inserts and node reads
//! pass arrays and `unnest` them server-side.
//!
//! Entries, in one format (schema v9): a commit group's entries are one
//! `entry_groups` row, in slot order (migration 0008); the queue,
//! `pending_groups`, holds one row per waiting group with its entries'
//! lookup keys and how many are sequenced; a batch writes one
//! `group_positions` run per group it sequences and one `group_lookup`
//! row (key, log index) per entry, in partitions of 2^20 indices. An
//! entry's id is its group (48 bits, below 2^40), slot (24 bits) and
//! nonce (56 random bits), except for the entries stored before v8:
//! migration 0009 moved them into groups of this same form without
//! changing their log indices, leaf hashes or the tree, and they keep
//! the ids their clients were given (a 48-bit millisecond time at or
//! above 2^40, then random bits), in `entry_groups.legacy_ids`, with
//! `legacy_id_slots` mapping each to its group and slot. `EntryName`
//! (in `lookup`) is the one place that tells the two forms apart, by the
//! first 48 bits. No query reads a table of the formats before v8:
//! migration 0009, applied by `migrate` at start, drops them.
//!
//! Sequencer lease: a session advisory lock on a dedicated connection,
//! and an epoch that fences every batch (see `lease`).
//!
//! The code follows those concerns: `connection` (pool, settings,
//! errors), `lease`, `tenants`, `queue` (storing, listing and sequencing
//! commit groups), `lookup` (ids, reading entries, the digest lookup) and
//! `tree` (node hashes, the log's head, checkpoints); the [`Store`]
//! implementation below only hands each call to them.

mod connection;
mod lease;
mod lookup;
mod queue;
mod tenants;
mod tls;
mod tree;

pub use lease::SEQUENCER_LOCK_KEY;

use crate::common::{POSTGRES_MIGRATIONS, pending_migrations, to_tenant};
use crate::{
    Batch, CheckpointRow, Claim, Earlier, FinalCheckpoint, Lease, LogState, NewEntry, PendingLeaf,
    Result, Store, StoreError, StoredEntry, TimestampToken,
};
use async_trait::async_trait;
use connection::{db_err, pg_text};
use deadpool_postgres::Pool;
use notarium_core::entry::SubmitterId;
use notarium_core::merkle::Hash;
use notarium_log::tree::NodeId;

/// The transaction advisory lock that serialises migrations ("Notarmig").
const MIGRATION_LOCK_KEY: i64 = 0x4e6f_7461_726d_6967;

/// The PostgreSQL store. Cheap to share: wrap it in an `Arc`.
pub struct PostgresStore {
    pool: Pool,
    /// Settings for the dedicated lease connection.
    lease_config: tokio_postgres::Config,
    /// TLS as the URL's `sslmode` asks (the lease connection's too).
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    ssl_mode: tls::Mode,
    lease: tokio::sync::Mutex<Option<lease::HeldLease>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cfg = &self.lease_config;
        f.debug_struct("PostgresStore")
            .field("hosts", &cfg.get_hosts())
            .field("ports", &cfg.get_ports())
            .field("dbname", &cfg.get_dbname())
            .field("user", &cfg.get_user())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// The sequencer's statements that read the whole queue: the one that
    /// lists the next pending entries (its parameter is how many) and the
    /// one that sequences them in a batch (its parameters are the batch's
    /// runs: group, first and end slot, first index). Only for tests that
    /// look at their plans.
    #[doc(hidden)]
    pub fn queue_statements() -> [&'static str; 2] {
        [queue::NEXT_PENDING_SQL, queue::APPEND_BATCH_SQL]
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        // Two processes starting at once: the second waits, then finds
        // everything applied.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
            .await
            .map_err(db_err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    bigint PRIMARY KEY,
                 name       text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(db_err)?;
        let current: Option<i64> = tx
            .query_one("SELECT max(version) FROM schema_migrations", &[])
            .await
            .map_err(db_err)?
            .get(0);
        for m in pending_migrations(POSTGRES_MIGRATIONS, current)? {
            tx.batch_execute(m.sql).await.map_err(|e| {
                StoreError::Database(format!("migration {}: {}", m.name, pg_text(&e)))
            })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[&m.version, &m.name],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn add_tenant(&self, tenant: &SubmitterId, now_ms: i64) -> Result<()> {
        tenants::add_tenant(&self.client().await?, tenant.as_str(), now_ms).await
    }

    async fn add_api_key(&self, tenant: &SubmitterId, key_hash: &Hash, now_ms: i64) -> Result<()> {
        tenants::add_api_key(&self.client().await?, tenant.as_str(), key_hash, now_ms).await
    }

    async fn tenant_for_key(&self, key_hash: &Hash) -> Result<Option<SubmitterId>> {
        tenants::tenant_for_key(&self.client().await?, key_hash)
            .await?
            .map(to_tenant)
            .transpose()
    }

    async fn insert_entries(&self, entries: &mut [NewEntry]) -> Result<()> {
        self.commit_group(entries).await
    }

    async fn insert_claimed(
        &self,
        entries: &mut [NewEntry],
        claims: &[Claim],
        receipts: &[String],
        now_ms: i64,
        since_ms: i64,
    ) -> Result<Vec<Option<Earlier>>> {
        self.commit_claimed(entries, claims, receipts, now_ms, since_ms)
            .await
    }

    async fn forget_keys(&self, before_ms: i64) -> Result<u64> {
        queue::forget_keys(&self.client().await?, before_ms).await
    }

    async fn get_entry(&self, tenant: &SubmitterId, id: &str) -> Result<Option<StoredEntry>> {
        lookup::get_entry(&self.client().await?, tenant.as_str(), id).await
    }

    async fn find_entries(
        &self,
        tenant: &SubmitterId,
        evidence_sha256: &Hash,
        limit: u32,
    ) -> Result<Vec<StoredEntry>> {
        lookup::find_entries(
            &self.client().await?,
            tenant.as_str(),
            evidence_sha256,
            limit,
        )
        .await
    }

    async fn pending_count(&self) -> Result<u64> {
        queue::pending_count(&self.client().await?).await
    }

    async fn tidy_queue(&self) -> Result<()> {
        queue::tidy_queue(&self.client().await?).await
    }

    async fn acquire_sequencer(&self, holder: &str) -> Result<Option<Lease>> {
        self.acquire_lease(holder).await
    }

    async fn lease_alive(&self, lease: &Lease) -> Result<bool> {
        self.probe_lease(lease).await
    }

    async fn release_sequencer(&self, lease: &Lease) -> Result<()> {
        self.release_lease(lease).await
    }

    async fn log_state(&self) -> Result<LogState> {
        tree::read_log_state(&self.client().await?).await
    }

    async fn next_pending(&self, limit: u32) -> Result<Vec<PendingLeaf>> {
        queue::next_pending(&self.client().await?, limit).await
    }

    async fn append_batch(&self, lease: &Lease, batch: &Batch) -> Result<()> {
        self.commit_batch(lease, batch).await
    }

    async fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        tree::read_nodes(&self.client().await?, ids).await
    }

    async fn read_level(&self, level: u8, start: u64, end: u64) -> Result<Vec<Hash>> {
        tree::read_level(&self.client().await?, level, start, end).await
    }

    async fn sequenced_entries(&self, start: u64, end: u64) -> Result<Vec<StoredEntry>> {
        if start >= end {
            return Ok(Vec::new());
        }
        // No log index exceeds i64::MAX.
        let lo = i64::try_from(start)
            .map_err(|_| StoreError::NotFound(format!("sequenced entry {start}")))?;
        let hi = i64::try_from(end).unwrap_or(i64::MAX);
        let entries = lookup::sequenced_entries(&self.client().await?, lo, hi).await?;
        crate::check_sequenced(&entries, start, end)?;
        Ok(entries)
    }

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>> {
        tree::latest_checkpoint(&self.client().await?).await
    }

    async fn checkpoint(&self, size: u64) -> Result<Option<CheckpointRow>> {
        tree::checkpoint(&self.client().await?, size).await
    }

    async fn add_cosignature(
        &self,
        size: u64,
        witness: &str,
        line: &str,
        timestamp: u64,
    ) -> Result<()> {
        tree::add_cosignature(&self.client().await?, size, witness, line, timestamp).await
    }

    async fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>> {
        tree::cosignatures(&self.client().await?, size).await
    }

    async fn finalize(&self, fin: &FinalCheckpoint) -> Result<()> {
        tree::finalize(&self.client().await?, fin).await
    }

    async fn latest_final(&self) -> Result<Option<FinalCheckpoint>> {
        tree::latest_final(&self.client().await?).await
    }

    async fn first_final_covering(&self, index: u64) -> Result<Option<FinalCheckpoint>> {
        tree::first_final_covering(&self.client().await?, index).await
    }

    async fn first_final_lacking_tokens(
        &self,
        after: u64,
        through: u64,
        required: usize,
    ) -> Result<Option<FinalCheckpoint>> {
        let client = self.client().await?;
        tree::first_final_lacking_tokens(&client, after, through, required).await
    }

    async fn seal_token(&self, imprint: &Hash) -> Result<Option<Vec<u8>>> {
        tree::seal_token(&self.client().await?, imprint).await
    }

    async fn keep_seal_token(
        &self,
        imprint: &Hash,
        token: &[u8],
        stored_ms: i64,
    ) -> Result<Vec<u8>> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO seal_tokens (imprint, token, stored_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (imprint) DO NOTHING",
                &[&imprint.as_slice(), &token, &stored_ms],
            )
            .await
            .map_err(db_err)?;
        // A separate statement: it sees a row another process committed
        // while the insert waited on it.
        let kept = tree::seal_token(&client, imprint).await?;
        kept.ok_or_else(|| StoreError::Database("a kept seal token is gone".into()))
    }

    async fn add_timestamp_token(&self, t: &TimestampToken) -> Result<()> {
        tree::add_timestamp_token(&self.client().await?, t).await
    }

    async fn timestamp_tokens(&self, size: u64) -> Result<Vec<TimestampToken>> {
        tree::timestamp_tokens(&self.client().await?, size).await
    }

    async fn ping(&self) -> Result<()> {
        self.log_state().await.map(drop)
    }
}
