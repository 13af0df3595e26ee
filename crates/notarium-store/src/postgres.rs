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
//! Sequencer lease: `acquire_sequencer` opens a DEDICATED connection (not
//! from the pool), takes the session advisory lock [`SEQUENCER_LOCK_KEY`] on
//! it with `pg_try_advisory_lock`, and increments `log_state.epoch`. The
//! store keeps that connection as long as the lease lives; if the process
//! dies or the connection breaks, PostgreSQL ends the session and drops the
//! lock, and the next sequencer's acquire moves the epoch on. `append_batch`
//! is fenced in its transaction by `epoch` and `size` on the single
//! `log_state` row, so a deposed sequencer that still has pool connections
//! can never fork the log or leave a gap.

use crate::common::{
    POSTGRES_MIGRATIONS, batch_new_size, decode_certificates, edge_ids, encode_certificates,
    node_not_found, pending_migrations, to_hash, to_i64, to_salt, to_u64, verify_batch_tree,
};
use crate::{
    Batch, CheckpointRow, FinalCheckpoint, Lease, LogState, NewEntry, PendingLeaf, Result, Store,
    StoreError, StoredEntry,
};
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use notarium_core::merkle::Hash;
use notarium_log::tree::NodeId;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Row};

/// The session advisory lock that makes one process the sequencer
/// ("Notarium" in ASCII). Advisory locks are per database.
pub const SEQUENCER_LOCK_KEY: i64 = 0x4e6f_7461_7269_756d;
/// The transaction advisory lock that serialises migrations ("Notarmig").
const MIGRATION_LOCK_KEY: i64 = 0x4e6f_7461_726d_6967;
/// Pooled connections at most.
const POOL_SIZE: usize = 16;
/// How long `lease_alive` waits for the lease connection to answer.
const LEASE_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL store. Cheap to share: wrap it in an `Arc`.
pub struct PostgresStore {
    pool: Pool,
    /// Settings for the dedicated lease connection.
    lease_config: tokio_postgres::Config,
    lease: tokio::sync::Mutex<Option<HeldLease>>,
}

/// The connection whose session holds the advisory lock.
struct HeldLease {
    epoch: i64,
    client: Client,
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

/// A driver error as text, with the server's message and SQLSTATE if any.
fn pg_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} ({})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(": ");
                s.push_str(d);
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(c) = src {
                s.push_str(": ");
                s.push_str(&c.to_string());
                src = c.source();
            }
            s
        }
    }
}

fn db_err(e: tokio_postgres::Error) -> StoreError {
    StoreError::Database(pg_text(&e))
}

fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => db_err(e),
        e => StoreError::Database(format!("connection pool: {e}")),
    }
}

fn is(e: &tokio_postgres::Error, code: &SqlState) -> bool {
    e.code() == Some(code)
}

/// Appends `-c name=value` settings to the connection's startup options.
fn with_settings(mut cfg: tokio_postgres::Config, settings: &[&str]) -> tokio_postgres::Config {
    let mut options = cfg.get_options().unwrap_or_default().to_owned();
    for s in settings {
        if !options.is_empty() {
            options.push(' ');
        }
        options.push_str("-c ");
        options.push_str(s);
    }
    cfg.options(&options);
    cfg
}

impl PostgresStore {
    /// The sequencer's statements that read the whole queue: the one that
    /// lists the next pending entries (its parameter is how many) and the
    /// one that sequences them in a batch (its parameters are the batch's
    /// runs: group, first and end slot, first index). Only for tests that
    /// look at their plans.
    #[doc(hidden)]
    pub fn queue_statements() -> [&'static str; 2] {
        [NEXT_PENDING_SQL, APPEND_BATCH_SQL]
    }

    /// Connects to the database at `url` (`postgres://user@host:port/db`,
    /// plain TCP) and checks that it answers.
    pub async fn connect(url: &str) -> Result<Self> {
        let base: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("invalid database URL: {e}")))?;
        let mut base = base;
        if base.get_application_name().is_none() {
            base.application_name("notarium");
        }
        let cfg = with_settings(base, &["synchronous_commit=on"]);
        // The lease connection also asks the server to probe the client
        // every 10 s (gone after ~40 s), so a vanished sequencer host
        // releases the lock without waiting for the OS default of hours.
        let lease_config = with_settings(
            cfg.clone(),
            &[
                "tcp_keepalives_idle=10",
                "tcp_keepalives_interval=10",
                "tcp_keepalives_count=3",
            ],
        );
        let mgr = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .wait_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| StoreError::Database(format!("connection pool: {e}")))?;
        let store = PostgresStore {
            pool,
            lease_config,
            lease: tokio::sync::Mutex::new(None),
        };
        let client = store.pool.get().await.map_err(|e| {
            StoreError::Database(format!(
                "cannot connect to PostgreSQL ({}): {}",
                describe(&store.lease_config),
                match e {
                    deadpool_postgres::PoolError::Backend(e) => pg_text(&e),
                    e => e.to_string(),
                }
            ))
        })?;
        let sync: String = client
            .query_one("SHOW synchronous_commit", &[])
            .await
            .map_err(db_err)?
            .get(0);
        if sync != "on" {
            return Err(StoreError::Database(format!(
                "the server refused synchronous_commit=on (it is {sync})"
            )));
        }
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_err)
    }
}

/// host:port/dbname as text, without credentials.
fn describe(cfg: &tokio_postgres::Config) -> String {
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", cfg.get_dbname().unwrap_or(""))
}

/// An entry stored before v8 (`entries e`) and, once sequenced, its
/// index: from its group's run (`group_positions s`, schema v5) or, for
/// entries sequenced before v5, from `positions p`. Use with
/// [`POSITION_JOINS`]; the columns are those [`entry_from_row`] reads.
const ENTRY_COLUMNS: &str = "e.id, NULL::bigint, NULL::int, NULL::bytea, e.tenant, e.evidence_sha256, e.salt, e.metadata, e.received_ms, e.leaf_hash, coalesce(s.first_index + (e.slot - s.lo), p.log_index)";
const POSITION_JOINS: &str = "LEFT JOIN group_positions s
       ON s.grp = e.grp AND s.lo <= e.slot AND e.slot < s.hi
     LEFT JOIN positions p ON e.grp IS NULL AND p.seq = e.seq";

/// The entry in slot `c.slot` of group `c.grp` (schema v8: `entry_groups
/// g`) and, once sequenced, its index from its group's run (`group_positions
/// s`). Use with [`GROUP_ENTRY_JOINS`]; the columns are those
/// [`entry_from_row`] reads. Each fixed-size field is a slice of the
/// group's value, read without reading the rest.
const GROUP_ENTRY_COLUMNS: &str = "NULL::text, g.grp, c.slot,
       substring(g.nonces FROM c.slot * 7 + 1 FOR 7), g.tenants[c.slot + 1],
       substring(g.evidence FROM c.slot * 32 + 1 FOR 32),
       substring(g.salts FROM c.slot * 32 + 1 FOR 32), g.metadata[c.slot + 1],
       g.received_ms[c.slot + 1], substring(g.leaf_hashes FROM c.slot * 32 + 1 FOR 32),
       s.first_index + (c.slot - s.lo)";
const GROUP_ENTRY_JOINS: &str = "JOIN entry_groups g ON g.grp = c.grp AND c.slot < g.n
     LEFT JOIN group_positions s ON s.grp = g.grp AND s.lo <= c.slot AND c.slot < s.hi";

/// An entry read with [`ENTRY_COLUMNS`] (its id stored as text) or
/// [`GROUP_ENTRY_COLUMNS`] (its id made of group, slot and nonce).
fn entry_from_row(row: &Row) -> Result<StoredEntry> {
    let id = match row.get::<_, Option<String>>(0) {
        Some(id) => id,
        None => {
            let grp = to_u64(row.get(1), "entry group")?;
            let slot = usize::try_from(row.get::<_, i32>(2))
                .map_err(|_| StoreError::Database("negative entry slot".into()))?;
            group_entry_id(grp, slot, row.get(3))?
        }
    };
    Ok(StoredEntry {
        entry: NewEntry {
            id,
            tenant: row.get(4),
            evidence_sha256: to_hash(row.get(5), "evidence digest")?,
            salt: to_salt(row.get(6))?,
            metadata: row.get(7),
            received_ms: row.get(8),
            leaf_hash: to_hash(row.get(9), "leaf hash")?,
        },
        log_index: row
            .get::<_, Option<i64>>(10)
            .map(|i| to_u64(i, "log index"))
            .transpose()?,
    })
}

/// Bytes of a v8 entry id that are random: its nonce (migration 0008).
const NONCE_LEN: usize = 7;
/// v8 ids name groups below this; the 48-bit millisecond times that start
/// older ids are above it.
const GROUP_LIMIT: u64 = 1 << 40;

/// A v8 entry's id: group (48 bits), slot (24 bits), nonce (56 bits).
fn group_entry_id(grp: u64, slot: usize, nonce: &[u8]) -> Result<String> {
    if grp >= GROUP_LIMIT || slot >= 1 << SLOT_BITS || nonce.len() != NONCE_LEN {
        return Err(StoreError::Database(format!(
            "entry of group {grp}, slot {slot} has no valid id"
        )));
    }
    let mut tail = [0u8; 8];
    tail[1..].copy_from_slice(nonce);
    let id =
        (u128::from(grp) << 80) | ((slot as u128) << 56) | u128::from(u64::from_be_bytes(tail));
    Ok(format!("{id:032x}"))
}

/// 32 lowercase hex characters as a number.
fn parse_id(id: &str) -> Option<u128> {
    if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u128::from_str_radix(id, 16).ok()
}

/// The group, slot and nonce that `id` names if it is a v8 id.
fn parse_group_entry_id(id: &str) -> Option<(i64, i32, [u8; NONCE_LEN])> {
    let v = parse_id(id)?;
    let grp = (v >> 80) as u64;
    if grp >= GROUP_LIMIT {
        return None;
    }
    let slot = ((v >> 56) as u32) & ((1 << SLOT_BITS) - 1);
    Some((grp as i64, slot as i32, nonce_bits(v)))
}

/// The last 56 bits of an id, big-endian.
fn nonce_bits(v: u128) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&(v as u64).to_be_bytes()[1..]);
    nonce
}

fn checkpoint_from_row(row: &Row) -> Result<CheckpointRow> {
    Ok(CheckpointRow {
        size: to_u64(row.get(0), "checkpoint size")?,
        root: to_hash(row.get(1), "checkpoint root")?,
        note: row.get(2),
        created_ms: row.get(3),
    })
}

fn final_from_row(row: &Row) -> Result<FinalCheckpoint> {
    Ok(FinalCheckpoint {
        size: to_u64(row.get(0), "final checkpoint size")?,
        note: row.get(1),
        certificates: decode_certificates(row.get(2))?,
        finalized_ms: row.get(3),
    })
}

async fn read_log_state(c: &impl GenericClient) -> Result<LogState> {
    let row = c
        .query_one("SELECT size, root, epoch FROM log_state WHERE id = 1", &[])
        .await
        .map_err(db_err)?;
    Ok(LogState {
        size: to_u64(row.get(0), "log size")?,
        root: to_hash(row.get(1), "log root")?,
        epoch: row.get(2),
    })
}

/// Many node hashes in one round trip, in the order asked.
async fn read_nodes(c: &impl GenericClient, ids: &[NodeId]) -> Result<Vec<Hash>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let levels: Vec<i16> = ids.iter().map(|id| i16::from(id.level)).collect();
    let mut idxs = Vec::with_capacity(ids.len());
    for id in ids {
        idxs.push(i64::try_from(id.index).map_err(|_| node_not_found(*id))?);
    }
    // A node past the end of its (partial) chunk reads as an empty string.
    let stmt = c
        .prepare_cached(
            "SELECT substring(c.hashes FROM (t.idx % 32)::int * 32 + 1 FOR 32)
             FROM unnest($1::smallint[], $2::bigint[]) WITH ORDINALITY AS t(level, idx, ord)
             LEFT JOIN tree_chunks c ON c.level = t.level AND c.chunk = t.idx / 32
             ORDER BY t.ord",
        )
        .await
        .map_err(db_err)?;
    let rows = c.query(&stmt, &[&levels, &idxs]).await.map_err(db_err)?;
    if rows.len() != ids.len() {
        return Err(StoreError::Database(format!(
            "asked for {} tree nodes, got {} rows",
            ids.len(),
            rows.len()
        )));
    }
    rows.iter()
        .zip(ids)
        .map(|(row, id)| match row.get::<_, Option<Vec<u8>>>(0) {
            Some(h) if !h.is_empty() => to_hash(h, "tree node hash"),
            _ => Err(node_not_found(*id)),
        })
        .collect()
}

/// Nodes per row of `tree_chunks` (migration 0004): row (level, chunk)
/// holds the hashes of nodes `chunk * TREE_CHUNK ..` of that level, a
/// contiguous prefix of at most `TREE_CHUNK` of them. The SQL spells the
/// number out.
const TREE_CHUNK: u64 = 32;

/// A batch's new tree nodes as `tree_chunks` writes: per level and chunk,
/// the offset of its first node in the chunk and the concatenated hashes.
/// `nodes` must be sorted by (level, index) and contiguous per level, as
/// [`verify_batch_tree`] returns them; their indexes are below the new log
/// size, which fits an `i64`.
fn chunk_writes(nodes: &[(NodeId, Hash)]) -> (Vec<i16>, Vec<i64>, Vec<i32>, Vec<Vec<u8>>) {
    let (mut levels, mut chunks, mut offsets, mut hashes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::<Vec<u8>>::new());
    for (id, hash) in nodes {
        let (level, chunk) = (i16::from(id.level), (id.index / TREE_CHUNK) as i64);
        if levels.last() != Some(&level) || chunks.last() != Some(&chunk) {
            levels.push(level);
            chunks.push(chunk);
            offsets.push((id.index % TREE_CHUNK) as i32);
            hashes.push(Vec::with_capacity(TREE_CHUNK as usize * 32));
        }
        hashes
            .last_mut()
            .expect("pushed above")
            .extend_from_slice(hash);
    }
    (levels, chunks, offsets, hashes)
}

/// Entries per partition of `group_lookup` (migration 0008) and
/// `keyed_lookup` (migration 0007; `lookup`, migration 0003, had the same):
/// partition `n`, named `group_lookup_<n>`, holds log indices in `[n *
/// LOOKUP_PARTITION, (n + 1) * LOOKUP_PARTITION)`, and `keyed_lookup_<n>`
/// the same range of `seq`.
const LOOKUP_PARTITION: i64 = 1 << 20;

/// An entry's key in the digest lookup (migration 0007): the first 8 bytes
/// of SHA-256(tenant || 0x0A || digest), big-endian, as PostgreSQL's
/// `bigint`. Migration 0007 computes the same in SQL for the groups that
/// wait at the upgrade.
fn lookup_key(tenant: &str, evidence_sha256: &Hash) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(tenant.as_bytes());
    hasher.update(b"\n");
    hasher.update(evidence_sha256);
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// The queue's groups that hold the first `$1` pending entries, in one
/// pass over the queue (the arrays are read only for the rows sent), with
/// their ids and leaf hashes: from the queue row for a group that waited
/// at the v8 upgrade, from its `entry_groups` row (looked up by key) for
/// any other. No self-join: the sequencer's VACUUM of the queue can leave
/// PostgreSQL believing that it is empty, and with that estimate it
/// ran a join's inner side once per outer row (quadratic in the
/// backlog: 0.4 s per call at 560 groups).
const NEXT_PENDING_SQL: &str = "SELECT q.grp, q.done, q.ids, q.leaf_hashes, x.nonces, x.leaf_hashes
     FROM (SELECT grp, done, ids, leaf_hashes,
                  sum(n - done) OVER (ORDER BY grp) - (n - done) AS before
           FROM pending_groups) AS q
     LEFT JOIN LATERAL (SELECT y.nonces, y.leaf_hashes FROM entry_groups AS y
                        WHERE y.grp = q.grp AND q.ids IS NULL OFFSET 0) AS x ON true
     WHERE q.before < $1
     ORDER BY q.grp";

/// The entries of a sequencer's batch (see `append_batch`). Every part
/// does work in proportion to the batch whatever PostgreSQL believes the
/// queue's size to be (see [`NEXT_PENDING_SQL`]): each run's group is
/// fetched by its key (a lateral subquery, not a join it could turn
/// into a loop over the queue), and the groups to delete or move on are
/// named by arrays built once, not by joining the batch's rows again.
/// Before, with the queue believed empty, the DELETE and the UPDATE looped
/// over the batch's rows once per group (up to 1.4 s per batch while those
/// rows carried the groups' arrays).
///
/// A v8 group's entries get `group_lookup` rows (by log index); those of
/// a group that waited at the upgrade get `keyed_lookup` rows (by seq and
/// id), as before. The statement answers one row per run: its ids and
/// leaf hashes, as arrays from the queue row of a group that waited at
/// the upgrade, or as slices of its `entry_groups` row.
const APPEND_BATCH_SQL: &str = "WITH s AS (
       SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::bigint[])
         AS s(grp, lo, hi, first_idx)),
     g AS (
       SELECT p.grp, p.n, s.lo, s.hi, s.first_idx, p.seqs, p.ids, p.keys, p.leaf_hashes
       FROM s, LATERAL (SELECT * FROM pending_groups AS q WHERE q.grp = s.grp OFFSET 0) AS p
       WHERE p.done = s.lo AND s.hi <= p.n),
     e AS (
       SELECT g.ids IS NULL AS v8, u.seq, u.id, u.key, g.first_idx + u.k - 1 AS idx
       FROM g, unnest(g.keys[g.lo + 1 : g.hi], g.seqs[g.lo + 1 : g.hi], g.ids[g.lo + 1 : g.hi])
                 WITH ORDINALITY AS u(key, seq, id, k)),
     pos AS (
       INSERT INTO group_positions (grp, lo, hi, first_index)
       SELECT grp, lo, hi, first_idx FROM g),
     look AS (
       INSERT INTO group_lookup (key, idx)
       SELECT key, idx FROM e WHERE v8
       ORDER BY key),
     old_look AS (
       INSERT INTO keyed_lookup (key, seq, id)
       SELECT key, seq, id FROM e WHERE NOT v8
       ORDER BY key),
     gone AS (
       DELETE FROM pending_groups AS p
       WHERE p.grp = ANY ((SELECT array_agg(grp) FROM g WHERE hi = n)::bigint[])),
     moved AS (
       UPDATE pending_groups AS p SET done = (SELECT m.hi FROM g AS m WHERE m.grp = p.grp)
       WHERE p.grp = ANY ((SELECT array_agg(grp) FROM g WHERE hi < n)::bigint[]))
     SELECT g.grp, g.lo, g.hi, g.first_idx, g.ids[g.lo + 1 : g.hi], g.leaf_hashes[g.lo + 1 : g.hi],
            substring(x.nonces FROM g.lo * 7 + 1 FOR (g.hi - g.lo) * 7),
            substring(x.leaf_hashes FROM g.lo * 32 + 1 FOR (g.hi - g.lo) * 32)
     FROM g
     LEFT JOIN LATERAL (SELECT y.nonces, y.leaf_hashes FROM entry_groups AS y
                        WHERE y.grp = g.grp AND g.ids IS NULL OFFSET 0) AS x ON true";

/// A queue group's entries as [`NEXT_PENDING_SQL`] and [`APPEND_BATCH_SQL`]
/// answer them (columns from `at`): the ids and leaf hashes of a group
/// that waited at the v8 upgrade, or the nonces and leaf hashes of a v8
/// group, whose first is the entry in slot `base`. Decoded once; ids are
/// made only for the entries asked for.
enum Queued<'a> {
    Arrays {
        ids: Vec<String>,
        leaves: Vec<Vec<u8>>,
    },
    Group {
        grp: u64,
        base: usize,
        nonces: &'a [u8],
        leaves: &'a [u8],
    },
}

impl<'a> Queued<'a> {
    fn from_row(row: &'a Row, at: usize, grp: u64, base: usize) -> Result<Self> {
        let malformed = || StoreError::Database(format!("queue group {grp} is malformed"));
        if let Some(ids) = row.get::<_, Option<Vec<String>>>(at) {
            let leaves: Vec<Vec<u8>> = row.get::<_, Option<_>>(at + 1).ok_or_else(malformed)?;
            if ids.len() != leaves.len() {
                return Err(malformed());
            }
            return Ok(Queued::Arrays { ids, leaves });
        }
        let nonces: &[u8] = row.get::<_, Option<_>>(at + 2).ok_or_else(malformed)?;
        let leaves: &[u8] = row.get::<_, Option<_>>(at + 3).ok_or_else(malformed)?;
        if !nonces.len().is_multiple_of(NONCE_LEN) || leaves.len() != nonces.len() / NONCE_LEN * 32
        {
            return Err(malformed());
        }
        Ok(Queued::Group {
            grp,
            base,
            nonces,
            leaves,
        })
    }

    fn len(&self) -> usize {
        match self {
            Queued::Arrays { ids, .. } => ids.len(),
            Queued::Group { nonces, .. } => nonces.len() / NONCE_LEN,
        }
    }

    /// The id and leaf hash of the `k`-th entry (`k < self.len()`).
    fn entry(&self, k: usize) -> Result<(String, Hash)> {
        match self {
            Queued::Arrays { ids, leaves } => {
                Ok((ids[k].clone(), to_hash(leaves[k].clone(), "leaf hash")?))
            }
            Queued::Group {
                grp,
                base,
                nonces,
                leaves,
            } => Ok((
                group_entry_id(*grp, base + k, &nonces[k * NONCE_LEN..(k + 1) * NONCE_LEN])?,
                to_hash(leaves[k * 32..(k + 1) * 32].to_vec(), "leaf hash")?,
            )),
        }
    }
}

/// Bits of a queue position that hold the entry's slot in its commit
/// group; the rest hold the group (`pending_groups.grp`).
const SLOT_BITS: u32 = 24;

fn queue_pos(grp: u64, slot: usize) -> u64 {
    (grp << SLOT_BITS) | slot as u64
}

/// The group and slot of a queue position (the inverse of [`queue_pos`]).
fn group_and_slot(pos: u64) -> (u64, usize) {
    (pos >> SLOT_BITS, (pos & ((1 << SLOT_BITS) - 1)) as usize)
}

/// A batch's entries as runs of consecutive slots of one group each, in
/// batch order, for the batch statement's `unnest`.
#[derive(Debug, Default)]
struct Segments {
    groups: Vec<i64>,
    /// First slot of the run, and one past its last.
    lo: Vec<i32>,
    hi: Vec<i32>,
    /// Log index of the run's first entry.
    first_index: Vec<i64>,
}

/// Splits the batch into runs; a group may appear in one run only (its
/// entries are sequenced front to back, and the database checks that the
/// run starts where the group's progress stands).
fn queue_segments(entries: &[PendingLeaf], old_size: i64) -> Result<Segments> {
    let mut s = Segments::default();
    let mut seen = std::collections::HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        let (grp, slot) = group_and_slot(e.queue_pos);
        let (grp, slot) = (to_i64(grp, "queue group")?, slot as i32);
        let extends = s.groups.last() == Some(&grp) && s.hi.last() == Some(&slot);
        if extends {
            *s.hi.last_mut().expect("a run") += 1;
            continue;
        }
        if !seen.insert(grp) {
            return Err(StoreError::Conflict(format!(
                "entry {} is out of its group's queue order",
                e.id
            )));
        }
        s.groups.push(grp);
        s.lo.push(slot);
        s.hi.push(slot + 1);
        s.first_index.push(old_size + i as i64);
    }
    Ok(s)
}

/// Creates, in the batch's transaction, the lookup partitions that the
/// batch needs and that do not exist yet (usually none: one is created
/// every 2^20 entries; rolled back with the batch if it fails): those of
/// `group_lookup` for the indices `old .. new`, and those of
/// `keyed_lookup` for the `seq`s of the groups that waited at the v8
/// upgrade.
async fn create_lookup_partitions(tx: &impl GenericClient, old: i64, new: i64) -> Result<()> {
    let stmt = tx
        .prepare_cached(
            "SELECT 'keyed_lookup', n FROM generate_series(
                 (SELECT min(min_seq) FROM pending_groups) / $1,
                 (SELECT max(max_seq) FROM pending_groups) / $1) AS n
             WHERE to_regclass(format('keyed_lookup_%s', n)) IS NULL
             UNION ALL
             SELECT 'group_lookup', n FROM generate_series($2::bigint / $1, ($3::bigint - 1) / $1) AS n
             WHERE to_regclass(format('group_lookup_%s', n)) IS NULL",
        )
        .await
        .map_err(db_err)?;
    for row in tx
        .query(&stmt, &[&LOOKUP_PARTITION, &old, &new])
        .await
        .map_err(db_err)?
    {
        let (table, n): (&str, i64) = (row.get(0), row.get(1));
        tx.batch_execute(&format!(
            "CREATE TABLE {table}_{n} PARTITION OF {table} FOR VALUES FROM ({}) TO ({})",
            n * LOOKUP_PARTITION,
            (n + 1) * LOOKUP_PARTITION
        ))
        .await
        .map_err(db_err)?;
    }
    Ok(())
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

    async fn add_tenant(&self, tenant: &str, now_ms: i64) -> Result<()> {
        let client = self.client().await?;
        match client
            .execute(
                "INSERT INTO tenants (tenant, created_ms) VALUES ($1, $2)",
                &[&tenant, &now_ms],
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is(&e, &SqlState::UNIQUE_VIOLATION) => {
                Err(StoreError::AlreadyExists(format!("tenant {tenant}")))
            }
            Err(e) => Err(db_err(e)),
        }
    }

    async fn add_api_key(&self, tenant: &str, key_hash: &Hash, now_ms: i64) -> Result<()> {
        let client = self.client().await?;
        match client
            .execute(
                "INSERT INTO api_keys (key_hash, tenant, created_ms) VALUES ($1, $2, $3)",
                &[&key_hash.as_slice(), &tenant, &now_ms],
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is(&e, &SqlState::UNIQUE_VIOLATION) => {
                Err(StoreError::AlreadyExists("API key".into()))
            }
            Err(e) if is(&e, &SqlState::FOREIGN_KEY_VIOLATION) => {
                Err(StoreError::NotFound(format!("tenant {tenant}")))
            }
            Err(e) => Err(db_err(e)),
        }
    }

    async fn tenant_for_key(&self, key_hash: &Hash) -> Result<Option<String>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT tenant FROM api_keys WHERE key_hash = $1")
            .await
            .map_err(db_err)?;
        let row = client
            .query_opt(&stmt, &[&key_hash.as_slice()])
            .await
            .map_err(db_err)?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn insert_entries(&self, entries: &mut [NewEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let n = entries.len();
        if n >= 1 << SLOT_BITS {
            return Err(StoreError::Conflict(format!(
                "{n} entries in one commit, at most {} are allowed",
                (1 << SLOT_BITS) - 1
            )));
        }
        // One value per field for the whole group (migration 0008): the
        // fixed-size ones concatenated, the others as arrays.
        let mut nonces = Vec::with_capacity(n * NONCE_LEN);
        let mut digests = Vec::with_capacity(n * 32);
        let mut salts = Vec::with_capacity(n * 32);
        let mut leaves = Vec::with_capacity(n * 32);
        for e in entries.iter() {
            let id = parse_id(&e.id).ok_or_else(|| {
                StoreError::Conflict(format!(
                    "entry id {:?} is not 32 lowercase hex characters",
                    e.id
                ))
            })?;
            nonces.extend_from_slice(&nonce_bits(id));
            digests.extend_from_slice(&e.evidence_sha256);
            salts.extend_from_slice(&e.salt);
            leaves.extend_from_slice(&e.leaf_hash);
        }
        let tenants: Vec<&str> = entries.iter().map(|e| e.tenant.as_str()).collect();
        let metadata: Vec<Option<&str>> = entries.iter().map(|e| e.metadata.as_deref()).collect();
        let received: Vec<i64> = entries.iter().map(|e| e.received_ms).collect();
        let keys: Vec<i64> = entries
            .iter()
            .map(|e| lookup_key(&e.tenant, &e.evidence_sha256))
            .collect();
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                // The group's row of entries and its queue row with the
                // entries' lookup keys (migration 0007), under one group
                // number: `g` is evaluated once. Each distinct tenant is
                // looked up once, before anything is inserted; if one is
                // unknown the statement inserts nothing (migration 0006).
                "WITH ok AS (
                   SELECT 1 WHERE NOT EXISTS (
                     SELECT 1 FROM (SELECT DISTINCT unnest($1::text[]) AS tenant) AS d
                     WHERE NOT EXISTS (SELECT 1 FROM tenants AS k WHERE k.tenant = d.tenant))),
                 g AS (SELECT nextval('pending_groups_grp_seq') AS grp FROM ok),
                 e AS (
                   INSERT INTO entry_groups
                     (grp, n, tenants, nonces, evidence, salts, metadata, received_ms, leaf_hashes)
                   SELECT grp, $9, $1, $2, $3, $4, $5, $6, $7 FROM g)
                 INSERT INTO pending_groups (grp, n, keys)
                 OVERRIDING SYSTEM VALUE
                 SELECT grp, $9, $8 FROM g
                 RETURNING grp",
            )
            .await
            .map_err(db_err)?;
        // One statement is one transaction: all rows or none, durable on
        // return. It inserts nothing when a tenant is unknown.
        let row = client
            .query_opt(
                &stmt,
                &[
                    &tenants,
                    &nonces,
                    &digests,
                    &salts,
                    &metadata,
                    &received,
                    &leaves,
                    &keys,
                    &(n as i32),
                ],
            )
            .await
            .map_err(db_err)?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "tenant (one of {:?})",
                    tenants.iter().collect::<std::collections::BTreeSet<_>>()
                ))
            })?;
        let grp = to_u64(row.get(0), "group")?;
        for (slot, (e, nonce)) in entries
            .iter_mut()
            .zip(nonces.chunks_exact(NONCE_LEN))
            .enumerate()
        {
            e.id = group_entry_id(grp, slot, nonce)?;
        }
        Ok(())
    }

    async fn get_entry(&self, tenant: &str, id: &str) -> Result<Option<StoredEntry>> {
        let client = self.client().await?;
        if let Some((grp, slot, nonce)) = parse_group_entry_id(id) {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {GROUP_ENTRY_COLUMNS}
                     FROM (SELECT $1::bigint AS grp, $2::int AS slot) AS c {GROUP_ENTRY_JOINS}
                     WHERE substring(g.nonces FROM c.slot * 7 + 1 FOR 7) = $3
                       AND g.tenants[c.slot + 1] = $4"
                ))
                .await
                .map_err(db_err)?;
            let row = client
                .query_opt(&stmt, &[&grp, &slot, &nonce.as_slice(), &tenant])
                .await
                .map_err(db_err)?;
            if let Some(row) = row {
                return entry_from_row(&row).map(Some);
            }
        }
        // An id given out before v8.
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries e {POSITION_JOINS}
                 WHERE e.id = $1 AND e.tenant = $2"
            ))
            .await
            .map_err(db_err)?;
        let row = client
            .query_opt(&stmt, &[&id, &tenant])
            .await
            .map_err(db_err)?;
        row.as_ref().map(entry_from_row).transpose()
    }

    async fn find_entries(
        &self,
        tenant: &str,
        evidence_sha256: &Hash,
        limit: u32,
    ) -> Result<Vec<StoredEntry>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                // Candidates by key. Entries stored before v8 (`f`, by seq
                // and id): pending ones from the groups that waited at the
                // upgrade, sequenced ones from `keyed_lookup` (migration
                // 0007) or, if sequenced before it, `lookup`. v8 entries
                // (`c`, by group and slot): pending ones from the queue's
                // keys, sequenced ones from `group_lookup` by index, whose
                // run in `group_positions` names the group. The queue holds
                // seconds of submissions and is read without an index.
                // Tenant and digest are checked on the entry, as two
                // entries can share a key. One statement has one snapshot
                // and the sequencer moves an entry from the queue to the
                // lookup in one transaction, so each entry is seen exactly
                // once. Entries before v8 are older than v8 ones; each kind
                // is in submission order by seq, or group and slot.
                "WITH f AS (
                   SELECT seq, id FROM lookup WHERE tenant = $1 AND evidence_sha256 = $2
                   UNION ALL
                   SELECT seq, id FROM keyed_lookup WHERE key = $4
                   UNION ALL
                   SELECT u.seq, u.id
                   FROM pending_groups AS g,
                        unnest(g.seqs, g.ids, g.keys) WITH ORDINALITY AS u(seq, id, key, slot)
                   WHERE g.ids IS NOT NULL AND u.slot > g.done AND u.key = $4),
                 c AS (
                   SELECT r.grp, (r.lo + (l.idx - r.first_index))::int AS slot
                   FROM group_lookup AS l,
                        LATERAL (SELECT grp, lo, first_index FROM group_positions
                                 WHERE first_index <= l.idx
                                 ORDER BY first_index DESC LIMIT 1) AS r
                   WHERE l.key = $4
                   UNION ALL
                   SELECT g.grp, (u.slot - 1)::int
                   FROM pending_groups AS g, unnest(g.keys) WITH ORDINALITY AS u(key, slot)
                   WHERE g.ids IS NULL AND u.slot > g.done AND u.key = $4)
                 SELECT {ENTRY_COLUMNS}, 0, f.seq
                 FROM f JOIN entries e ON e.id = f.id
                 {POSITION_JOINS}
                 WHERE e.tenant = $1 AND e.evidence_sha256 = $2
                 UNION ALL
                 SELECT {GROUP_ENTRY_COLUMNS}, 1, (c.grp << {SLOT_BITS}) | c.slot
                 FROM c {GROUP_ENTRY_JOINS}
                 WHERE g.tenants[c.slot + 1] = $1
                   AND substring(g.evidence FROM c.slot * 32 + 1 FOR 32) = $2
                 ORDER BY 12, 13 LIMIT $3"
            ))
            .await
            .map_err(db_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &tenant,
                    &evidence_sha256.as_slice(),
                    &i64::from(limit),
                    &lookup_key(tenant, evidence_sha256),
                ],
            )
            .await
            .map_err(db_err)?;
        rows.iter().map(entry_from_row).collect()
    }

    async fn pending_count(&self) -> Result<u64> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT coalesce(sum(n - done), 0)::bigint FROM pending_groups",
                &[],
            )
            .await
            .map_err(db_err)?;
        to_u64(row.get(0), "pending count")
    }

    async fn tidy_queue(&self) -> Result<()> {
        // Outside a transaction, as VACUUM must be. Without truncation it
        // takes no lock that submissions or the sequencer's batches wait
        // for; the room it frees is reused by the next inserts.
        let client = self.client().await?;
        client
            .batch_execute("VACUUM (TRUNCATE false) pending_groups")
            .await
            .map_err(db_err)
    }

    async fn acquire_sequencer(&self, holder: &str) -> Result<Option<Lease>> {
        let mut held = self.lease.lock().await;
        if let Some(h) = held.as_ref() {
            if !h.client.is_closed() {
                return Ok(None);
            }
            // The old lease connection died: that lease is gone.
            *held = None;
        }
        let (client, connection) = self.lease_config.connect(NoTls).await.map_err(|e| {
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

    async fn lease_alive(&self, lease: &Lease) -> Result<bool> {
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

    async fn release_sequencer(&self, lease: &Lease) -> Result<()> {
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

    async fn log_state(&self) -> Result<LogState> {
        let client = self.client().await?;
        read_log_state(&client).await
    }

    async fn next_pending(&self, limit: u32) -> Result<Vec<PendingLeaf>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(NEXT_PENDING_SQL)
            .await
            .map_err(db_err)?;
        let rows = client
            .query(&stmt, &[&i64::from(limit)])
            .await
            .map_err(db_err)?;
        let mut out = Vec::with_capacity(limit as usize);
        for r in &rows {
            let grp = to_u64(r.get(0), "group")?;
            let done = usize::try_from(r.get::<_, i32>(1))
                .map_err(|_| StoreError::Database("negative group progress".into()))?;
            let queued = Queued::from_row(r, 2, grp, 0)?;
            if done >= queued.len() {
                return Err(StoreError::Database(format!(
                    "queue group {grp} is malformed"
                )));
            }
            for slot in done..queued.len() {
                if out.len() == limit as usize {
                    break;
                }
                let (id, leaf_hash) = queued.entry(slot)?;
                out.push(PendingLeaf {
                    id,
                    leaf_hash,
                    queue_pos: queue_pos(grp, slot),
                });
            }
        }
        Ok(out)
    }

    async fn append_batch(&self, lease: &Lease, batch: &Batch) -> Result<()> {
        let new_size = batch_new_size(batch)?;
        {
            let held = self.lease.lock().await;
            match held.as_ref() {
                Some(h) if h.epoch == lease.epoch && !h.client.is_closed() => {}
                _ => return Err(StoreError::NotLeader),
            }
        }
        let old = to_i64(batch.old_size, "old size")?;
        let new = to_i64(new_size, "new size")?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        // Fencing. The row lock taken here also serialises this transaction
        // with a new sequencer's epoch increment: whichever commits second
        // sees the other's effect. Returning early drops `tx`: rollback.
        let moved = tx
            .execute(
                "UPDATE log_state SET size = $1, root = $2
                 WHERE id = 1 AND epoch = $3 AND size = $4",
                &[&new, &batch.checkpoint.root.as_slice(), &lease.epoch, &old],
            )
            .await
            .map_err(db_err)?;
        if moved != 1 {
            let state = read_log_state(&tx).await?;
            return Err(if state.epoch != lease.epoch {
                StoreError::NotLeader
            } else {
                StoreError::Conflict(format!(
                    "the log has {} entries, the batch extends {}",
                    state.size, batch.old_size
                ))
            });
        }
        // Only pending entries can be given an index, each group's front to
        // back: each run of a group gets its position row (entries
        // themselves are never rewritten), every entry its digest lookup
        // row (migrations 0007, 0008), in key order so that neighbouring keys share
        // index pages; each group's progress moves on, and a group is gone
        // once its last entry is sequenced.
        let segments = queue_segments(&batch.entries, old)?;
        create_lookup_partitions(&tx, old, new).await?;
        let stmt = tx.prepare_cached(APPEND_BATCH_SQL).await.map_err(db_err)?;
        let rows = tx
            .query(
                &stmt,
                &[
                    &segments.groups,
                    &segments.lo,
                    &segments.hi,
                    &segments.first_index,
                ],
            )
            .await
            .map_err(db_err)?;
        let mut leaves: Vec<Option<Hash>> = vec![None; batch.entries.len()];
        for row in &rows {
            let grp = to_u64(row.get(0), "group")?;
            let (lo, hi): (i32, i32) = (row.get(1), row.get(2));
            let (lo, n) = (lo as usize, (hi - lo) as usize);
            let first = usize::try_from(row.get::<_, i64>(3) - old)
                .ok()
                .filter(|&p| p + n <= leaves.len())
                .ok_or_else(|| StoreError::Database("assigned index out of the batch".into()))?;
            let queued = Queued::from_row(row, 4, grp, lo)?;
            if queued.len() != n {
                return Err(StoreError::Database(format!(
                    "queue group {grp} is malformed"
                )));
            }
            for k in 0..n {
                let (id, leaf) = queued.entry(k)?;
                if id != batch.entries[first + k].id {
                    return Err(StoreError::Conflict(format!(
                        "entry {} is not where the batch says it is in the queue",
                        batch.entries[first + k].id
                    )));
                }
                leaves[first + k] = Some(leaf);
            }
        }
        let leaves: Vec<Hash> = leaves
            .into_iter()
            .zip(&batch.entries)
            .map(|(leaf, e)| {
                leaf.ok_or_else(|| {
                    StoreError::Conflict(format!(
                        "entry {} is unknown, already sequenced or out of queue order",
                        e.id
                    ))
                })
            })
            .collect::<Result<_>>()?;
        let edge = read_nodes(&tx, &edge_ids(batch.old_size)).await?;
        let nodes = verify_batch_tree(batch, &edge, &leaves)?;
        let (levels, chunks, offsets, hashes) = chunk_writes(&nodes);
        // A chunk starting at offset 0 is new; any other extends the stored
        // chunk, which must end exactly where this one starts.
        let stmt = tx
            .prepare_cached(
                "WITH t AS (
                   SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::int[], $4::bytea[])
                     AS t(level, chunk, off, hashes)),
                 ext AS (
                   UPDATE tree_chunks AS c SET hashes = c.hashes || t.hashes
                   FROM t
                   WHERE t.off > 0 AND c.level = t.level AND c.chunk = t.chunk
                     AND length(c.hashes) = t.off * 32
                   RETURNING 1),
                 new AS (
                   INSERT INTO tree_chunks (level, chunk, hashes)
                   SELECT level, chunk, hashes FROM t WHERE off = 0
                   RETURNING 1)
                 SELECT (SELECT count(*) FROM ext) + (SELECT count(*) FROM new)",
            )
            .await
            .map_err(db_err)?;
        let written: i64 = tx
            .query_one(&stmt, &[&levels, &chunks, &offsets, &hashes])
            .await
            .map_err(|e| {
                if is(&e, &SqlState::UNIQUE_VIOLATION) {
                    StoreError::Conflict(format!("tree node already stored ({})", pg_text(&e)))
                } else {
                    db_err(e)
                }
            })?
            .get(0);
        if written != levels.len() as i64 {
            return Err(StoreError::Conflict(
                "the batch's tree nodes do not continue the stored ones".into(),
            ));
        }
        let cp = &batch.checkpoint;
        tx.execute(
            "INSERT INTO checkpoints (size, root, note, created_ms) VALUES ($1, $2, $3, $4)",
            &[&new, &cp.root.as_slice(), &cp.note, &cp.created_ms],
        )
        .await
        .map_err(|e| {
            if is(&e, &SqlState::UNIQUE_VIOLATION) {
                StoreError::Conflict(format!("checkpoint {new_size} is already stored"))
            } else {
                db_err(e)
            }
        })?;
        tx.commit().await.map_err(db_err)
    }

    async fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        read_nodes(&client, ids).await
    }

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT size, root, note, created_ms FROM checkpoints ORDER BY size DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(db_err)?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    async fn checkpoint(&self, size: u64) -> Result<Option<CheckpointRow>> {
        let Ok(size) = i64::try_from(size) else {
            return Ok(None);
        };
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT size, root, note, created_ms FROM checkpoints WHERE size = $1")
            .await
            .map_err(db_err)?;
        let row = client.query_opt(&stmt, &[&size]).await.map_err(db_err)?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    async fn add_cosignature(
        &self,
        size: u64,
        witness: &str,
        line: &str,
        timestamp: u64,
    ) -> Result<()> {
        let size_i = to_i64(size, "checkpoint size")?;
        let timestamp = to_i64(timestamp, "cosignature timestamp")?;
        let client = self.client().await?;
        match client
            .execute(
                "INSERT INTO cosignatures (size, witness, line, timestamp) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (size, witness)
                 DO UPDATE SET line = excluded.line, timestamp = excluded.timestamp",
                &[&size_i, &witness, &line, &timestamp],
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is(&e, &SqlState::FOREIGN_KEY_VIOLATION) => {
                Err(StoreError::NotFound(format!("checkpoint {size}")))
            }
            Err(e) => Err(db_err(e)),
        }
    }

    async fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>> {
        let Ok(size) = i64::try_from(size) else {
            return Ok(Vec::new());
        };
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT witness, line FROM cosignatures WHERE size = $1 ORDER BY witness",
                &[&size],
            )
            .await
            .map_err(db_err)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn finalize(&self, fin: &FinalCheckpoint) -> Result<()> {
        let size = to_i64(fin.size, "final checkpoint size")?;
        let certificates = encode_certificates(&fin.certificates)?;
        let client = self.client().await?;
        match client
            .execute(
                "INSERT INTO final_checkpoints (size, note, certificates, finalized_ms)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (size) DO NOTHING",
                &[&size, &fin.note, &certificates, &fin.finalized_ms],
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is(&e, &SqlState::FOREIGN_KEY_VIOLATION) => {
                Err(StoreError::NotFound(format!("checkpoint {}", fin.size)))
            }
            Err(e) => Err(db_err(e)),
        }
    }

    async fn latest_final(&self) -> Result<Option<FinalCheckpoint>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT size, note, certificates, finalized_ms FROM final_checkpoints
                 ORDER BY size DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(db_err)?;
        row.as_ref().map(final_from_row).transpose()
    }

    async fn first_final_covering(&self, index: u64) -> Result<Option<FinalCheckpoint>> {
        // A tree of size n covers leaves 0..n; no size exceeds i64::MAX.
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT size, note, certificates, finalized_ms FROM final_checkpoints
                 WHERE size > $1 ORDER BY size ASC LIMIT 1",
            )
            .await
            .map_err(db_err)?;
        let row = client.query_opt(&stmt, &[&index]).await.map_err(db_err)?;
        row.as_ref().map(final_from_row).transpose()
    }

    async fn ping(&self) -> Result<()> {
        let client = self.client().await?;
        read_log_state(&client).await.map(drop)
    }
}
