//! The witness's embedded store: one SQLite file, WAL mode,
//! `synchronous = FULL`, one writer thread that commits updates in groups.
//!
//! # Durability
//!
//! Every update is applied inside a `BEGIN IMMEDIATE` transaction on the
//! writer's connection and its caller is answered only after `COMMIT`
//! returned. In WAL mode `synchronous = FULL` fsyncs the WAL at every
//! commit, so an answered update survives a process kill *and* a power loss.
//! (`NORMAL` would survive a kill but could lose the last commits on power
//! loss, after their cosignatures were handed out: a witness could then
//! cosign a fork of a checkpoint it already cosigned. Not acceptable here.)
//!
//! # Group commit
//!
//! An fsync costs about as much as thousands of updates, so the writer takes
//! every update waiting in its queue (up to [`MAX_BATCH`]), runs them one
//! after the other in one transaction (each sees the writes of those before
//! it, on the same connection) and commits once. Nobody waits for a batch to
//! fill: a lone update is committed at once. If anything in a batch fails,
//! the whole transaction is rolled back and every caller in it gets an
//! error, so no reply ever rests on a write that did not happen.
//!
//! # Second line of defence
//!
//! Triggers make the `cosigned` table append-only and refuse a row whose
//! size is below the log's latest, or equal to it with another root: even a
//! bug in the witness logic cannot store a rollback or a fork.

use super::{Cosigned, Decision, Evidence, EvidenceKind, StoreError, View, WitnessState};
use notarium_core::merkle::Hash;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::fs::File;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// The schema version this code reads and writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;
/// The most updates committed in one transaction.
pub const MAX_BATCH: usize = 1024;

const SCHEMA: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Every checkpoint the witness cosigned, in the order it cosigned them.
-- The last row of a log is its latest cosigned checkpoint.
CREATE TABLE cosigned (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    origin      TEXT    NOT NULL,
    size        INTEGER NOT NULL CHECK (size >= 0),
    root        BLOB    NOT NULL CHECK (length(root) = 32),
    cosigned_at INTEGER NOT NULL CHECK (cosigned_at >= 0),
    note        TEXT    NOT NULL,
    cosignature TEXT    NOT NULL
) STRICT;
CREATE INDEX cosigned_by_origin ON cosigned (origin, id);

CREATE TRIGGER cosigned_is_append_only_u BEFORE UPDATE ON cosigned
BEGIN SELECT RAISE(ABORT, 'cosigned checkpoints are never changed'); END;
CREATE TRIGGER cosigned_is_append_only_d BEFORE DELETE ON cosigned
BEGIN SELECT RAISE(ABORT, 'cosigned checkpoints are never deleted'); END;
CREATE TRIGGER cosigned_never_rolls_back BEFORE INSERT ON cosigned
WHEN EXISTS (
    SELECT 1 FROM (SELECT size, root FROM cosigned WHERE origin = NEW.origin
                   ORDER BY id DESC LIMIT 1) AS last
    WHERE last.size > NEW.size OR (last.size = NEW.size AND last.root <> NEW.root)
)
BEGIN SELECT RAISE(ABORT, 'refused: rollback or fork of a cosigned checkpoint'); END;

-- Refused requests with a valid notary signature (bounded per log).
CREATE TABLE evidence (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    origin      TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('bad-proof', 'fork')),
    received_at INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    request     TEXT    NOT NULL,
    digest      BLOB    NOT NULL,
    UNIQUE (origin, digest)
) STRICT;
CREATE INDEX evidence_by_origin ON evidence (origin, kind, id);
";

/// Who a state file belongs to, written by `init`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateInfo {
    /// The witness name (certificate CN).
    pub name: String,
    /// Base64 DER SubjectPublicKeyInfo of the witness key.
    pub spki: String,
    /// Unix seconds.
    pub created_at: u64,
}

/// Counters for /metrics.
#[derive(Debug, Default)]
pub struct StoreStats {
    pub commits: AtomicU64,
    pub updates: AtomicU64,
    pub largest_batch: AtomicU64,
}

/// One kept record, for `export`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Cosigned { id: i64, cosigned: Cosigned },
    Evidence { id: i64, evidence: Evidence },
}

type Complete = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Run = Box<dyn for<'a> FnOnce(View<'a>) -> (Effect, Complete) + Send>;

enum Effect {
    Nothing,
    Commit(Cosigned),
    Evidence(Evidence),
}

struct Job {
    origin: String,
    run: Run,
}

/// The SQLite witness state of a serving witness. Holds an exclusive lock
/// file beside the database so that two witness processes never serve the
/// same state.
#[derive(Debug)]
pub struct SqliteState {
    path: PathBuf,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    reader: Mutex<Connection>,
    stats: Arc<StoreStats>,
    info: StateInfo,
    last_cosigned_at: Option<u64>,
    _lock: File,
}

fn open_err(path: &Path, why: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        path: path.display().to_string(),
        why: why.to_string(),
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "journal_mode is {mode}, not wal"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// `u64` sizes and times are stored as SQLite integers; the witness refuses
/// values above `i64::MAX` before they reach the store.
fn to_sql(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Io(format!("{v} does not fit the store")))
}

fn from_sql(v: i64) -> u64 {
    v.max(0) as u64
}

fn row_to_cosigned(r: &rusqlite::Row<'_>) -> rusqlite::Result<Cosigned> {
    let root: Vec<u8> = r.get("root")?;
    let root: Hash = root.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            32,
            rusqlite::types::Type::Blob,
            "root is not 32 bytes".into(),
        )
    })?;
    Ok(Cosigned {
        origin: r.get("origin")?,
        size: from_sql(r.get("size")?),
        root,
        cosigned_at: from_sql(r.get("cosigned_at")?),
        note: r.get("note")?,
        cosignature: r.get("cosignature")?,
    })
}

const SELECT_LATEST: &str = "SELECT origin, size, root, cosigned_at, note, cosignature
     FROM cosigned WHERE origin = ?1 ORDER BY id DESC LIMIT 1";

fn read_latest(conn: &Connection, origin: &str) -> Result<Option<Cosigned>, StoreError> {
    Ok(conn
        .prepare_cached(SELECT_LATEST)?
        .query_row([origin], row_to_cosigned)
        .optional()?)
}

fn read_meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

fn write_meta(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

fn check_schema(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| open_err(path, format!("not a witness state file: {e}")))?;
    if v != SCHEMA_VERSION {
        return Err(open_err(
            path,
            format!(
                "schema version {v}, this witness reads version {SCHEMA_VERSION} \
                 (is this a witness state file made by `notarium-witness init`?)"
            ),
        ));
    }
    Ok(())
}

fn read_info(conn: &Connection, path: &Path) -> Result<StateInfo, StoreError> {
    let get = |k: &str| {
        read_meta(conn, k)?.ok_or_else(|| open_err(path, format!("no \"{k}\" in its meta table")))
    };
    Ok(StateInfo {
        name: get("name")?,
        spki: get("spki")?,
        created_at: get("created_at")?
            .parse()
            .map_err(|_| open_err(path, "bad created_at"))?,
    })
}

fn sync_parent_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}

/// Takes the exclusive lock file beside the state: one process at a time
/// serves or repairs a state.
fn take_lock(path: &Path) -> Result<File, StoreError> {
    let lock_path = {
        let mut p = path.as_os_str().to_owned();
        p.push(".lock");
        PathBuf::from(p)
    };
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| open_err(&lock_path, e))?;
    lock.try_lock().map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => open_err(
            path,
            format!(
                "is in use by another notarium-witness process (lock {} is held)",
                lock_path.display()
            ),
        ),
        std::fs::TryLockError::Error(e) => open_err(&lock_path, e),
    })?;
    Ok(lock)
}

/// What [`SqliteState::reset_clock`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockReset {
    /// The clock is not behind the last cosignature (or nothing was ever
    /// cosigned): nothing changed.
    NotBehind { last: Option<u64> },
    /// The last cosignature time was `from` (ahead of the clock); it is now
    /// `to`, the clock's time, and the reset is recorded in the state.
    Reset { from: u64, to: u64 },
}

impl SqliteState {
    /// Creates a fresh state file for a witness (`init`). Refuses to touch an
    /// existing file: replacing a witness's state would let it cosign a
    /// rollback of what it cosigned before.
    pub fn create(path: &Path, info: &StateInfo) -> Result<(), StoreError> {
        if path.exists() {
            return Err(open_err(
                path,
                "already exists; a witness never starts over on an existing state \
                 (it would forget what it cosigned); choose a new path",
            ));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_err(path, e))?;
        configure(&conn).map_err(|e| open_err(path, e))?;
        let mut conn = conn;
        let tx = conn.transaction().map_err(|e| open_err(path, e))?;
        tx.execute_batch(SCHEMA).map_err(|e| open_err(path, e))?;
        write_meta(&tx, "name", &info.name)?;
        write_meta(&tx, "spki", &info.spki)?;
        write_meta(&tx, "created_at", &info.created_at.to_string())?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(|e| open_err(path, e))?;
        tx.commit().map_err(|e| open_err(path, e))?;
        drop(conn);
        sync_parent_dir(path);
        Ok(())
    }

    /// Opens an existing state file to serve it: takes the lock, starts the
    /// writer thread. `max_evidence_per_log` bounds the evidence kept.
    pub fn open(path: &Path, max_evidence_per_log: u32) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(open_err(
                path,
                "does not exist; create it once with `notarium-witness init --config FILE`",
            ));
        }
        let lock = take_lock(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let writer = Connection::open_with_flags(path, flags).map_err(|e| open_err(path, e))?;
        check_schema(&writer, path)?;
        configure(&writer).map_err(|e| open_err(path, e))?;
        let info = read_info(&writer, path)?;
        let last_cosigned_at = read_meta(&writer, "last_cosigned_at")?
            .map(|s| s.parse::<u64>())
            .transpose()
            .map_err(|_| open_err(path, "bad last_cosigned_at"))?;
        let reader = Connection::open_with_flags(path, flags).map_err(|e| open_err(path, e))?;
        reader
            .pragma_update(None, "query_only", true)
            .map_err(|e| open_err(path, e))?;
        reader
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| open_err(path, e))?;
        let (sender, receiver) = mpsc::channel();
        let stats = Arc::new(StoreStats::default());
        let writer_stats = stats.clone();
        let writer = std::thread::Builder::new()
            .name("witness-store".into())
            .spawn(move || {
                Writer {
                    conn: writer,
                    max_evidence: i64::from(max_evidence_per_log),
                    last_cosigned_at,
                    stats: writer_stats,
                }
                .run(receiver)
            })
            .map_err(|e| open_err(path, e))?;
        Ok(SqliteState {
            path: path.to_path_buf(),
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            reader: Mutex::new(reader),
            stats,
            info,
            last_cosigned_at,
            _lock: lock,
        })
    }

    /// The recovery from a clock that jumped forward (`notarium-witness
    /// reset-clock`): while the witness is stopped (the state's lock is
    /// taken, so a serving witness makes this fail), sets the time of the
    /// last cosignature, which the witness never cosigns before, back to
    /// `now`, and records the reset (`clock_reset.N` in the meta table:
    /// when, from, to). Cosigned checkpoints are never changed. Does
    /// nothing if `now` is not behind the last cosignature.
    pub fn reset_clock(path: &Path, now: u64) -> Result<ClockReset, StoreError> {
        if !path.exists() {
            return Err(open_err(path, "does not exist"));
        }
        let _lock = take_lock(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(|e| open_err(path, e))?;
        check_schema(&conn, path)?;
        configure(&conn).map_err(|e| open_err(path, e))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last = read_meta(&tx, "last_cosigned_at")?
            .map(|s| s.parse::<u64>())
            .transpose()
            .map_err(|_| open_err(path, "bad last_cosigned_at"))?;
        let from = match last {
            Some(l) if l > now => l,
            _ => return Ok(ClockReset::NotBehind { last }),
        };
        let n: i64 = tx.query_row(
            "SELECT count(*) FROM meta WHERE key LIKE 'clock_reset.%'",
            [],
            |r| r.get(0),
        )?;
        write_meta(&tx, "last_cosigned_at", &now.to_string())?;
        write_meta(
            &tx,
            &format!("clock_reset.{n}"),
            &format!("at={now} from={from} to={now}"),
        )?;
        tx.commit()?;
        Ok(ClockReset::Reset { from, to: now })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whose state this is (from `init`).
    pub fn info(&self) -> &StateInfo {
        &self.info
    }

    /// The latest cosignature time stored when the state was opened.
    pub fn last_cosigned_at_on_open(&self) -> Option<u64> {
        self.last_cosigned_at
    }

    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }

    /// Records that the witness key changed (certificate renewal).
    pub fn set_spki(&self, spki: &str) -> Result<(), StoreError> {
        let conn = self.reader.lock().map_err(|_| StoreError::Stopped)?;
        conn.pragma_update(None, "query_only", false)?;
        let r = write_meta(&conn, "spki", spki);
        conn.pragma_update(None, "query_only", true)?;
        r
    }

    /// The latest cosigned checkpoint of every log (for metrics at start).
    pub fn latest_all(&self) -> Result<Vec<Cosigned>, StoreError> {
        let conn = self.reader.lock().map_err(|_| StoreError::Stopped)?;
        let mut stmt = conn.prepare(
            "SELECT c.origin, c.size, c.root, c.cosigned_at, c.note, c.cosignature
             FROM cosigned c JOIN (SELECT max(id) AS id FROM cosigned GROUP BY origin) m
             ON c.id = m.id ORDER BY c.origin",
        )?;
        let rows = stmt
            .query_map([], row_to_cosigned)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Stops the writer after it has finished the updates already queued.
    pub fn shutdown(&self) {
        drop(self.sender.lock().map(|mut s| s.take()));
        if let Some(h) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = h.join();
        }
    }

    /// Reads every record kept for `origin`, oldest first: the cosigned
    /// checkpoints, then the evidence. Opens the file read-only, so it works
    /// while a witness is serving it.
    pub fn export(
        path: &Path,
        origin: &str,
        mut out: impl FnMut(Record) -> std::io::Result<()>,
    ) -> Result<(u64, u64), StoreError> {
        if !path.exists() {
            return Err(open_err(path, "does not exist"));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_err(path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        check_schema(&conn, path)?;
        let io = |e: std::io::Error| StoreError::Io(format!("writing the export: {e}"));
        // One read transaction: a consistent snapshot even while serving.
        conn.execute_batch("BEGIN")?;
        let mut n_cosigned = 0;
        let mut stmt = conn.prepare(
            "SELECT id, origin, size, root, cosigned_at, note, cosignature
             FROM cosigned WHERE origin = ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([origin])?;
        while let Some(r) = rows.next()? {
            out(Record::Cosigned {
                id: r.get("id")?,
                cosigned: row_to_cosigned(r)?,
            })
            .map_err(io)?;
            n_cosigned += 1;
        }
        let mut n_evidence = 0;
        let mut stmt = conn.prepare(
            "SELECT id, origin, kind, received_at, reason, request
             FROM evidence WHERE origin = ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([origin])?;
        while let Some(r) = rows.next()? {
            let kind: String = r.get("kind")?;
            out(Record::Evidence {
                id: r.get("id")?,
                evidence: Evidence {
                    origin: r.get("origin")?,
                    kind: EvidenceKind::parse(&kind)
                        .ok_or_else(|| StoreError::Io(format!("unknown evidence kind {kind}")))?,
                    received_at: from_sql(r.get("received_at")?),
                    reason: r.get("reason")?,
                    request: r.get("request")?,
                },
            })
            .map_err(io)?;
            n_evidence += 1;
        }
        Ok((n_cosigned, n_evidence))
    }
}

impl Drop for SqliteState {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl WitnessState for SqliteState {
    fn update<R, F>(&self, origin: &str, f: F) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: for<'a> FnOnce(View<'a>) -> Decision<R> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<R, StoreError>>();
        let run: Run = Box::new(move |view: View<'_>| {
            let (effect, reply) = match f(view) {
                Decision::Commit { next, reply } => (Effect::Commit(next), reply),
                Decision::Refuse { evidence, reply } => {
                    (evidence.map_or(Effect::Nothing, Effect::Evidence), reply)
                }
            };
            let complete: Complete = Box::new(move |r: Result<(), StoreError>| {
                let _ = tx.send(r.map(|()| reply));
            });
            (effect, complete)
        });
        let job = Job {
            origin: origin.to_string(),
            run,
        };
        let sent = match self.sender.lock() {
            Ok(s) => s.as_ref().is_some_and(|s| s.send(job).is_ok()),
            Err(_) => false,
        };
        async move {
            if !sent {
                return Err(StoreError::Stopped);
            }
            // A dropped sender means the job was abandoned (its batch failed
            // before it ran, or the writer stopped): nothing was promised.
            rx.await.unwrap_or(Err(StoreError::Stopped))
        }
    }

    fn latest(&self, origin: &str) -> Result<Option<Cosigned>, StoreError> {
        let conn = self.reader.lock().map_err(|_| StoreError::Stopped)?;
        read_latest(&conn, origin)
    }
}

struct Writer {
    conn: Connection,
    max_evidence: i64,
    last_cosigned_at: Option<u64>,
    stats: Arc<StoreStats>,
}

impl Writer {
    fn run(mut self, receiver: mpsc::Receiver<Job>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut completions: Vec<Complete> = Vec::with_capacity(MAX_BATCH);
        while let Ok(first) = receiver.recv() {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let n = batch.len() as u64;
            let result = self.apply(&mut batch, &mut completions);
            if let Err(e) = &result {
                tracing::error!(error = %e, updates = n, "witness state: batch rolled back");
            } else {
                self.stats.commits.fetch_add(1, Ordering::Relaxed);
                self.stats.updates.fetch_add(n, Ordering::Relaxed);
                self.stats.largest_batch.fetch_max(n, Ordering::Relaxed);
            }
            for complete in completions.drain(..) {
                complete(result.clone());
            }
            // Jobs the failed batch did not reach are dropped: their callers
            // get `Stopped`, an error, as they must.
            batch.clear();
        }
    }

    fn apply(
        &mut self,
        batch: &mut Vec<Job>,
        completions: &mut Vec<Complete>,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut last = self.last_cosigned_at;
        for job in batch.drain(..) {
            let latest = read_latest(&tx, &job.origin)?;
            let view = View {
                latest: latest.as_ref(),
                last_cosigned_at: last,
            };
            let run = job.run;
            let (effect, complete) =
                catch_unwind(AssertUnwindSafe(move || run(view))).map_err(|p| {
                    let why = p
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    StoreError::Panicked(why)
                })?;
            completions.push(complete);
            match effect {
                Effect::Nothing => {}
                Effect::Commit(c) => {
                    if c.origin != job.origin {
                        return Err(StoreError::Panicked(format!(
                            "an update of {} tried to store a checkpoint of {}",
                            job.origin, c.origin
                        )));
                    }
                    tx.prepare_cached(
                        "INSERT INTO cosigned (origin, size, root, cosigned_at, note, cosignature)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![
                        c.origin,
                        to_sql(c.size)?,
                        &c.root[..],
                        to_sql(c.cosigned_at)?,
                        c.note,
                        c.cosignature
                    ])?;
                    last = last.max(Some(c.cosigned_at));
                }
                Effect::Evidence(e) => keep_evidence(&tx, &e, self.max_evidence)?,
            }
        }
        if last != self.last_cosigned_at
            && let Some(t) = last
        {
            write_meta(&tx, "last_cosigned_at", &t.to_string())?;
        }
        tx.commit()?;
        self.last_cosigned_at = last;
        Ok(())
    }
}

/// How many of the kept requests of one log and kind are the first ones
/// received (never replaced); the rest of `max_evidence` are the newest.
pub fn first_kept(max_evidence: i64) -> i64 {
    (max_evidence + 1) / 2
}

/// Keeps, for each log and kind, the first [`first_kept`] requests received
/// (never replaced) and the newest others, `max_evidence` in all. The first
/// proof of misbehaviour is the one that matters, and a flood of replayed
/// notary-signed checkpoints with junk proofs must not push it out; the
/// newest show what goes on now. The same request bytes are kept once.
fn keep_evidence(tx: &Connection, e: &Evidence, max_evidence: i64) -> Result<(), StoreError> {
    if max_evidence <= 0 {
        return Ok(());
    }
    let kind = e.kind.as_str();
    let digest = notarium_core::merkle::sha256(e.request.as_bytes());
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO evidence (origin, kind, received_at, reason, request, digest)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            e.origin,
            kind,
            to_sql(e.received_at)?,
            e.reason,
            e.request,
            &digest[..]
        ])?;
    if inserted == 0 {
        return Ok(());
    }
    let n: i64 = tx
        .prepare_cached("SELECT count(*) FROM evidence WHERE origin = ?1 AND kind = ?2")?
        .query_row(params![e.origin, kind], |r| r.get(0))?;
    if n > max_evidence {
        // The oldest of the rotating part: the rows after the first ones.
        tx.prepare_cached(
            "DELETE FROM evidence WHERE id IN (
                 SELECT id FROM evidence WHERE origin = ?1 AND kind = ?2
                 ORDER BY id LIMIT ?3 OFFSET ?4)",
        )?
        .execute(params![
            e.origin,
            kind,
            n - max_evidence,
            first_kept(max_evidence)
        ])?;
    }
    Ok(())
}
