//! The embedded store: one SQLite file, one process.
//!
//! Durability: WAL journal with `synchronous = FULL`, so every commit fsyncs
//! the WAL before it returns: an acknowledged `insert_entries` survives a
//! kill -9 and a power loss (given storage that honours fsync). The WAL is
//! copied into the main file (checkpointed) by a thread of the store's own,
//! on its own connection, not by the writer: see [`Checkpointer`].
//!
//! Concurrency: rusqlite is synchronous, so every operation runs on tokio's
//! blocking pool. Writes go through one writer connection behind a mutex
//! (SQLite has one writer at a time anyway); reads use a small pool of
//! read-only connections, which WAL lets run while the writer commits.
//!
//! Exclusivity: `open` takes an exclusive OS lock on `<db>.lock` for the
//! life of the store, so a second process (or a second `open` in the same
//! process) cannot write the same log. The sequencer lease still bumps
//! `log_state.epoch` and `append_batch` is still fenced by epoch and old size
//! exactly as in PostgreSQL, so the sequencing logic is the same code path
//! for both backends.

use crate::common::{
    SQLITE_MIGRATIONS, batch_new_size, decode_certificates, edge_ids, encode_certificates,
    node_not_found, pending_migrations, to_hash, to_i64, to_metadata, to_salt, to_tenant, to_u64,
    verify_batch_tree,
};
use crate::{
    Batch, CheckpointRow, Claim, Earlier, FinalCheckpoint, Lease, LogState, NewEntry, PendingLeaf,
    Result, Store, StoreError, StoredEntry, TimestampToken, check_sequenced, unclaimed_rows,
};
use async_trait::async_trait;
use notarium_core::entry::{Metadata, SubmitterId};
use notarium_core::merkle::Hash;
use notarium_log::tree::NodeId;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a connection waits for a lock held by another connection
/// (a reader during WAL recovery, an external backup tool) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Read connections kept open for reuse.
const MAX_IDLE_READERS: usize = 4;
/// How often the checkpointer copies the WAL into the main file (a round
/// with nothing to copy costs a few microseconds).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(10);
/// WAL pages after which the writer finishes a checkpoint itself, so that
/// the WAL starts over (64 MiB of 4 KiB pages); see [`Checkpointer`].
/// 4096 pages (16 MiB) kept about half of the gain, 65536 no more of it.
const WRITER_CHECKPOINT_PAGES: i64 = 16384;

/// The embedded SQLite store. Cheap to share: wrap it in an `Arc`.
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Stopped (and joined) first when the store is dropped.
    _checkpointer: Checkpointer,
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// The epoch of the lease this process holds, if any.
    lease: Mutex<Option<i64>>,
    /// Holds the exclusive OS lock for as long as the store lives.
    _lock_file: File,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// The lock file that guards the database at `db`: `<db>.lock`.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Which constraint a failed statement violated, if any.
enum Violation {
    Unique,
    ForeignKey,
}

fn violation(e: &rusqlite::Error) -> Option<Violation> {
    match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation => {
            match f.extended_code {
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => Some(Violation::Unique),
                rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(Violation::ForeignKey),
                _ => None,
            }
        }
        _ => None,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside a closure leaves no half-done work behind: rusqlite
    // rolls an open transaction back when it is dropped during unwinding.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    // FULL: the WAL is fsync'd at every commit, so a commit that returned
    // survives power loss (NORMAL would only survive an application crash).
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(db_err)?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` for exclusive use
    /// by this process. Fails if another store holds `<path>.lock`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let lock_file = take_lock(&path)?;
        let writer = Connection::open(&path).map_err(|e| {
            StoreError::Database(format!("opening SQLite database {}: {e}", path.display()))
        })?;
        configure(&writer)?;
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(db_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "{} cannot use WAL journaling (got {mode})",
                path.display()
            )));
        }
        let sync: i64 = writer
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .map_err(db_err)?;
        if sync != 2 {
            return Err(StoreError::Database(format!(
                "SQLite refused synchronous=FULL (got {sync})"
            )));
        }
        // The checkpointer copies the WAL; the writer finishes the job. A
        // WAL file left larger than that by a large commit is cut back to
        // 64 MiB when it starts over.
        writer
            .pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
            .map_err(db_err)?;
        writer
            .pragma_update(None, "journal_size_limit", 64 << 20)
            .map_err(db_err)?;
        let checkpointer = Checkpointer::start(&path)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                _checkpointer: checkpointer,
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                lease: Mutex::new(None),
                _lock_file: lock_file,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with the writer connection on the blocking pool.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Inner) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = lock(&inner.writer);
            f(&mut conn, &inner)
        })
        .await
        .map_err(|e| StoreError::Database(format!("SQLite task failed: {e}")))?
    }

    /// Runs `f` with a read-only connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match lock(&inner.readers).pop() {
                Some(c) => c,
                None => open_reader(&inner.path)?,
            };
            let out = f(&conn);
            let mut idle = lock(&inner.readers);
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Database(format!("SQLite task failed: {e}")))?
    }
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| StoreError::Database(format!("opening {} for reading: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    Ok(conn)
}

/// Copies the WAL into the main database file every [`CHECKPOINT_EVERY`],
/// on a thread and a connection of its own.
///
/// SQLite's automatic checkpoints run inside the commit that passes 1000
/// WAL pages, on the writer connection: the whole copy, and the fsync of
/// the main file that `synchronous = FULL` adds, then delay every
/// submission waiting for the one writer. This thread does the copying
/// alongside the writer instead (a PASSIVE checkpoint never blocks the
/// writer or the readers). Durability does not change: a commit is
/// durable once its WAL frames are fsync'd, which the writer still does.
///
/// The WAL only starts over from its beginning when a write begins after
/// a checkpoint that copied every frame, which a checkpoint running beside
/// a busy writer never does: with this thread alone the WAL grew past
/// 1 GB in a 30-second benchmark. So the writer still checkpoints, but
/// only past [`WRITER_CHECKPOINT_PAGES`] (not 1000), and then finds all
/// but the last few milliseconds of writes already copied; its checkpoint
/// completes, and the WAL starts over.
struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(|e| {
            StoreError::Database(format!("opening {} to checkpoint: {e}", path.display()))
        })?;
        configure(&conn)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let (flag, wake) = &*stopped;
                loop {
                    let guard = lock(flag);
                    let (guard, _) = wake
                        .wait_timeout_while(guard, CHECKPOINT_EVERY, |stop| !*stop)
                        .unwrap_or_else(|p| p.into_inner());
                    if *guard {
                        return;
                    }
                    drop(guard);
                    // An error (the disk failing) fails the writer's next
                    // commit too; here the next round simply tries again.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .map_err(|e| StoreError::Database(format!("starting the checkpointer: {e}")))?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (flag, wake) = &*self.stop;
        *lock(flag) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Takes the exclusive lock on `<db>.lock` and writes our pid into it, or
/// explains who holds it.
fn take_lock(db: &Path) -> Result<File> {
    let path = lock_path(db);
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::Database(format!("opening lock file {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                String::new()
            } else {
                format!(" (held by {holder})")
            };
            return Err(StoreError::Database(format!(
                "the store {} is already open for writing by another process: lock file {} is locked{who}",
                db.display(),
                path.display()
            )));
        }
        Err(TryLockError::Error(e)) => {
            return Err(StoreError::Database(format!(
                "locking {}: {e}",
                path.display()
            )));
        }
    }
    // Informational only: the OS lock is what counts, and it dies with us.
    let _ = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| writeln!(file, "pid {}", std::process::id()));
    Ok(file)
}

/// The log index of the entry aliased `e`, or NULL while it is pending:
/// the first run that ends at or after it holds it if it starts at or
/// before it (one search of the runs' rowid B-tree).
macro_rules! log_index_of_e {
    () => {
        "(SELECT CASE WHEN r.lo_seq <= e.seq THEN r.first_index + e.seq - r.lo_seq END
          FROM runs AS r WHERE r.hi_seq >= e.seq ORDER BY r.hi_seq LIMIT 1)"
    };
}

/// The seq of the newest sequenced entry (0 for an empty log): the largest
/// rowid of `runs`.
macro_rules! last_sequenced_seq {
    () => {
        "coalesce((SELECT max(hi_seq) FROM runs), 0)"
    };
}

// The hot-path statements, named so that a unit test can check their query
// plans: each is a key or index search, never a table scan or a sort.
//
// Schema v2 (migration 0002) stores the log as runs of consecutive entries:
// an entry's index is read from the first run that ends at or after it,
// and the pending queue is every entry after the last run.
const GET_ENTRY: &str = concat!(
    "SELECT id, tenant, evidence_sha256, salt, metadata, received_ms, leaf_hash, ",
    log_index_of_e!(),
    " FROM entries AS e WHERE id = ?1 AND tenant = ?2"
);
const FIND_ENTRIES: &str = concat!(
    "SELECT id, tenant, evidence_sha256, salt, metadata, received_ms, leaf_hash, ",
    log_index_of_e!(),
    " FROM entries AS e WHERE tenant = ?1 AND evidence_sha256 = ?2 ORDER BY seq LIMIT ?3"
);
const TENANT_FOR_KEY: &str = "SELECT tenant FROM api_keys WHERE key_hash = ?1";
const PENDING_COUNT: &str = concat!(
    "SELECT count(*) FROM entries WHERE seq > ",
    last_sequenced_seq!()
);
const NEXT_PENDING: &str = concat!(
    "SELECT id, leaf_hash, seq FROM entries WHERE seq > ",
    last_sequenced_seq!(),
    " ORDER BY seq LIMIT ?1"
);
const INSERT_RUN: &str = "INSERT INTO runs (hi_seq, lo_seq, first_index) VALUES (?1, ?2, ?3)";
const READ_NODE: &str = "SELECT hash FROM tree_nodes WHERE level = ?1 AND idx = ?2";
const READ_LEVEL: &str =
    "SELECT idx, hash FROM tree_nodes WHERE level = ?1 AND idx >= ?2 AND idx < ?3 ORDER BY idx";
/// The sequenced entries with indices `?1 .. ?2`: the runs from the one
/// holding `?1` (searched on `first_index`'s index) to the last starting
/// before `?2`, each joined to its entries by a seq range (rowid search).
const SEQUENCED_ENTRIES: &str = "SELECT e.id, e.tenant, e.evidence_sha256, e.salt, e.metadata,
       e.received_ms, e.leaf_hash, r.first_index + e.seq - r.lo_seq
     FROM runs AS r JOIN entries AS e
       ON e.seq >= max(r.lo_seq, r.lo_seq + ?1 - r.first_index)
      AND e.seq <= min(r.hi_seq, r.lo_seq + ?2 - 1 - r.first_index)
     WHERE r.first_index >= coalesce((SELECT max(first_index) FROM runs WHERE first_index <= ?1), 0)
       AND r.first_index < ?2
     ORDER BY r.first_index, e.seq";
const LATEST_CHECKPOINT: &str =
    "SELECT size, root, note, created_ms FROM checkpoints ORDER BY size DESC LIMIT 1";
const CHECKPOINT: &str = "SELECT size, root, note, created_ms FROM checkpoints WHERE size = ?1";
const COSIGNATURES: &str =
    "SELECT witness, line FROM cosignatures WHERE size = ?1 ORDER BY witness";
const TIMESTAMP_TOKENS: &str = "SELECT size, tsa, token, gen_time, stored_ms FROM timestamp_tokens
     WHERE size = ?1 ORDER BY tsa";
const LATEST_FINAL: &str = "SELECT size, note, certificates, finalized_ms FROM final_checkpoints
     ORDER BY size DESC LIMIT 1";
const SEAL_TOKEN: &str = "SELECT token FROM seal_tokens WHERE imprint = ?1";
const FIRST_FINAL_LACKING_TOKENS: &str =
    "SELECT size, note, certificates, finalized_ms FROM final_checkpoints f
     WHERE size > ?1 AND size <= ?2
       AND (SELECT count(*) FROM timestamp_tokens t WHERE t.size = f.size) < ?3
     ORDER BY size ASC LIMIT 1";
const FIRST_FINAL_COVERING: &str =
    "SELECT size, note, certificates, finalized_ms FROM final_checkpoints
     WHERE size > ?1 ORDER BY size ASC LIMIT 1";

fn entry_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawEntry> {
    Ok(RawEntry {
        id: row.get(0)?,
        tenant: row.get(1)?,
        evidence_sha256: row.get(2)?,
        salt: row.get(3)?,
        metadata: row.get(4)?,
        received_ms: row.get(5)?,
        leaf_hash: row.get(6)?,
        log_index: row.get(7)?,
    })
}

/// An entry row before its BLOBs are checked.
struct RawEntry {
    id: String,
    tenant: String,
    evidence_sha256: Vec<u8>,
    salt: Vec<u8>,
    metadata: Option<String>,
    received_ms: i64,
    leaf_hash: Vec<u8>,
    log_index: Option<i64>,
}

impl RawEntry {
    fn check(self) -> Result<StoredEntry> {
        Ok(StoredEntry {
            entry: NewEntry {
                id: self.id,
                tenant: to_tenant(self.tenant)?,
                evidence_sha256: to_hash(self.evidence_sha256, "evidence digest")?,
                salt: to_salt(self.salt)?,
                metadata: to_metadata(self.metadata)?,
                received_ms: self.received_ms,
                leaf_hash: to_hash(self.leaf_hash, "leaf hash")?,
            },
            log_index: self.log_index.map(|i| to_u64(i, "log index")).transpose()?,
        })
    }
}

type RawCheckpoint = (i64, Vec<u8>, String, i64);

fn checkpoint_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawCheckpoint> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn checkpoint_check(raw: RawCheckpoint) -> Result<CheckpointRow> {
    Ok(CheckpointRow {
        size: to_u64(raw.0, "checkpoint size")?,
        root: to_hash(raw.1, "checkpoint root")?,
        note: raw.2,
        created_ms: raw.3,
    })
}

type RawFinal = (i64, String, String, i64);

fn final_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawFinal> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn final_check(raw: RawFinal) -> Result<FinalCheckpoint> {
    Ok(FinalCheckpoint {
        size: to_u64(raw.0, "final checkpoint size")?,
        note: raw.1,
        certificates: decode_certificates(&raw.2)?,
        finalized_ms: raw.3,
    })
}

fn read_log_state(conn: &Connection) -> Result<LogState> {
    let (size, root, epoch): (i64, Vec<u8>, i64) = conn
        .query_row(
            "SELECT size, root, epoch FROM log_state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(db_err)?;
    Ok(LogState {
        size: to_u64(size, "log size")?,
        root: to_hash(root, "log root")?,
        epoch,
    })
}

/// The oldest `limit` pending entries, oldest first; `queue_pos` is the
/// entry's seq (a batch must take the queue's entries in this order, and
/// `append_batch` checks them by id).
fn read_queue(conn: &Connection, limit: u32) -> Result<Vec<PendingLeaf>> {
    let mut stmt = conn.prepare_cached(NEXT_PENDING).map_err(db_err)?;
    let rows = stmt
        .query_map([limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .map_err(db_err)?;
    rows.map(|r| {
        let (id, leaf, seq) = r.map_err(db_err)?;
        Ok(PendingLeaf {
            id,
            leaf_hash: to_hash(leaf, "leaf hash")?,
            queue_pos: to_u64(seq, "seq")?,
        })
    })
    .collect()
}

fn read_nodes(conn: &Connection, ids: &[NodeId]) -> Result<Vec<Hash>> {
    let mut stmt = conn.prepare_cached(READ_NODE).map_err(db_err)?;
    ids.iter()
        .map(|id| {
            let idx = i64::try_from(id.index).map_err(|_| node_not_found(*id))?;
            let hash: Option<Vec<u8>> = stmt
                .query_row(params![id.level, idx], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            to_hash(hash.ok_or_else(|| node_not_found(*id))?, "tree node hash")
        })
        .collect()
}

/// The tenant's use of the claim's key at or after `since_ms`, if any.
fn earlier_use(conn: &Connection, c: &Claim, since_ms: i64) -> Result<Option<Earlier>> {
    let row: Option<(Vec<u8>, String, String)> = conn
        .prepare_cached(
            "SELECT request, entry_ids, receipts FROM idempotency_keys
             WHERE tenant = ?1 AND key = ?2 AND created_ms >= ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![c.tenant.as_str(), c.key, since_ms], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
        })
        .map_err(db_err)?;
    let strings = |text: &str, what: &str| -> Result<Vec<String>> {
        serde_json::from_str(text)
            .map_err(|e| StoreError::Database(format!("stored idempotency {what}: {e}")))
    };
    row.map(|(request, ids, receipts)| {
        Ok(Earlier {
            request: to_hash(request, "idempotency request")?,
            ids: strings(&ids, "entry ids")?,
            receipts: strings(&receipts, "receipts")?,
        })
    })
    .transpose()
}

/// Inserts `rows` into `entries` (inside the caller's transaction).
fn insert_rows<'a>(conn: &Connection, rows: impl Iterator<Item = &'a NewEntry>) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO entries
               (id, tenant, evidence_sha256, salt, metadata, received_ms, leaf_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(db_err)?;
    for e in rows {
        stmt.execute(params![
            e.id,
            e.tenant.as_str(),
            e.evidence_sha256,
            e.salt,
            e.metadata.as_ref().map(Metadata::as_str),
            e.received_ms,
            e.leaf_hash
        ])
        .map_err(|err| match violation(&err) {
            Some(Violation::Unique) => StoreError::AlreadyExists(format!("entry {}", e.id)),
            Some(Violation::ForeignKey) => StoreError::NotFound(format!("tenant {}", e.tenant)),
            None => db_err(err),
        })?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<()> {
        self.write(|conn, _| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version    INTEGER PRIMARY KEY,
                     name       TEXT NOT NULL,
                     applied_ms INTEGER NOT NULL
                 )",
            )
            .map_err(db_err)?;
            let current: Option<i64> = tx
                .query_row("SELECT max(version) FROM schema_migrations", [], |r| {
                    r.get(0)
                })
                .map_err(db_err)?;
            for m in pending_migrations(SQLITE_MIGRATIONS, current)? {
                tx.execute_batch(m.sql)
                    .map_err(|e| StoreError::Database(format!("migration {}: {e}", m.name)))?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_ms)
                     VALUES (?1, ?2, CAST(unixepoch('subsec') * 1000 AS INTEGER))",
                    params![m.version, m.name],
                )
                .map_err(db_err)?;
            }
            tx.commit().map_err(db_err)
        })
        .await
    }

    async fn add_tenant(&self, tenant: &SubmitterId, now_ms: i64) -> Result<()> {
        let tenant = tenant.to_string();
        self.write(move |conn, _| {
            match conn.execute(
                "INSERT INTO tenants (tenant, created_ms) VALUES (?1, ?2)",
                params![tenant, now_ms],
            ) {
                Ok(_) => Ok(()),
                Err(e) if matches!(violation(&e), Some(Violation::Unique)) => {
                    Err(StoreError::AlreadyExists(format!("tenant {tenant}")))
                }
                Err(e) => Err(db_err(e)),
            }
        })
        .await
    }

    async fn add_api_key(&self, tenant: &SubmitterId, key_hash: &Hash, now_ms: i64) -> Result<()> {
        let tenant = tenant.to_string();
        let key_hash = *key_hash;
        self.write(move |conn, _| {
            match conn.execute(
                "INSERT INTO api_keys (key_hash, tenant, created_ms) VALUES (?1, ?2, ?3)",
                params![key_hash, tenant, now_ms],
            ) {
                Ok(_) => Ok(()),
                Err(e) => Err(match violation(&e) {
                    Some(Violation::Unique) => StoreError::AlreadyExists("API key".into()),
                    Some(Violation::ForeignKey) => StoreError::NotFound(format!("tenant {tenant}")),
                    None => db_err(e),
                }),
            }
        })
        .await
    }

    async fn tenant_for_key(&self, key_hash: &Hash) -> Result<Option<SubmitterId>> {
        let key_hash = *key_hash;
        let tenant: Option<String> = self
            .read(move |conn| {
                conn.prepare_cached(TENANT_FOR_KEY)
                    .and_then(|mut s| s.query_row([key_hash], |r| r.get(0)).optional())
                    .map_err(db_err)
            })
            .await?;
        tenant.map(to_tenant).transpose()
    }

    async fn insert_entries(&self, entries: &mut [NewEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let entries = entries.to_vec();
        self.write(move |conn, _| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            insert_rows(&tx, entries.iter())?;
            // Dropping `tx` on an error above rolls everything back.
            tx.commit().map_err(db_err)
        })
        .await
    }

    async fn insert_claimed(
        &self,
        entries: &mut [NewEntry],
        claims: &[Claim],
        receipts: &[String],
        now_ms: i64,
        since_ms: i64,
    ) -> Result<Vec<Option<Earlier>>> {
        if receipts.len() != entries.len() {
            return Err(StoreError::Database(format!(
                "{} receipts for {} entries",
                receipts.len(),
                entries.len()
            )));
        }
        if claims.is_empty() {
            self.insert_entries(entries).await?;
            return Ok(Vec::new());
        }
        let (entries, claims, receipts) = (entries.to_vec(), claims.to_vec(), receipts.to_vec());
        self.write(move |conn, _| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            // The write lock is held: nothing can claim a key between the
            // look-up and the insert below.
            let earlier = claims
                .iter()
                .map(|c| earlier_use(&tx, c, since_ms))
                .collect::<Result<Vec<_>>>()?;
            let keep = unclaimed_rows(entries.len(), &claims, &earlier);
            insert_rows(&tx, keep.iter().map(|&i| &entries[i]))?;
            {
                let mut record = tx
                    .prepare_cached(
                        "INSERT INTO idempotency_keys
                           (tenant, key, request, entry_ids, receipts, created_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (tenant, key) DO UPDATE SET request = excluded.request,
                           entry_ids = excluded.entry_ids, receipts = excluded.receipts,
                           created_ms = excluded.created_ms",
                    )
                    .map_err(db_err)?;
                for (c, _) in claims.iter().zip(&earlier).filter(|(_, e)| e.is_none()) {
                    let ids: Vec<&str> = entries[c.rows.clone()]
                        .iter()
                        .map(|e| e.id.as_str())
                        .collect();
                    let ids = serde_json::to_string(&ids)
                        .map_err(|e| StoreError::Database(e.to_string()))?;
                    let mine = serde_json::to_string(&receipts[c.rows.clone()])
                        .map_err(|e| StoreError::Database(e.to_string()))?;
                    record
                        .execute(params![
                            c.tenant.as_str(),
                            c.key,
                            c.request,
                            ids,
                            mine,
                            now_ms
                        ])
                        .map_err(|err| match violation(&err) {
                            Some(Violation::ForeignKey) => {
                                StoreError::NotFound(format!("tenant {}", c.tenant))
                            }
                            _ => db_err(err),
                        })?;
                }
            }
            // Dropping `tx` on an error above rolls everything back.
            tx.commit().map_err(db_err)?;
            Ok(earlier)
        })
        .await
    }

    async fn forget_keys(&self, before_ms: i64) -> Result<u64> {
        self.write(move |conn, _| {
            conn.execute(
                "DELETE FROM idempotency_keys WHERE created_ms < ?1",
                [before_ms],
            )
            .map(|n| n as u64)
            .map_err(db_err)
        })
        .await
    }

    async fn get_entry(&self, tenant: &SubmitterId, id: &str) -> Result<Option<StoredEntry>> {
        let (tenant, id) = (tenant.to_string(), id.to_owned());
        self.read(move |conn| {
            let raw = conn
                .prepare_cached(GET_ENTRY)
                .and_then(|mut s| s.query_row(params![id, tenant], entry_from_row).optional())
                .map_err(db_err)?;
            raw.map(RawEntry::check).transpose()
        })
        .await
    }

    async fn find_entries(
        &self,
        tenant: &SubmitterId,
        evidence_sha256: &Hash,
        limit: u32,
    ) -> Result<Vec<StoredEntry>> {
        let (tenant, digest) = (tenant.to_string(), *evidence_sha256);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(FIND_ENTRIES).map_err(db_err)?;
            let rows = stmt
                .query_map(params![tenant, digest, limit], entry_from_row)
                .map_err(db_err)?;
            rows.map(|r| r.map_err(db_err).and_then(RawEntry::check))
                .collect()
        })
        .await
    }

    async fn pending_count(&self) -> Result<u64> {
        self.read(|conn| {
            let n: i64 = conn
                .query_row(PENDING_COUNT, [], |r| r.get(0))
                .map_err(db_err)?;
            to_u64(n, "pending count")
        })
        .await
    }

    async fn acquire_sequencer(&self, holder: &str) -> Result<Option<Lease>> {
        let holder = holder.to_owned();
        self.write(move |conn, inner| {
            let mut held = lock(&inner.lease);
            if held.is_some() {
                return Ok(None);
            }
            let epoch: i64 = conn
                .query_row(
                    "UPDATE log_state SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch",
                    [],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            *held = Some(epoch);
            Ok(Some(Lease { epoch, holder }))
        })
        .await
    }

    async fn lease_alive(&self, lease: &Lease) -> Result<bool> {
        let epoch = lease.epoch;
        if *lock(&self.inner.lease) != Some(epoch) {
            return Ok(false);
        }
        let state = self.read(read_log_state).await?;
        Ok(state.epoch == epoch)
    }

    async fn release_sequencer(&self, lease: &Lease) -> Result<()> {
        let epoch = lease.epoch;
        self.write(move |conn, inner| {
            let mut held = lock(&inner.lease);
            if *held != Some(epoch) {
                return Ok(());
            }
            // Moving the epoch on fences the released lease for good.
            conn.execute(
                "UPDATE log_state SET epoch = epoch + 1 WHERE id = 1 AND epoch = ?1",
                [epoch],
            )
            .map_err(db_err)?;
            *held = None;
            Ok(())
        })
        .await
    }

    async fn log_state(&self) -> Result<LogState> {
        self.read(read_log_state).await
    }

    async fn next_pending(&self, limit: u32) -> Result<Vec<PendingLeaf>> {
        self.read(move |conn| read_queue(conn, limit)).await
    }

    async fn append_batch(&self, lease: &Lease, batch: &Batch) -> Result<()> {
        let new_size = batch_new_size(batch)?;
        let epoch = lease.epoch;
        let batch = batch.clone();
        self.write(move |conn, inner| {
            if *lock(&inner.lease) != Some(epoch) {
                return Err(StoreError::NotLeader);
            }
            let old = to_i64(batch.old_size, "old size")?;
            let new = to_i64(new_size, "new size")?;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            // Fencing: the head moves only from the size the caller extended,
            // and only for the current epoch. Returning early drops `tx`:
            // rollback.
            let moved = tx
                .execute(
                    "UPDATE log_state SET size = ?1, root = ?2
                     WHERE id = 1 AND epoch = ?3 AND size = ?4",
                    params![new, batch.checkpoint.root, epoch, old],
                )
                .map_err(db_err)?;
            if moved != 1 {
                let state = read_log_state(&tx)?;
                return Err(if state.epoch != epoch {
                    StoreError::NotLeader
                } else {
                    StoreError::Conflict(format!(
                        "the log has {} entries, the batch extends {}",
                        state.size, batch.old_size
                    ))
                });
            }
            // The batch must be the oldest pending entries, oldest first:
            // the queue is every entry after the last run (schema v2).
            // Anything else (an unknown, repeated, skipped or already
            // sequenced entry) is refused, as a run could not record it.
            let queue = read_queue(&tx, u32::try_from(batch.entries.len()).unwrap_or(u32::MAX))?;
            for (i, PendingLeaf { id, .. }) in batch.entries.iter().enumerate() {
                if queue.get(i).is_none_or(|next| next.id != *id) {
                    return Err(StoreError::Conflict(format!(
                        "entry {id} is not the next pending entry (unknown, repeated, \
                         out of order or already sequenced)"
                    )));
                }
            }
            let leaves: Vec<Hash> = queue.iter().map(|p| p.leaf_hash).collect();
            let seqs = queue
                .iter()
                .map(|p| to_i64(p.queue_pos, "seq"))
                .collect::<Result<Vec<_>>>()?;
            {
                // One run per stretch of consecutive seqs: one row per batch
                // unless the rowids have a gap.
                let mut insert = tx.prepare_cached(INSERT_RUN).map_err(db_err)?;
                let mut lo = 0;
                for i in 1..=seqs.len() {
                    if i == seqs.len() || seqs[i] != seqs[i - 1] + 1 {
                        insert
                            .execute(params![seqs[i - 1], seqs[lo], old + lo as i64])
                            .map_err(db_err)?;
                        lo = i;
                    }
                }
            }
            let edge = read_nodes(&tx, &edge_ids(batch.old_size))?;
            verify_batch_tree(&batch, &edge, &leaves)?;
            {
                let mut insert = tx
                    .prepare_cached("INSERT INTO tree_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
                    .map_err(db_err)?;
                for (id, hash) in &batch.nodes {
                    insert
                        .execute(params![id.level, to_i64(id.index, "node index")?, hash])
                        .map_err(|e| match violation(&e) {
                            Some(Violation::Unique) => StoreError::Conflict(format!(
                                "tree node at level {} index {} is already stored",
                                id.level, id.index
                            )),
                            _ => db_err(e),
                        })?;
                }
            }
            let cp = &batch.checkpoint;
            tx.execute(
                "INSERT INTO checkpoints (size, root, note, created_ms) VALUES (?1, ?2, ?3, ?4)",
                params![new, cp.root, cp.note, cp.created_ms],
            )
            .map_err(|e| match violation(&e) {
                Some(Violation::Unique) => {
                    StoreError::Conflict(format!("checkpoint {new_size} is already stored"))
                }
                _ => db_err(e),
            })?;
            tx.commit().map_err(db_err)
        })
        .await
    }

    async fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.to_vec();
        self.read(move |conn| read_nodes(conn, &ids)).await
    }

    async fn read_level(&self, level: u8, start: u64, end: u64) -> Result<Vec<Hash>> {
        if start >= end {
            return Ok(Vec::new());
        }
        // No stored index exceeds i64::MAX.
        let lo = i64::try_from(start).map_err(|_| node_not_found(NodeId::new(level, start)))?;
        let hi = i64::try_from(end).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(READ_LEVEL).map_err(db_err)?;
            let rows = stmt
                .query_map(params![level, lo, hi], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
                })
                .map_err(db_err)?;
            let mut out = Vec::with_capacity((end - start) as usize);
            for (i, row) in rows.enumerate() {
                let (idx, hash) = row.map_err(db_err)?;
                let want = start + i as u64;
                if to_u64(idx, "node index")? != want {
                    return Err(node_not_found(NodeId::new(level, want)));
                }
                out.push(to_hash(hash, "tree node hash")?);
            }
            if out.len() as u64 != end - start {
                return Err(node_not_found(NodeId::new(level, start + out.len() as u64)));
            }
            Ok(out)
        })
        .await
    }

    async fn sequenced_entries(&self, start: u64, end: u64) -> Result<Vec<StoredEntry>> {
        if start >= end {
            return Ok(Vec::new());
        }
        // No log index exceeds i64::MAX.
        let lo = i64::try_from(start)
            .map_err(|_| StoreError::NotFound(format!("sequenced entry {start}")))?;
        let hi = i64::try_from(end).unwrap_or(i64::MAX);
        let entries = self
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(SEQUENCED_ENTRIES).map_err(db_err)?;
                let rows = stmt
                    .query_map(params![lo, hi], entry_from_row)
                    .map_err(db_err)?;
                rows.map(|r| r.map_err(db_err).and_then(RawEntry::check))
                    .collect::<Result<Vec<_>>>()
            })
            .await?;
        check_sequenced(&entries, start, end)?;
        Ok(entries)
    }

    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>> {
        self.read(|conn| {
            conn.prepare_cached(LATEST_CHECKPOINT)
                .and_then(|mut s| s.query_row([], checkpoint_from_row).optional())
                .map_err(db_err)?
                .map(checkpoint_check)
                .transpose()
        })
        .await
    }

    async fn checkpoint(&self, size: u64) -> Result<Option<CheckpointRow>> {
        let Ok(size) = i64::try_from(size) else {
            return Ok(None);
        };
        self.read(move |conn| {
            conn.prepare_cached(CHECKPOINT)
                .and_then(|mut s| s.query_row([size], checkpoint_from_row).optional())
                .map_err(db_err)?
                .map(checkpoint_check)
                .transpose()
        })
        .await
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
        let (witness, line) = (witness.to_owned(), line.to_owned());
        self.write(move |conn, _| {
            conn.execute(
                "INSERT INTO cosignatures (size, witness, line, timestamp) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (size, witness)
                 DO UPDATE SET line = excluded.line, timestamp = excluded.timestamp",
                params![size_i, witness, line, timestamp],
            )
            .map(drop)
            .map_err(|e| match violation(&e) {
                Some(Violation::ForeignKey) => StoreError::NotFound(format!("checkpoint {size}")),
                _ => db_err(e),
            })
        })
        .await
    }

    async fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>> {
        let Ok(size) = i64::try_from(size) else {
            return Ok(Vec::new());
        };
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(COSIGNATURES).map_err(db_err)?;
            let rows = stmt
                .query_map([size], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
        })
        .await
    }

    async fn finalize(&self, fin: &FinalCheckpoint) -> Result<()> {
        let size = to_i64(fin.size, "final checkpoint size")?;
        let certificates = encode_certificates(&fin.certificates)?;
        let (note, finalized_ms, fin_size) = (fin.note.clone(), fin.finalized_ms, fin.size);
        self.write(move |conn, _| {
            conn.execute(
                "INSERT INTO final_checkpoints (size, note, certificates, finalized_ms)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (size) DO NOTHING",
                params![size, note, certificates, finalized_ms],
            )
            .map(drop)
            .map_err(|e| match violation(&e) {
                Some(Violation::ForeignKey) => {
                    StoreError::NotFound(format!("checkpoint {fin_size}"))
                }
                _ => db_err(e),
            })
        })
        .await
    }

    async fn latest_final(&self) -> Result<Option<FinalCheckpoint>> {
        self.read(|conn| {
            conn.prepare_cached(LATEST_FINAL)
                .and_then(|mut s| s.query_row([], final_from_row).optional())
                .map_err(db_err)?
                .map(final_check)
                .transpose()
        })
        .await
    }

    async fn first_final_covering(&self, index: u64) -> Result<Option<FinalCheckpoint>> {
        // A tree of size n covers leaves 0..n; no size exceeds i64::MAX.
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        self.read(move |conn| {
            conn.prepare_cached(FIRST_FINAL_COVERING)
                .and_then(|mut s| s.query_row([index], final_from_row).optional())
                .map_err(db_err)?
                .map(final_check)
                .transpose()
        })
        .await
    }

    async fn add_timestamp_token(&self, t: &TimestampToken) -> Result<()> {
        let size = to_i64(t.size, "final checkpoint size")?;
        let (fin_size, t) = (t.size, t.clone());
        self.write(move |conn, _| {
            conn.execute(
                "INSERT INTO timestamp_tokens (size, tsa, token, gen_time, stored_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (size, tsa) DO NOTHING",
                params![size, t.tsa, t.token, t.gen_time, t.stored_ms],
            )
            .map(drop)
            .map_err(|e| match violation(&e) {
                Some(Violation::ForeignKey) => {
                    StoreError::NotFound(format!("final checkpoint {fin_size}"))
                }
                _ => db_err(e),
            })
        })
        .await
    }

    async fn seal_token(&self, imprint: &Hash) -> Result<Option<Vec<u8>>> {
        let imprint = imprint.to_vec();
        self.read(move |conn| {
            conn.prepare_cached(SEAL_TOKEN)
                .and_then(|mut s| s.query_row([imprint], |r| r.get(0)).optional())
                .map_err(db_err)
        })
        .await
    }

    async fn keep_seal_token(
        &self,
        imprint: &Hash,
        token: &[u8],
        stored_ms: i64,
    ) -> Result<Vec<u8>> {
        let (imprint, token) = (imprint.to_vec(), token.to_vec());
        self.write(move |conn, _| {
            conn.execute(
                "INSERT INTO seal_tokens (imprint, token, stored_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (imprint) DO NOTHING",
                params![imprint, token, stored_ms],
            )
            .map_err(db_err)?;
            conn.prepare_cached(SEAL_TOKEN)
                .and_then(|mut s| s.query_row([imprint], |r| r.get(0)))
                .map_err(db_err)
        })
        .await
    }

    async fn first_final_lacking_tokens(
        &self,
        after: u64,
        through: u64,
        required: usize,
    ) -> Result<Option<FinalCheckpoint>> {
        // No size exceeds i64::MAX: clamp the bounds into range.
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        let required = i64::try_from(required).unwrap_or(i64::MAX);
        self.read(move |conn| {
            conn.prepare_cached(FIRST_FINAL_LACKING_TOKENS)
                .and_then(|mut s| {
                    s.query_row(params![after, through, required], final_from_row)
                        .optional()
                })
                .map_err(db_err)?
                .map(final_check)
                .transpose()
        })
        .await
    }

    async fn timestamp_tokens(&self, size: u64) -> Result<Vec<TimestampToken>> {
        let Ok(size) = i64::try_from(size) else {
            return Ok(Vec::new());
        };
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(TIMESTAMP_TOKENS).map_err(db_err)?;
            let rows = stmt
                .query_map([size], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .map_err(db_err)?;
            let tokens: Result<Vec<TimestampToken>> = rows
                .map(|r| {
                    let (size, tsa, token, gen_time, stored_ms) = r.map_err(db_err)?;
                    Ok(TimestampToken {
                        size: to_u64(size, "timestamp token size")?,
                        tsa,
                        token,
                        gen_time,
                        stored_ms,
                    })
                })
                .collect();
            tokens
        })
        .await
    }

    async fn ping(&self) -> Result<()> {
        self.read(|conn| read_log_state(conn).map(drop)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every hot-path statement is a key or index search: no full scan, no
    /// sort, however large the tables grow (without statistics SQLite plans
    /// the same way at any size).
    #[test]
    fn hot_paths_search_by_key() {
        let conn = Connection::open_in_memory().unwrap();
        for m in SQLITE_MIGRATIONS {
            conn.execute_batch(m.sql).unwrap();
        }
        let plan = |sql: &str| -> Vec<String> {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let unbound = vec![rusqlite::types::Null; stmt.parameter_count()];
            stmt.query_map(rusqlite::params_from_iter(unbound), |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
        };
        for sql in [
            GET_ENTRY,
            FIND_ENTRIES,
            TENANT_FOR_KEY,
            PENDING_COUNT,
            NEXT_PENDING,
            READ_NODE,
            READ_LEVEL,
            SEQUENCED_ENTRIES,
            CHECKPOINT,
            COSIGNATURES,
            FIRST_FINAL_COVERING,
            TIMESTAMP_TOKENS,
        ] {
            let steps = plan(sql);
            assert!(!steps.is_empty());
            for step in &steps {
                // A subquery's header line; its own steps follow it.
                if step.ends_with("SCALAR SUBQUERY 1") {
                    continue;
                }
                assert!(step.starts_with("SEARCH "), "{sql}: {step}");
                assert!(!step.contains("TEMP B-TREE"), "{sql}: {step}");
            }
        }
        // The newest row of a table keyed by size: a backward walk of the
        // rowid B-tree that stops at its first row.
        for sql in [LATEST_CHECKPOINT, LATEST_FINAL] {
            let steps = plan(sql);
            assert_eq!(steps.len(), 1, "{sql}: {steps:?}");
            assert!(steps[0].starts_with("SCAN "), "{sql}: {steps:?}");
            assert!(!steps[0].contains("TEMP B-TREE"), "{sql}: {steps:?}");
            assert!(sql.ends_with("ORDER BY size DESC LIMIT 1"));
        }
    }
}
