//! One conformance suite for every `Store` implementation.
//!
//! Each case in `cases` is an `async fn(&Fixture)` and runs twice, through
//! the `conformance!` macro at the bottom: against SQLite (a fresh temporary
//! file per test) and against PostgreSQL (a fresh database per test, created
//! on the server at `NOTARIUM_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, dropped afterwards). When
//! the server is unreachable the PostgreSQL tests fail with a message saying
//! so; they never skip. Backend-specific tests (the SQLite file lock and kill
//! -9 durability, the PostgreSQL lease across store instances and failover)
//! follow the macro.

use notarium_core::merkle::{self, Hash};
use notarium_log::tree::{Frontier, MemoryTree, NodeId, Plan};
use notarium_store::{
    Batch, CheckpointRow, FinalCheckpoint, Lease, LogState, NewEntry, PendingLeaf, PostgresStore,
    SqliteStore, Store, StoreError,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("notarium-store-test-{}", unique_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn admin_url() -> String {
    std::env::var("NOTARIUM_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

/// `url` with its database name replaced by `db`.
fn url_with_db(url: &str, db: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_start = main.find("://").map_or(0, |i| i + 3);
    let base = match main[authority_start..].find('/') {
        Some(slash) => &main[..authority_start + slash],
        None => main,
    };
    format!("{base}/{db}{query}")
}

async fn admin_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = match tokio_postgres::connect(url, tokio_postgres::NoTls).await {
        Ok(c) => c,
        Err(e) => panic!(
            "PostgreSQL is not reachable at {url} ({e}). These tests never skip: start the \
             server (scripts/test does) or point NOTARIUM_TEST_DATABASE_URL at one."
        ),
    };
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// The one value of a one-row, one-column query.
async fn scalar<T: for<'a> tokio_postgres::types::FromSql<'a>>(
    raw: &tokio_postgres::Client,
    sql: &str,
) -> T {
    raw.query_one(sql, &[]).await.unwrap().get(0)
}

/// A database created for one test and dropped (forcibly) after it.
struct PgDb {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDb {
    async fn create() -> Self {
        let admin_url = admin_url();
        let name = format!("notarium_test_{}", unique_suffix());
        let admin = admin_client(&admin_url).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {admin_url}: {e}"));
        let url = url_with_db(&admin_url, &name);
        PgDb {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // Drop cannot await; a helper thread with its own runtime can.
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sqlite,
    Postgres,
}

/// A migrated store on a fresh database, plus back doors for the tests.
/// Fields drop in order: the store, then the database, then the directory.
struct Fixture {
    store: Arc<dyn Store>,
    kind: Kind,
    pg: Option<PgDb>,
    sqlite_path: Option<PathBuf>,
    _dir: Option<TempDir>,
}

impl Fixture {
    async fn new(kind: Kind) -> Self {
        let fx = match kind {
            Kind::Sqlite => {
                let dir = TempDir::new();
                let path = dir.0.join("notary.db");
                let store = SqliteStore::open(&path).unwrap();
                Fixture {
                    store: Arc::new(store),
                    kind,
                    pg: None,
                    sqlite_path: Some(path),
                    _dir: Some(dir),
                }
            }
            Kind::Postgres => {
                let db = PgDb::create().await;
                let store = PostgresStore::connect(&db.url).await.unwrap();
                Fixture {
                    store: Arc::new(store),
                    kind,
                    pg: Some(db),
                    sqlite_path: None,
                    _dir: None,
                }
            }
        };
        fx.store.migrate().await.unwrap();
        fx
    }

    fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Runs SQL behind the store's back (to move the epoch, to count rows).
    async fn raw_i64(&self, sql: &str) -> i64 {
        match self.kind {
            Kind::Sqlite => {
                let path = self.sqlite_path.clone().unwrap();
                let sql = sql.to_owned();
                tokio::task::spawn_blocking(move || {
                    let conn = rusqlite::Connection::open(path).unwrap();
                    conn.busy_timeout(Duration::from_secs(10)).unwrap();
                    conn.query_row(&sql, [], |r| r.get(0)).unwrap()
                })
                .await
                .unwrap()
            }
            Kind::Postgres => {
                let client = admin_client(&self.pg.as_ref().unwrap().url).await;
                scalar(&client, sql).await
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const TENANT: &str = "acme";
const OTHER: &str = "globex";

fn h(tag: &str) -> Hash {
    merkle::sha256(tag.as_bytes())
}

fn entry(tenant: &str, n: u64) -> NewEntry {
    let salt = h(&format!("salt {n}"));
    NewEntry {
        id: format!("{:032x}", u128::from(n) * 0x9e37_79b9_7f4a_7c15 + 1),
        tenant: tenant.to_owned(),
        evidence_sha256: h(&format!("evidence {n}")),
        salt,
        metadata: n
            .is_multiple_of(2)
            .then(|| format!("{{\"title\":\"pièce n° {n}\"}}")),
        received_ms: 1_764_000_000_000 + n as i64,
        leaf_hash: merkle::leaf_hash(format!("leaf {n}").as_bytes()),
    }
}

/// Inserts `entries` in one commit and returns them as stored, under the
/// ids the store gave them.
async fn put(store: &dyn Store, mut entries: Vec<NewEntry>) -> Vec<NewEntry> {
    store.insert_entries(&mut entries).await.unwrap();
    entries
}

async fn with_tenants(store: &dyn Store) {
    store.add_tenant(TENANT, 1).await.unwrap();
    store.add_tenant(OTHER, 2).await.unwrap();
}

/// A fresh PostgreSQL database at the current schema with both tenants:
/// the database (dropped with it), the store, and a raw connection.
async fn pg_store_with_tenants() -> (PgDb, PostgresStore, tokio_postgres::Client) {
    let db = PgDb::create().await;
    let store = PostgresStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    with_tenants(&store).await;
    let raw = admin_client(&db.url).await;
    (db, store, raw)
}

/// The sequencer's side of the work: a frontier kept in step with the log.
struct Seq {
    frontier: Frontier,
    memory: MemoryTree,
}

impl Seq {
    fn new() -> Self {
        Seq {
            frontier: Frontier::new(),
            memory: MemoryTree::new(),
        }
    }

    /// The batch for `leaves` on top of the current log, without committing
    /// to it (call `commit` once the store accepted it).
    fn batch(&self, leaves: &[PendingLeaf]) -> (Batch, Frontier) {
        let mut f = self.frontier.clone();
        let old_size = f.size();
        let mut nodes = Vec::new();
        for l in leaves {
            f.append_into(l.leaf_hash, &mut nodes);
        }
        let batch = Batch {
            old_size,
            entries: leaves.to_vec(),
            nodes,
            checkpoint: CheckpointRow {
                size: f.size(),
                root: f.root(),
                note: format!("notarium.test/log\n{}\n<root>\n\n— notary sig\n", f.size()),
                created_ms: 1_764_000_000_000 + f.size() as i64,
            },
        };
        (batch, f)
    }

    fn commit(&mut self, batch: &Batch, f: Frontier, leaves: &[PendingLeaf]) {
        assert_eq!(batch.checkpoint.size, f.size());
        self.frontier = f;
        for l in leaves {
            self.memory.push_leaf_hash(l.leaf_hash);
        }
    }

    /// Sequences the next `n` pending entries.
    async fn sequence(&mut self, store: &dyn Store, lease: &Lease, n: u32) -> Batch {
        let leaves = store.next_pending(n).await.unwrap();
        assert_eq!(leaves.len(), n as usize, "not enough pending entries");
        let (batch, f) = self.batch(&leaves);
        store.append_batch(lease, &batch).await.unwrap();
        self.commit(&batch, f, &leaves);
        batch
    }
}

/// What the tests compare to show that a refused call changed nothing.
#[derive(Debug, PartialEq)]
struct Snapshot {
    state: LogState,
    pending: Vec<PendingLeaf>,
    pending_count: u64,
    latest: Option<CheckpointRow>,
    indexes: Vec<Option<u64>>,
    nodes_stored: i64,
    checkpoints_stored: i64,
}

async fn snapshot(fx: &Fixture, ids: &[NewEntry]) -> Snapshot {
    let s = fx.store();
    let mut indexes = Vec::new();
    for e in ids {
        indexes.push(
            s.get_entry(&e.tenant, &e.id)
                .await
                .unwrap()
                .expect("entry exists")
                .log_index,
        );
    }
    Snapshot {
        state: s.log_state().await.unwrap(),
        pending: s.next_pending(10_000).await.unwrap(),
        pending_count: s.pending_count().await.unwrap(),
        latest: s.latest_checkpoint().await.unwrap(),
        indexes,
        nodes_stored: fx.raw_i64("SELECT count(*) FROM tree_nodes").await,
        checkpoints_stored: fx.raw_i64("SELECT count(*) FROM checkpoints").await,
    }
}

/// Runs a plan over the store's hashes: one `read_hashes`, then the fold.
async fn over_store(store: &dyn Store, plan: Plan) -> Vec<Hash> {
    let hashes = store.read_hashes(plan.ids()).await.unwrap();
    assert_eq!(hashes.len(), plan.ids().len());
    plan.fold(&hashes).unwrap()
}

/// The frontier of the stored tree of `size`.
async fn stored_frontier(store: &dyn Store, size: u64) -> Frontier {
    let hashes = store.read_hashes(&Frontier::plan(size)).await.unwrap();
    Frontier::from_hashes(size, hashes).unwrap()
}

fn final_cp(size: u64, tag: &str) -> FinalCheckpoint {
    FinalCheckpoint {
        size,
        note: format!("notarium.test/log\n{size}\n<root>\n\n— notary sig\n— court {tag}\n"),
        certificates: vec![
            format!("-----BEGIN CERTIFICATE-----\n{tag}notary\n-----END CERTIFICATE-----\n"),
            format!("-----BEGIN CERTIFICATE-----\n{tag}court\n-----END CERTIFICATE-----\n"),
        ],
        finalized_ms: 1_764_000_100_000 + size as i64,
    }
}

// ---------------------------------------------------------------------------
// The cases every store must pass
// ---------------------------------------------------------------------------

/// How many migrations the repository has for `store`.
fn migration_files(store: &str) -> i64 {
    let dir = format!("{}/../../migrations/{store}", env!("CARGO_MANIFEST_DIR"));
    let n = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter(|f| f.as_ref().unwrap().path().extension() == Some("sql".as_ref()))
        .count();
    assert!(n > 0, "no migrations in {dir}");
    n as i64
}

mod cases {
    use super::*;

    pub async fn migrate_is_idempotent(fx: &Fixture) {
        let s = fx.store();
        s.migrate().await.unwrap();
        s.migrate().await.unwrap();
        let versions = match fx.kind {
            Kind::Sqlite => migration_files("sqlite"),
            Kind::Postgres => migration_files("postgres"),
        };
        assert_eq!(
            fx.raw_i64("SELECT count(*) FROM schema_migrations").await,
            versions
        );
        assert_eq!(
            fx.raw_i64("SELECT max(version) FROM schema_migrations")
                .await,
            versions
        );
        assert_eq!(
            s.log_state().await.unwrap(),
            LogState {
                size: 0,
                root: merkle::EMPTY_TREE_ROOT,
                epoch: 0
            }
        );
        s.ping().await.unwrap();
        assert_eq!(s.pending_count().await.unwrap(), 0);
        assert_eq!(s.latest_checkpoint().await.unwrap(), None);
        assert_eq!(s.latest_final().await.unwrap(), None);
    }

    pub async fn tenants_and_api_keys(fx: &Fixture) {
        let s = fx.store();
        s.add_tenant(TENANT, 10).await.unwrap();
        assert!(matches!(
            s.add_tenant(TENANT, 11).await,
            Err(StoreError::AlreadyExists(_))
        ));
        let key = h("key one");
        s.add_api_key(TENANT, &key, 12).await.unwrap();
        assert_eq!(
            s.tenant_for_key(&key).await.unwrap().as_deref(),
            Some(TENANT)
        );
        assert_eq!(s.tenant_for_key(&h("unknown key")).await.unwrap(), None);
        assert!(matches!(
            s.add_api_key(TENANT, &key, 13).await,
            Err(StoreError::AlreadyExists(_))
        ));
        assert!(matches!(
            s.add_api_key("nobody", &h("key two"), 14).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(s.tenant_for_key(&h("key two")).await.unwrap(), None);
        s.add_tenant(OTHER, 15).await.unwrap();
        s.add_api_key(OTHER, &h("key three"), 16).await.unwrap();
        assert_eq!(
            s.tenant_for_key(&h("key three")).await.unwrap().as_deref(),
            Some(OTHER)
        );
        assert_eq!(
            s.tenant_for_key(&key).await.unwrap().as_deref(),
            Some(TENANT)
        );
    }

    pub async fn insert_entries_is_atomic(fx: &Fixture) {
        let s = fx.store();
        with_tenants(s).await;
        s.insert_entries(&mut []).await.unwrap();
        let first = put(s, (0..3).map(|n| entry(TENANT, n)).collect()).await;
        assert_eq!(s.pending_count().await.unwrap(), 3);

        // An unknown tenant at the end: nothing of the batch stays, and
        // the entries keep the ids they were given.
        let mut bad = vec![entry(TENANT, 14), entry("nobody", 15)];
        assert!(matches!(
            s.insert_entries(&mut bad).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(bad, vec![entry(TENANT, 14), entry("nobody", 15)]);
        assert_eq!(s.get_entry(TENANT, &bad[0].id).await.unwrap(), None);
        assert_eq!(s.get_entry("nobody", &bad[1].id).await.unwrap(), None);
        assert_eq!(s.pending_count().await.unwrap(), 3);
        assert_eq!(
            s.next_pending(100)
                .await
                .unwrap()
                .into_iter()
                .map(|p| (p.id, p.leaf_hash))
                .collect::<Vec<_>>(),
            first
                .iter()
                .map(|e| (e.id.clone(), e.leaf_hash))
                .collect::<Vec<_>>()
        );
        let stored = match fx.kind {
            Kind::Sqlite => "SELECT count(*) FROM entries",
            Kind::Postgres => {
                "SELECT (SELECT count(*) FROM entries) + (SELECT sum(n) FROM entry_groups)"
            }
        };
        assert_eq!(fx.raw_i64(stored).await, 3);
        for e in &first {
            assert_eq!(s.get_entry(TENANT, &e.id).await.unwrap().unwrap().entry, *e);
        }
    }

    pub async fn stored_ids_are_unique_and_found(fx: &Fixture) {
        let s = fx.store();
        with_tenants(s).await;
        // The same submission in two commits and twice in one (under
        // different given ids): every stored entry has an id of its own,
        // 32 lowercase hex characters, under which it is found, and
        // everything but the id is stored as given.
        let again = |tenant: &str, n: u64| NewEntry {
            id: entry(TENANT, 1000 + n).id,
            ..entry(tenant, 2)
        };
        let given = [
            vec![entry(TENANT, 2)],
            vec![again(TENANT, 1), again(TENANT, 2), again(OTHER, 3)],
        ];
        let a = put(s, given[0].clone()).await;
        let b = put(s, given[1].clone()).await;
        let mut ids = std::collections::BTreeSet::new();
        for (e, g) in a.iter().chain(&b).zip(given.concat()) {
            assert_eq!(e.id.len(), 32, "{}", e.id);
            assert!(
                e.id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
                "{}",
                e.id
            );
            assert!(ids.insert(e.id.clone()), "id {} given twice", e.id);
            assert_eq!(
                NewEntry {
                    id: g.id.clone(),
                    ..e.clone()
                },
                g
            );
            let got = s.get_entry(&e.tenant, &e.id).await.unwrap().unwrap();
            assert_eq!(got.entry, *e);
        }
        // An id that differs in any one character names nothing.
        for at in 0..32 {
            let mut id = b[1].id.clone().into_bytes();
            id[at] = if id[at] == b'0' { b'1' } else { b'0' };
            let id = String::from_utf8(id).unwrap();
            assert_eq!(s.get_entry(TENANT, &id).await.unwrap(), None, "{id}");
        }
    }

    pub async fn get_entry_only_for_its_tenant(fx: &Fixture) {
        let s = fx.store();
        with_tenants(s).await;
        let stored = put(s, vec![entry(TENANT, 2), entry(OTHER, 3)]).await;
        let (mine, theirs) = (&stored[0], &stored[1]);
        // with metadata, and without
        assert!(mine.metadata.is_some() && theirs.metadata.is_none());
        let got = s.get_entry(TENANT, &mine.id).await.unwrap().unwrap();
        assert_eq!(
            got,
            notarium_store::StoredEntry {
                entry: mine.clone(),
                log_index: None
            }
        );
        assert_eq!(
            s.get_entry(OTHER, &theirs.id).await.unwrap().unwrap().entry,
            *theirs
        );
        assert_eq!(s.get_entry(OTHER, &mine.id).await.unwrap(), None);
        assert_eq!(s.get_entry(TENANT, &theirs.id).await.unwrap(), None);
        assert_eq!(s.get_entry(TENANT, &"0".repeat(32)).await.unwrap(), None);
        assert_eq!(s.get_entry(TENANT, "not an id").await.unwrap(), None);
        assert_eq!(s.get_entry("nobody", &mine.id).await.unwrap(), None);
    }

    pub async fn find_entries_by_digest(fx: &Fixture) {
        let s = fx.store();
        with_tenants(s).await;
        let digest = h("the same file");
        let with = |tenant: &str, n: u64| NewEntry {
            evidence_sha256: digest,
            ..entry(tenant, n)
        };
        // Submission order differs from the given ids' order on purpose.
        let a = put(s, vec![with(TENANT, 5)]).await;
        let b = put(s, vec![entry(TENANT, 6), with(OTHER, 7), with(TENANT, 1)]).await;
        let c = put(s, vec![with(TENANT, 9), with(TENANT, 3)]).await;
        let ids = |v: Vec<notarium_store::StoredEntry>| {
            v.into_iter().map(|e| e.entry.id).collect::<Vec<_>>()
        };
        let want: Vec<String> = [&a[0], &b[2], &c[0], &c[1]]
            .iter()
            .map(|e| e.id.clone())
            .collect();
        assert_eq!(
            ids(s.find_entries(TENANT, &digest, 100).await.unwrap()),
            want
        );
        assert_eq!(
            ids(s.find_entries(TENANT, &digest, 2).await.unwrap()),
            want[..2]
        );
        assert_eq!(
            s.find_entries(OTHER, &digest, 100).await.unwrap(),
            vec![notarium_store::StoredEntry {
                entry: b[1].clone(),
                log_index: None
            }]
        );
        assert!(
            s.find_entries(TENANT, &h("never"), 100)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            s.find_entries("nobody", &digest, 100)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            ids(s
                .find_entries(TENANT, &b[0].evidence_sha256, 10)
                .await
                .unwrap()),
            vec![b[0].id.clone()]
        );

        // Sequencing the three oldest moves them from the pending queue to
        // the log: each is still found exactly once, in submission order,
        // now with its index, and a limit spans both.
        let lease = s.acquire_sequencer("a").await.unwrap().unwrap();
        let mut seq = Seq::new();
        seq.sequence(s, &lease, 3).await;
        let indexed = |v: Vec<notarium_store::StoredEntry>| {
            v.into_iter()
                .map(|e| (e.entry.id, e.log_index))
                .collect::<Vec<_>>()
        };
        let want_indexed = vec![
            (want[0].clone(), Some(0)),
            (want[1].clone(), None),
            (want[2].clone(), None),
            (want[3].clone(), None),
        ];
        assert_eq!(
            indexed(s.find_entries(TENANT, &digest, 100).await.unwrap()),
            want_indexed
        );
        assert_eq!(
            indexed(s.find_entries(TENANT, &digest, 2).await.unwrap()),
            want_indexed[..2]
        );
        assert_eq!(
            indexed(s.find_entries(OTHER, &digest, 100).await.unwrap()),
            vec![(b[1].id.clone(), Some(2))]
        );
        seq.sequence(s, &lease, 3).await;
        assert_eq!(
            indexed(s.find_entries(TENANT, &digest, 100).await.unwrap()),
            vec![
                (want[0].clone(), Some(0)),
                (want[1].clone(), Some(3)),
                (want[2].clone(), Some(4)),
                (want[3].clone(), Some(5)),
            ]
        );
    }

    pub async fn pending_in_submission_order(fx: &Fixture) {
        let s = fx.store();
        with_tenants(s).await;
        // Given ids chosen so that id order, tenant order and submission
        // order differ.
        let order = [7u64, 2, 9, 4, 1, 8, 3];
        let mut stored = put(s, vec![entry(OTHER, order[0]), entry(TENANT, order[1])]).await;
        stored.extend(put(s, vec![entry(TENANT, order[2])]).await);
        stored.extend(put(s, order[3..].iter().map(|&n| entry(OTHER, n)).collect()).await);
        let want: Vec<String> = stored.iter().map(|e| e.id.clone()).collect();
        let got = |v: Vec<PendingLeaf>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(s.pending_count().await.unwrap(), 7);
        assert_eq!(got(s.next_pending(100).await.unwrap()), want);
        assert_eq!(got(s.next_pending(3).await.unwrap()), want[..3]);
        let first = s.next_pending(1).await.unwrap();
        assert_eq!(first[0].leaf_hash, entry(OTHER, 7).leaf_hash);

        let lease = s.acquire_sequencer("seq").await.unwrap().unwrap();
        let mut seq = Seq::new();
        seq.sequence(s, &lease, 3).await;
        assert_eq!(s.pending_count().await.unwrap(), 4);
        assert_eq!(got(s.next_pending(100).await.unwrap()), want[3..]);
        let last = put(s, vec![entry(TENANT, 100)]).await;
        let mut rest = want[3..].to_vec();
        rest.push(last[0].id.clone());
        assert_eq!(got(s.next_pending(100).await.unwrap()), rest);
        assert_eq!(s.next_pending(0).await.unwrap(), vec![]);
    }

    pub async fn sequencer_lease_epochs(fx: &Fixture) {
        let s = fx.store();
        let before = s.log_state().await.unwrap().epoch;
        let l1 = s.acquire_sequencer("node-a").await.unwrap().unwrap();
        assert!(l1.epoch > before);
        assert_eq!(l1.holder, "node-a");
        assert_eq!(s.log_state().await.unwrap().epoch, l1.epoch);
        assert!(s.lease_alive(&l1).await.unwrap());
        // While held, nobody (not even this store) gets a second lease.
        assert_eq!(s.acquire_sequencer("node-b").await.unwrap(), None);
        assert!(s.lease_alive(&l1).await.unwrap());
        // A lease this store never granted is not alive.
        let forged = Lease {
            epoch: l1.epoch + 100,
            holder: "x".into(),
        };
        assert!(!s.lease_alive(&forged).await.unwrap());
        // Releasing someone else's lease does nothing.
        s.release_sequencer(&forged).await.unwrap();
        assert!(s.lease_alive(&l1).await.unwrap());

        s.release_sequencer(&l1).await.unwrap();
        assert!(!s.lease_alive(&l1).await.unwrap());
        s.release_sequencer(&l1).await.unwrap(); // twice is harmless
        let l2 = s.acquire_sequencer("node-b").await.unwrap().unwrap();
        assert!(l2.epoch > l1.epoch, "{} > {}", l2.epoch, l1.epoch);
        assert!(s.lease_alive(&l2).await.unwrap());
        assert!(!s.lease_alive(&l1).await.unwrap());
        assert_eq!(s.log_state().await.unwrap().epoch, l2.epoch);
    }

    pub async fn append_batch_happy_path(fx: &Fixture) {
        let s = fx.store();
        with_tenants(s).await;
        let entries = put(s, (0..5).map(|n| entry(TENANT, n)).collect()).await;
        let lease = s.acquire_sequencer("seq").await.unwrap().unwrap();
        let mut seq = Seq::new();

        let b1 = seq.sequence(s, &lease, 3).await;
        assert_eq!(b1.old_size, 0);
        assert_eq!(
            s.log_state().await.unwrap(),
            LogState {
                size: 3,
                root: b1.checkpoint.root,
                epoch: lease.epoch
            }
        );
        assert_eq!(b1.checkpoint.root, seq.memory.root());
        let ids: Vec<NodeId> = b1.nodes.iter().map(|(id, _)| *id).collect();
        let want: Vec<Hash> = b1.nodes.iter().map(|(_, h)| *h).collect();
        assert_eq!(s.read_hashes(&ids).await.unwrap(), want);
        assert_eq!(ids.len(), 4); // leaves 0, 1, 2 and node (1, 0)
        assert_eq!(
            s.checkpoint(3).await.unwrap().as_ref(),
            Some(&b1.checkpoint)
        );
        assert_eq!(
            s.latest_checkpoint().await.unwrap().as_ref(),
            Some(&b1.checkpoint)
        );
        for (i, e) in entries.iter().enumerate() {
            let got = s.get_entry(TENANT, &e.id).await.unwrap().unwrap();
            assert_eq!(got.entry, *e);
            assert_eq!(got.log_index, (i < 3).then_some(i as u64));
        }
        assert_eq!(s.pending_count().await.unwrap(), 2);

        let b2 = seq.sequence(s, &lease, 2).await;
        assert_eq!(b2.old_size, 3);
        let state = s.log_state().await.unwrap();
        assert_eq!((state.size, state.root), (5, seq.memory.root()));
        assert_eq!(
            s.latest_checkpoint().await.unwrap().as_ref(),
            Some(&b2.checkpoint)
        );
        assert_eq!(
            s.checkpoint(3).await.unwrap().as_ref(),
            Some(&b1.checkpoint)
        );
        assert_eq!(s.checkpoint(4).await.unwrap(), None);
        assert_eq!(s.checkpoint(0).await.unwrap(), None);
        assert_eq!(s.pending_count().await.unwrap(), 0);
        assert_eq!(
            s.get_entry(TENANT, &entries[4].id)
                .await
                .unwrap()
                .unwrap()
                .log_index,
            Some(4)
        );
        // Leaf 3 completed nodes (1, 1) and (2, 0).
        assert_eq!(
            s.read_hashes(&[NodeId::new(2, 0), NodeId::new(1, 1), NodeId::new(0, 4)])
                .await
                .unwrap(),
            seq.memory
                .hashes(&[NodeId::new(2, 0), NodeId::new(1, 1), NodeId::new(0, 4)])
                .unwrap()
        );
        assert!(s.lease_alive(&lease).await.unwrap());
    }

    pub async fn stale_epoch_is_not_leader(fx: &Fixture) {
        let s = fx.store();
        with_tenants(s).await;
        let entries = put(s, (0..4).map(|n| entry(TENANT, n)).collect()).await;
        let mut seq = Seq::new();

        // A released lease is dead, even though nobody else took over.
        let l1 = s.acquire_sequencer("a").await.unwrap().unwrap();
        seq.sequence(s, &l1, 1).await;
        s.release_sequencer(&l1).await.unwrap();
        let (batch, _) = seq.batch(&s.next_pending(2).await.unwrap());
        let before = snapshot(fx, &entries).await;
        assert!(matches!(
            s.append_batch(&l1, &batch).await,
            Err(StoreError::NotLeader)
        ));
        assert_eq!(snapshot(fx, &entries).await, before);

        // A newer lease exists: the old one is refused.
        let l2 = s.acquire_sequencer("b").await.unwrap().unwrap();
        assert!(matches!(
            s.append_batch(&l1, &batch).await,
            Err(StoreError::NotLeader)
        ));
        // The epoch moves behind the holder's back (another process took
        // over): the database fence alone refuses the batch.
        fx.raw_i64("UPDATE log_state SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch")
            .await;
        let before = snapshot(fx, &entries).await;
        assert!(matches!(
            s.append_batch(&l2, &batch).await,
            Err(StoreError::NotLeader)
        ));
        assert!(!s.lease_alive(&l2).await.unwrap());
        let after = snapshot(fx, &entries).await;
        assert_eq!(after, before);
        assert_eq!(after.state.size, 1);
        assert_eq!(after.pending_count, 3);
        assert!(matches!(
            s.read_hashes(&[NodeId::new(0, 1)]).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(s.checkpoint(3).await.unwrap(), None);
    }

    pub async fn wrong_old_size_is_conflict(fx: &Fixture) {
        let s = fx.store();
        with_tenants(s).await;
        let entries = put(s, (0..6).map(|n| entry(TENANT, n)).collect()).await;
        let lease = s.acquire_sequencer("seq").await.unwrap().unwrap();
        let mut seq = Seq::new();
        seq.sequence(s, &lease, 2).await;
        let pending = s.next_pending(2).await.unwrap();
        let before = snapshot(fx, &entries).await;

        // A sequencer that missed the last batch (it extends size 0).
        let (stale, _) = Seq::new().batch(&pending);
        assert!(matches!(
            s.append_batch(&lease, &stale).await,
            Err(StoreError::Conflict(_))
        ));
        // One that thinks the log is longer than it is.
        let (mut ahead, _) = seq.batch(&pending);
        ahead.old_size += 1;
        ahead.checkpoint.size += 1;
        assert!(matches!(
            s.append_batch(&lease, &ahead).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(snapshot(fx, &entries).await, before);
        assert!(s.lease_alive(&lease).await.unwrap());
        // The right batch still goes through.
        let (good, f) = seq.batch(&pending);
        s.append_batch(&lease, &good).await.unwrap();
        seq.commit(&good, f, &pending);
        assert_eq!(s.log_state().await.unwrap().size, 4);
    }

    pub async fn sequenced_entries_cannot_be_reassigned(fx: &Fixture) {
        let s = fx.store();
        with_tenants(s).await;
        let entries = put(s, (0..6).map(|n| entry(TENANT, n)).collect()).await;
        let lease = s.acquire_sequencer("seq").await.unwrap().unwrap();
        let all = s.next_pending(100).await.unwrap();
        let mut seq = Seq::new();
        seq.sequence(s, &lease, 2).await;
        let before = snapshot(fx, &entries).await;

        let leaf = |e: &NewEntry| {
            all.iter()
                .find(|p| p.id == e.id)
                .expect("was pending")
                .clone()
        };
        // An already-sequenced entry at the end of an otherwise good batch.
        let attempts: Vec<Vec<PendingLeaf>> = vec![
            vec![leaf(&entries[2]), leaf(&entries[3]), leaf(&entries[0])],
            vec![leaf(&entries[1])],
            // The same pending entry twice.
            vec![leaf(&entries[2]), leaf(&entries[2])],
            // An unknown id.
            vec![
                leaf(&entries[2]),
                PendingLeaf {
                    id: "f".repeat(32),
                    leaf_hash: h("x"),
                    queue_pos: leaf(&entries[5]).queue_pos + 7,
                },
            ],
        ];
        for leaves in attempts {
            let (batch, _) = seq.batch(&leaves);
            let got = s.append_batch(&lease, &batch).await;
            assert!(matches!(got, Err(StoreError::Conflict(_))), "{got:?}");
            assert_eq!(snapshot(fx, &entries).await, before);
        }
        assert_eq!(
            s.get_entry(TENANT, &entries[0].id)
                .await
                .unwrap()
                .unwrap()
                .log_index,
            Some(0)
        );
    }

    pub async fn inconsistent_batches_are_refused(fx: &Fixture) {
        let s = fx.store();
        with_tenants(s).await;
        let entries = put(s, (0..8).map(|n| entry(TENANT, n)).collect()).await;
        let lease = s.acquire_sequencer("seq").await.unwrap().unwrap();
        let mut seq = Seq::new();
        seq.sequence(s, &lease, 3).await;
        let pending = s.next_pending(4).await.unwrap();
        let (good, f) = seq.batch(&pending);
        let before = snapshot(fx, &entries).await;

        let mut bad = Vec::new();
        let mut b = good.clone();
        b.nodes[2].1[0] ^= 1; // a wrong interior hash
        bad.push(b);
        let mut b = good.clone();
        b.nodes.pop(); // a missing node
        bad.push(b);
        let mut b = good.clone();
        b.nodes.push((NodeId::new(0, 1), h("extra"))); // an already stored node
        bad.push(b);
        let mut b = good.clone();
        b.checkpoint.root[31] ^= 1; // a root that is not the tree's
        bad.push(b);
        let mut b = good.clone();
        b.checkpoint.size += 1; // a checkpoint of another size
        bad.push(b);
        let mut b = good.clone();
        b.entries.swap(0, 1); // leaves in another order than their hashes
        bad.push(b);
        let mut b = good.clone();
        b.entries.clear(); // nothing to sequence
        b.nodes.clear();
        b.checkpoint.size = 3;
        bad.push(b);
        for b in bad {
            let got = s.append_batch(&lease, &b).await;
            assert!(matches!(got, Err(StoreError::Conflict(_))), "{got:?}");
            assert_eq!(snapshot(fx, &entries).await, before);
        }
        // Reordered nodes are fine: the set is what counts.
        let mut g = good.clone();
        g.nodes.reverse();
        s.append_batch(&lease, &g).await.unwrap();
        seq.commit(&good, f, &pending);
        assert_eq!(s.log_state().await.unwrap().root, seq.memory.root());
    }

    pub async fn cosignatures_add_replace_list(fx: &Fixture) {
        let s = fx.store();
        with_tenants(s).await;
        put(s, (0..3).map(|n| entry(TENANT, n)).collect()).await;
        let lease = s.acquire_sequencer("seq").await.unwrap().unwrap();
        let mut seq = Seq::new();
        seq.sequence(s, &lease, 2).await;
        seq.sequence(s, &lease, 1).await;

        assert!(s.cosignatures(2).await.unwrap().is_empty());
        s.add_cosignature(2, "court.example", "— court.example AAAA", 100)
            .await
            .unwrap();
        s.add_cosignature(2, "arbitration.example", "— arbitration.example BBBB", 101)
            .await
            .unwrap();
        s.add_cosignature(3, "court.example", "— court.example CCCC", 102)
            .await
            .unwrap();
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            s.cosignatures(2).await.unwrap(),
            pairs(&[
                ("arbitration.example", "— arbitration.example BBBB"),
                ("court.example", "— court.example AAAA"),
            ])
        );
        // A witness's newer cosignature replaces its older one.
        s.add_cosignature(2, "court.example", "— court.example DDDD", 200)
            .await
            .unwrap();
        assert_eq!(
            s.cosignatures(2).await.unwrap(),
            pairs(&[
                ("arbitration.example", "— arbitration.example BBBB"),
                ("court.example", "— court.example DDDD"),
            ])
        );
        assert_eq!(
            fx.raw_i64(
                "SELECT timestamp FROM cosignatures WHERE size = 2 AND witness = 'court.example'"
            )
            .await,
            200
        );
        assert_eq!(
            s.cosignatures(3).await.unwrap(),
            pairs(&[("court.example", "— court.example CCCC")])
        );
        assert!(s.cosignatures(1).await.unwrap().is_empty());
        // Only checkpoints the notary signed can be cosigned.
        assert!(matches!(
            s.add_cosignature(1, "court.example", "— court.example EEEE", 300)
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(s.cosignatures(1).await.unwrap().is_empty());
    }

    pub async fn finalize_is_idempotent_and_covering(fx: &Fixture) {
        let s = fx.store();
        with_tenants(s).await;
        put(s, (0..10).map(|n| entry(TENANT, n)).collect()).await;
        let lease = s.acquire_sequencer("seq").await.unwrap().unwrap();
        let mut seq = Seq::new();
        for n in [3, 2, 2, 3] {
            seq.sequence(s, &lease, n).await; // checkpoints 3, 5, 7, 10
        }
        assert_eq!(s.latest_final().await.unwrap(), None);
        assert_eq!(s.first_final_covering(0).await.unwrap(), None);

        let f3 = final_cp(3, "first");
        s.finalize(&f3).await.unwrap();
        // A second call for the same size keeps the first value.
        s.finalize(&final_cp(3, "second")).await.unwrap();
        assert_eq!(s.latest_final().await.unwrap().as_ref(), Some(&f3));
        let f7 = final_cp(7, "x");
        s.finalize(&f7).await.unwrap();
        assert_eq!(s.latest_final().await.unwrap().as_ref(), Some(&f7));
        // Checkpoint 5 is never final; 10 is not yet.
        for (index, want) in [
            (0, Some(&f3)),
            (2, Some(&f3)),
            (3, Some(&f7)),
            (4, Some(&f7)),
            (6, Some(&f7)),
            (7, None),
            (9, None),
            (u64::MAX, None),
        ] {
            assert_eq!(
                s.first_final_covering(index).await.unwrap().as_ref(),
                want,
                "index {index}"
            );
        }
        // Finalizing out of order does not change the covering answer for
        // indexes already covered by a smaller final checkpoint.
        let f5 = final_cp(5, "late");
        s.finalize(&f5).await.unwrap();
        assert_eq!(s.first_final_covering(3).await.unwrap().as_ref(), Some(&f5));
        assert_eq!(s.first_final_covering(2).await.unwrap().as_ref(), Some(&f3));
        assert_eq!(s.latest_final().await.unwrap().as_ref(), Some(&f7));
        // No final checkpoint without a checkpoint.
        assert!(matches!(
            s.finalize(&final_cp(4, "no")).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(s.first_final_covering(7).await.unwrap(), None);
        s.finalize(&final_cp(10, "y")).await.unwrap();
        assert_eq!(s.first_final_covering(9).await.unwrap().unwrap().size, 10);
        // The certificates come back byte for byte.
        assert_eq!(
            s.first_final_covering(0)
                .await
                .unwrap()
                .unwrap()
                .certificates,
            f3.certificates
        );
    }

    pub async fn read_hashes_missing_is_not_found(fx: &Fixture) {
        let s = fx.store();
        with_tenants(s).await;
        assert_eq!(s.read_hashes(&[]).await.unwrap(), Vec::<Hash>::new());
        assert!(matches!(
            s.read_hashes(&[NodeId::new(0, 0)]).await,
            Err(StoreError::NotFound(_))
        ));
        put(s, (0..3).map(|n| entry(TENANT, n)).collect()).await;
        let lease = s.acquire_sequencer("seq").await.unwrap().unwrap();
        let mut seq = Seq::new();
        seq.sequence(s, &lease, 3).await;
        // Present nodes come back in the order asked, repeats included.
        let ask = [
            NodeId::new(0, 2),
            NodeId::new(1, 0),
            NodeId::new(0, 0),
            NodeId::new(0, 2),
        ];
        assert_eq!(
            s.read_hashes(&ask).await.unwrap(),
            seq.memory.hashes(&ask).unwrap()
        );
        for missing in [
            NodeId::new(0, 3),
            NodeId::new(1, 1),
            NodeId::new(2, 0),
            NodeId::new(63, 0),
            NodeId::new(0, u64::MAX),
        ] {
            let got = s.read_hashes(&[NodeId::new(0, 0), missing]).await;
            assert!(
                matches!(got, Err(StoreError::NotFound(_))),
                "{missing:?}: {got:?}"
            );
        }
    }

    pub async fn proofs_over_stored_tree_match_memory_tree(fx: &Fixture) {
        const N: u64 = 1000;
        let s = fx.store();
        with_tenants(s).await;
        let entries = put(s, (0..N).map(|n| entry(TENANT, n)).collect()).await;
        assert_eq!(s.pending_count().await.unwrap(), N);
        let lease = s.acquire_sequencer("seq").await.unwrap().unwrap();
        let mut seq = Seq::new();
        let mut boundaries = vec![0u64];
        for n in [1u32, 2, 5, 8, 16, 100, 255, 256, 357] {
            let b = seq.sequence(s, &lease, n).await;
            assert_eq!(
                b.checkpoint.root,
                seq.memory.root_at(b.checkpoint.size).unwrap()
            );
            boundaries.push(b.checkpoint.size);
        }
        assert_eq!(*boundaries.last().unwrap(), N);
        assert_eq!(s.pending_count().await.unwrap(), 0);
        let mem = &seq.memory;
        assert_eq!(s.log_state().await.unwrap().root, mem.root());
        // Every tree node the log holds is stored: about two per leaf.
        assert_eq!(
            fx.raw_i64("SELECT count(*) FROM tree_nodes").await,
            2 * N as i64 - 6
        );

        let mut sizes: Vec<u64> = (1..=N)
            .step_by(37)
            .chain(boundaries[1..].iter().copied())
            .collect();
        sizes.extend([2, 3, 4, 511, 512, 513, 999]);
        for &size in &sizes {
            let root = over_store(s, Plan::root(size)).await[0];
            assert_eq!(root, mem.root_at(size).unwrap(), "root of {size}");
            for index in [0, size / 3, size / 2, size - 1] {
                let proof = over_store(s, Plan::inclusion(index, size).unwrap()).await;
                assert_eq!(
                    proof,
                    mem.inclusion_proof(index, size).unwrap(),
                    "{index} in {size}"
                );
                let leaf = entries[index as usize].leaf_hash;
                merkle::verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
            }
            for old in [1, size / 2, size - 1, size] {
                let proof = over_store(s, Plan::consistency(old, size).unwrap()).await;
                assert_eq!(
                    proof,
                    mem.consistency_proof(old, size).unwrap(),
                    "{old} to {size}"
                );
                let old_root = mem.root_at(old).unwrap();
                merkle::verify_consistency(old, size, &old_root, &root, &proof).unwrap();
            }
        }
        // A restarted sequencer rebuilds its frontier from the store.
        let f = stored_frontier(s, N).await;
        assert_eq!(f, seq.frontier);
        // Every checkpoint the batches wrote has the tree's root at its size.
        for &size in &boundaries[1..] {
            let cp = s.checkpoint(size).await.unwrap().unwrap();
            assert_eq!(cp.root, mem.root_at(size).unwrap());
        }
        for (i, e) in entries.iter().enumerate().step_by(97) {
            assert_eq!(
                s.get_entry(TENANT, &e.id).await.unwrap().unwrap().log_index,
                Some(i as u64)
            );
        }
    }

    pub async fn concurrent_inserts_all_land(fx: &Fixture) {
        let s = fx.store.clone();
        with_tenants(s.as_ref()).await;
        let mut tasks = Vec::new();
        for t in 0..8u64 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut stored = Vec::new();
                for b in 0..10u64 {
                    let ns: Vec<u64> = (0..5).map(|i| t * 1000 + b * 10 + i).collect();
                    let batch =
                        put(s.as_ref(), ns.iter().map(|&n| entry(TENANT, n)).collect()).await;
                    stored.extend(batch.into_iter().map(|e| e.id).zip(ns));
                }
                stored
            }));
        }
        let mut number: HashMap<String, u64> = HashMap::new();
        for t in tasks {
            number.extend(t.await.unwrap());
        }
        assert_eq!(number.len(), 400);
        assert_eq!(s.pending_count().await.unwrap(), 400);
        // Each submitter's entries are pending in the order it submitted
        // them (concurrent groups may interleave).
        let pending = s.next_pending(1000).await.unwrap();
        assert_eq!(pending.len(), 400);
        for t in 0..8u64 {
            let ns: Vec<u64> = pending
                .iter()
                .map(|p| number[&p.id])
                .filter(|n| n / 1000 == t)
                .collect();
            let mut sorted = ns.clone();
            sorted.sort_unstable();
            assert_eq!(ns.len(), 50);
            assert_eq!(ns, sorted, "task {t}'s entries out of submission order");
        }
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fx = super::Fixture::new(super::Kind::Sqlite).await;
                    super::cases::$case(&fx).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fx = super::Fixture::new(super::Kind::Postgres).await;
                    super::cases::$case(&fx).await;
                }
            )*
        }
    };
}

conformance!(
    migrate_is_idempotent,
    tenants_and_api_keys,
    insert_entries_is_atomic,
    stored_ids_are_unique_and_found,
    get_entry_only_for_its_tenant,
    find_entries_by_digest,
    pending_in_submission_order,
    sequencer_lease_epochs,
    append_batch_happy_path,
    stale_epoch_is_not_leader,
    wrong_old_size_is_conflict,
    sequenced_entries_cannot_be_reassigned,
    inconsistent_batches_are_refused,
    cosignatures_add_replace_list,
    finalize_is_idempotent_and_covering,
    read_hashes_missing_is_not_found,
    proofs_over_stored_tree_match_memory_tree,
    concurrent_inserts_all_land,
);

// ---------------------------------------------------------------------------
// SQLite only
// ---------------------------------------------------------------------------

/// SQLite keeps the ids it is given, so it refuses one it holds already,
/// and a commit that repeats one, and keeps nothing of either commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_an_id_it_holds() {
    let fx = Fixture::new(Kind::Sqlite).await;
    let s = fx.store();
    with_tenants(s).await;
    let first = put(s, (0..3).map(|n| entry(TENANT, n)).collect()).await;
    assert_eq!(first, (0..3).map(|n| entry(TENANT, n)).collect::<Vec<_>>());
    for mut bad in [
        vec![entry(TENANT, 10), entry(TENANT, 1), entry(TENANT, 11)],
        vec![entry(TENANT, 12), entry(TENANT, 13), entry(TENANT, 12)],
    ] {
        assert!(matches!(
            s.insert_entries(&mut bad).await,
            Err(StoreError::AlreadyExists(_))
        ));
    }
    for n in 10..=13 {
        let e = entry(TENANT, n);
        assert_eq!(s.get_entry(TENANT, &e.id).await.unwrap(), None, "entry {n}");
    }
    assert_eq!(fx.raw_i64("SELECT count(*) FROM entries").await, 3);
    assert_eq!(
        s.get_entry(TENANT, &first[1].id)
            .await
            .unwrap()
            .unwrap()
            .entry,
        first[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_second_open_is_refused_until_the_first_closes() {
    let dir = TempDir::new();
    let path = dir.0.join("notary.db");
    let first = SqliteStore::open(&path).unwrap();
    first.migrate().await.unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    let lock = notarium_store::sqlite::lock_path(&path);
    assert!(msg.contains(&lock.display().to_string()), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    drop(first);
    let again = SqliteStore::open(&path).unwrap();
    again.ping().await.unwrap();
    assert_eq!(again.path(), path);
    // WAL is recorded in the file itself.
    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_open_in_a_missing_directory_fails() {
    let dir = TempDir::new();
    let err = SqliteStore::open(dir.0.join("no/such/dir/notary.db")).unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
}

/// Writes a SQLite database at schema v1: `entries[i]` at rowid `seqs[i]`,
/// the first `batch.entries.len()` of them sequenced (v1 kept the index in
/// `entries.log_index`) with `batch`'s nodes, checkpoint and head.
fn write_sqlite_v1(path: &Path, entries: &[NewEntry], seqs: &[i64], batch: &Batch) {
    use rusqlite::params;
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(include_str!("../../../migrations/sqlite/0001_init.sql"))
        .unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_ms INTEGER NOT NULL
         );
         INSERT INTO schema_migrations VALUES (1, '0001_init', 1);
         INSERT INTO tenants VALUES ('acme', 1);",
    )
    .unwrap();
    for (i, (e, seq)) in entries.iter().zip(seqs).enumerate() {
        let index = (i < batch.entries.len()).then_some(i as i64);
        conn.execute(
            "INSERT INTO entries (seq, id, tenant, evidence_sha256, salt, metadata, received_ms,
                                  leaf_hash, log_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                seq,
                e.id,
                e.tenant,
                e.evidence_sha256,
                e.salt,
                e.metadata,
                e.received_ms,
                e.leaf_hash,
                index
            ],
        )
        .unwrap();
    }
    for (id, hash) in &batch.nodes {
        conn.execute(
            "INSERT INTO tree_nodes (level, idx, hash) VALUES (?1, ?2, ?3)",
            params![id.level, id.index as i64, hash],
        )
        .unwrap();
    }
    let cp = &batch.checkpoint;
    conn.execute(
        "INSERT INTO checkpoints (size, root, note, created_ms) VALUES (?1, ?2, ?3, ?4)",
        params![cp.size as i64, cp.root, cp.note, cp.created_ms],
    )
    .unwrap();
    conn.execute(
        "UPDATE log_state SET size = ?1, root = ?2",
        params![cp.size as i64, cp.root],
    )
    .unwrap();
}

fn pending_leaves(entries: &[NewEntry], seqs: &[i64]) -> Vec<PendingLeaf> {
    entries
        .iter()
        .zip(seqs)
        .map(|(e, &seq)| PendingLeaf {
            id: e.id.clone(),
            leaf_hash: e.leaf_hash,
            queue_pos: seq as u64,
        })
        .collect()
}

/// A database written by SQLite schema v1 is converted by migration 0002
/// (runs of consecutive entries instead of an index per entry): sequenced
/// entries keep their indices across a gap in the rowids, pending ones
/// stay pending in order, the log goes on from the stored tree, and no
/// column is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_v1_database_is_converted_in_place() {
    let dir = TempDir::new();
    let path = dir.0.join("notary.db");
    let entries: Vec<NewEntry> = (0..7).map(|n| entry(TENANT, n)).collect();
    let seqs = [1, 2, 3, 5, 6, 7, 8]; // no row 4
    let leaves = pending_leaves(&entries, &seqs);
    let mut seq = Seq::new();
    let (first, f) = seq.batch(&leaves[..5]);
    write_sqlite_v1(&path, &entries, &seqs, &first);
    seq.commit(&first, f, &leaves[..5]);

    let store = SqliteStore::open(&path).unwrap();
    store.migrate().await.unwrap();
    let index = |i: usize| {
        let store = &store;
        let e = &entries[i];
        async move {
            store
                .get_entry(&e.tenant, &e.id)
                .await
                .unwrap()
                .unwrap()
                .log_index
        }
    };
    for i in 0..7 {
        assert_eq!(index(i).await, (i < 5).then_some(i as u64), "entry {i}");
    }
    assert_eq!(store.pending_count().await.unwrap(), 2);
    assert_eq!(store.next_pending(10).await.unwrap(), leaves[5..].to_vec());
    let found = store
        .find_entries(TENANT, &entries[3].evidence_sha256, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].log_index, Some(3));
    assert_eq!(found[0].entry, entries[3]);

    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    seq.sequence(&store, &lease, 2).await;
    assert_eq!(index(6).await, Some(6));
    assert_eq!(store.log_state().await.unwrap().size, 7);
    assert_eq!(store.pending_count().await.unwrap(), 0);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let runs: Vec<(i64, i64, i64)> = conn
        .prepare("SELECT lo_seq, hi_seq, first_index FROM runs ORDER BY hi_seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(runs, [(1, 3, 0), (5, 6, 3), (7, 8, 5)]);
    let log_index_columns: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('entries') WHERE name = 'log_index'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(log_index_columns, 0);
}

/// A v1 database whose pending entry is older than a sequenced one cannot
/// be stored as runs: the migration refuses it and leaves it at v1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_v1_database_sequenced_out_of_order_is_refused_unchanged() {
    let dir = TempDir::new();
    let path = dir.0.join("notary.db");
    let entries: Vec<NewEntry> = (0..3).map(|n| entry(TENANT, n)).collect();
    let seqs = [1, 3, 2]; // entries[2], pending, has rowid 2
    let leaves = pending_leaves(&entries, &seqs);
    let (first, _) = Seq::new().batch(&leaves[..2]);
    write_sqlite_v1(&path, &entries, &seqs, &first);

    let store = SqliteStore::open(&path).unwrap();
    let err = store.migrate().await.unwrap_err();
    assert!(
        err.to_string().contains("0002_runs") && err.to_string().contains("sequenced_in_seq_order"),
        "{err}"
    );
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let (version, sequenced): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT max(version) FROM schema_migrations),
                    (SELECT count(*) FROM entries WHERE log_index IS NOT NULL)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((version, sequenced), (1, 2));
}

/// A fresh SQLite store (in its own directory) at the current schema with
/// both tenants, and its file's path.
async fn sqlite_store_with_tenants() -> (TempDir, PathBuf, SqliteStore) {
    let dir = TempDir::new();
    let path = dir.0.join("notary.db");
    let store = SqliteStore::open(&path).unwrap();
    store.migrate().await.unwrap();
    with_tenants(&store).await;
    (dir, path, store)
}

/// The WAL is copied into the main file by the store's checkpointer thread,
/// not by the writer (which checkpoints only past 64 MiB of WAL, far more
/// than this test writes): after a few hundred pages of commits the main
/// file grows with nothing else touching the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_is_checkpointed_off_the_writer() {
    let (_dir, path, store) = sqlite_store_with_tenants().await;
    let main_file = || std::fs::metadata(&path).unwrap().len();
    let before = main_file();
    for round in 0..20 {
        put(
            &store,
            (0..100).map(|i| entry(TENANT, round * 100 + i)).collect(),
        )
        .await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while main_file() < before + 100 * 4096 {
        assert!(
            Instant::now() < deadline,
            "the WAL was not checkpointed: the main file has {} bytes, {before} before",
            main_file()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rows: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 2000);
}

/// Under a sustained write load the WAL starts over instead of growing:
/// the checkpointer copies beside the writer, and the writer completes a
/// checkpoint past 64 MiB of WAL. (With the checkpointer alone, the WAL
/// grew past 1 GB in a benchmark: a checkpoint running beside a busy
/// writer never copies every frame. Here it grows about 20 times as fast
/// as the main file, so it would pass the bound below long before the
/// main file reaches 24 MiB.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_stays_bounded_under_sustained_writes() {
    let (dir, path, store) = sqlite_store_with_tenants().await;
    let store = Arc::new(store);
    let wal = dir.0.join("notary.db-wal");
    let wal_size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    let main_file = || std::fs::metadata(&path).unwrap().len();
    // Four writers, so that the writer connection is never idle, until
    // 24 MiB have reached the main file (several hundred MiB of WAL
    // frames: the WAL starts over several times).
    let next = Arc::new(AtomicU64::new(0));
    let mut largest = 0;
    while main_file() < 24 << 20 {
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let (store, next) = (store.clone(), next.clone());
                tokio::spawn(async move {
                    for _ in 0..10 {
                        let first = next.fetch_add(200, Ordering::Relaxed);
                        put(
                            store.as_ref(),
                            (first..first + 200).map(|n| entry(TENANT, n)).collect(),
                        )
                        .await;
                    }
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        largest = largest.max(wal_size());
    }
    assert!(largest > 0);
    assert!(
        largest < 128 << 20,
        "the WAL reached {largest} bytes while {} bytes reached the main file",
        main_file()
    );
}

const DURABILITY_CHILD: &str = "NOTARIUM_STORE_DURABILITY_CHILD";
const DURABILITY_TEST: &str = "sqlite_acknowledged_entries_survive_sigkill";

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

/// The child's role: insert groups of entries as fast as it can and print
/// each id once its insert returned, until killed (or, should the parent
/// never kill it, until a bound is reached).
async fn durability_child(path: &Path) {
    use std::io::Write;
    let store = SqliteStore::open(path).unwrap();
    let pid = u64::from(std::process::id());
    let started = Instant::now();
    let mut n = 0u64;
    let mut out = std::io::stdout().lock();
    while n < 200_000 && started.elapsed() < Duration::from_secs(120) {
        let group = put(
            &store,
            (0..1 + n % 7)
                .map(|i| NewEntry {
                    id: format!("{pid:016x}{:016x}", n + i),
                    ..entry(TENANT, n + i)
                })
                .collect(),
        )
        .await;
        for e in &group {
            writeln!(out, "ACK {}", e.id).unwrap();
        }
        out.flush().unwrap();
        n += group.len() as u64;
    }
}

/// kill -9 at a random moment, three times over: every id the child
/// printed (after `insert_entries` returned) is in the reopened store.
/// (A kill shows that an acknowledged commit has reached the OS; that it
/// also survives power loss rests on `synchronous = FULL`, which `open`
/// checks.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acknowledged_entries_survive_sigkill() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};

    if let Some(path) = std::env::var_os(DURABILITY_CHILD) {
        durability_child(Path::new(&path)).await;
        return;
    }
    let dir = TempDir::new();
    let path = dir.0.join("notary.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        s.migrate().await.unwrap();
        s.add_tenant(TENANT, 0).await.unwrap();
    }
    let mut acked: Vec<String> = Vec::new();
    for round in 0..3 {
        let kill_after = 20 + (random_u64() % 400) as usize;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                DURABILITY_TEST,
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DURABILITY_CHILD, &path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut r = std::io::BufReader::new(stdout);
            let mut line = Vec::new();
            loop {
                line.clear();
                match r.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    // A line cut short by the kill acknowledges nothing.
                    Ok(_) if line.ends_with(b"\n") => {
                        if let Some(id) = std::str::from_utf8(&line)
                            .ok()
                            .and_then(|l| l.strip_prefix("ACK "))
                        {
                            let _ = tx.send(id.trim_end().to_owned());
                        }
                    }
                    Ok(_) => {}
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = 0;
        while seen < kill_after {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(id) => {
                    acked.push(id);
                    seen += 1;
                }
                Err(e) => {
                    let _ = child.kill();
                    panic!("round {round}: the child acknowledged only {seen} entries ({e})");
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "round {round}: {status:?}");
        reader.join().unwrap();
        acked.extend(rx.try_iter()); // acknowledged before the kill landed
        eprintln!(
            "round {round}: killed after {seen} acknowledgements, {} in all",
            acked.len()
        );
        // The dead child's lock is gone; every acknowledged entry is there.
        let s = SqliteStore::open(&path).unwrap();
        for id in &acked {
            assert!(
                s.get_entry(TENANT, id).await.unwrap().is_some(),
                "round {round}: acknowledged entry {id} lost after kill -9"
            );
        }
        assert!(s.pending_count().await.unwrap() >= acked.len() as u64);
    }
    let check: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    assert!(acked.len() >= 60);
}

// ---------------------------------------------------------------------------
// PostgreSQL only
// ---------------------------------------------------------------------------

/// Polls `f` until it yields a value or `secs` pass.
async fn poll_until<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn pg_url(fx: &Fixture) -> String {
    fx.pg.as_ref().unwrap().url.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_second_instance_cannot_acquire_while_held() {
    let fx = Fixture::new(Kind::Postgres).await;
    let other = PostgresStore::connect(&pg_url(&fx)).await.unwrap();
    let l1 = fx.store().acquire_sequencer("a").await.unwrap().unwrap();
    assert_eq!(other.acquire_sequencer("b").await.unwrap(), None);
    assert_eq!(other.acquire_sequencer("b").await.unwrap(), None);
    assert!(fx.store().lease_alive(&l1).await.unwrap());
    // Another instance does not hold this lease, whatever its epoch says.
    assert!(!other.lease_alive(&l1).await.unwrap());
    assert_eq!(fx.store().log_state().await.unwrap().epoch, l1.epoch);
    // Release hands over at once.
    fx.store().release_sequencer(&l1).await.unwrap();
    let l2 = other.acquire_sequencer("b").await.unwrap().unwrap();
    assert!(l2.epoch > l1.epoch);
    assert_eq!(fx.store().acquire_sequencer("a").await.unwrap(), None);
    assert!(other.lease_alive(&l2).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_failover_after_the_leader_store_is_dropped() {
    let fx = Fixture::new(Kind::Postgres).await;
    with_tenants(fx.store()).await;
    let entries = put(fx.store(), (0..6).map(|n| entry(TENANT, n)).collect()).await;
    let first = PostgresStore::connect(&pg_url(&fx)).await.unwrap();
    let second = PostgresStore::connect(&pg_url(&fx)).await.unwrap();
    let l1 = first.acquire_sequencer("a").await.unwrap().unwrap();
    let mut seq = Seq::new();
    seq.sequence(&first, &l1, 2).await;
    assert_eq!(second.acquire_sequencer("b").await.unwrap(), None);

    // The leader goes away without releasing: its lease connection closes
    // and PostgreSQL drops the session's advisory lock.
    drop(first);
    let second = &second;
    let l2 = poll_until(
        10,
        "the second store to acquire the lease",
        move || async move { second.acquire_sequencer("b").await.unwrap() },
    )
    .await;
    assert!(l2.epoch > l1.epoch, "{} > {}", l2.epoch, l1.epoch);

    let pending = second.next_pending(2).await.unwrap();
    let (batch, f) = seq.batch(&pending);
    let before = snapshot(&fx, &entries).await;
    assert!(matches!(
        second.append_batch(&l1, &batch).await,
        Err(StoreError::NotLeader)
    ));
    assert!(matches!(
        fx.store().append_batch(&l1, &batch).await,
        Err(StoreError::NotLeader)
    ));
    assert_eq!(snapshot(&fx, &entries).await, before);
    second.append_batch(&l2, &batch).await.unwrap();
    seq.commit(&batch, f, &pending);
    let state = second.log_state().await.unwrap();
    assert_eq!(
        (state.size, state.root, state.epoch),
        (4, seq.memory.root(), l2.epoch)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_failover_when_the_lease_connection_dies() {
    let fx = Fixture::new(Kind::Postgres).await;
    with_tenants(fx.store()).await;
    let entries = put(fx.store(), (0..6).map(|n| entry(TENANT, n)).collect()).await;
    let first = fx.store();
    let second = PostgresStore::connect(&pg_url(&fx)).await.unwrap();
    let l1 = first.acquire_sequencer("a").await.unwrap().unwrap();
    let mut seq = Seq::new();
    seq.sequence(first, &l1, 2).await;

    // The session holding the lock ends (a network cut, a server-side
    // timeout, an operator), while the leader keeps its pool connections.
    let killed = fx
        .raw_i64(
            // MATERIALIZED: the pids are chosen before any is terminated
            // (a plain WHERE may call the function on other rows first).
            "WITH holders AS MATERIALIZED (
                 SELECT l.pid FROM pg_locks l
                 WHERE l.locktype = 'advisory' AND l.granted
                   AND l.database = (SELECT oid FROM pg_database
                                     WHERE datname = current_database())
                   AND l.pid <> pg_backend_pid())
             SELECT count(*) FROM holders WHERE pg_terminate_backend(pid)",
        )
        .await;
    assert_eq!(killed, 1);
    let second_ref = &second;
    let l2 = poll_until(
        10,
        "the second store to acquire the lease",
        move || async move { second_ref.acquire_sequencer("b").await.unwrap() },
    )
    .await;
    assert!(l2.epoch > l1.epoch);

    // The deposed leader, whether or not it noticed yet, cannot append.
    let pending = first.next_pending(2).await.unwrap();
    let (batch, f) = seq.batch(&pending);
    let before = snapshot(&fx, &entries).await;
    assert!(matches!(
        first.append_batch(&l1, &batch).await,
        Err(StoreError::NotLeader)
    ));
    assert_eq!(snapshot(&fx, &entries).await, before);
    assert!(!first.lease_alive(&l1).await.unwrap());
    assert_eq!(first.acquire_sequencer("a").await.unwrap(), None);
    second.append_batch(&l2, &batch).await.unwrap();
    seq.commit(&batch, f, &pending);
    assert_eq!(first.log_state().await.unwrap().size, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_migrations_apply_once() {
    let db = PgDb::create().await;
    let a = PostgresStore::connect(&db.url).await.unwrap();
    let b = PostgresStore::connect(&db.url).await.unwrap();
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    ra.unwrap();
    rb.unwrap();
    a.migrate().await.unwrap();
    let client = admin_client(&db.url).await;
    let n: i64 = scalar(&client, "SELECT count(*) FROM schema_migrations").await;
    assert_eq!(
        n,
        migration_files("postgres"),
        "each migration applied once"
    );
    assert_eq!(b.log_state().await.unwrap().size, 0);
}

/// Earlier PostgreSQL schemas, as older binaries applied them.
const OLD_SCHEMAS: [(&str, &str); 7] = [
    (
        "0001_init",
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        "0002_pending_positions",
        include_str!("../../../migrations/postgres/0002_pending_positions.sql"),
    ),
    (
        "0003_lookup_off_commit_path",
        include_str!("../../../migrations/postgres/0003_lookup_off_commit_path.sql"),
    ),
    (
        "0004_tree_chunks",
        include_str!("../../../migrations/postgres/0004_tree_chunks.sql"),
    ),
    (
        "0005_commit_groups",
        include_str!("../../../migrations/postgres/0005_commit_groups.sql"),
    ),
    (
        "0006_tenant_check_per_group",
        include_str!("../../../migrations/postgres/0006_tenant_check_per_group.sql"),
    ),
    (
        "0007_keyed_lookup",
        include_str!("../../../migrations/postgres/0007_keyed_lookup.sql"),
    ),
];

/// A fresh database that an older binary left at schema `version`, and a
/// connection to it.
async fn database_at_version(version: usize) -> (PgDb, tokio_postgres::Client) {
    let db = PgDb::create().await;
    let raw = admin_client(&db.url).await;
    raw.batch_execute(
        "CREATE TABLE schema_migrations (
             version bigint PRIMARY KEY, name text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await
    .unwrap();
    for (i, (name, sql)) in OLD_SCHEMAS[..version].iter().enumerate() {
        raw.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&(i as i64 + 1), name],
        )
        .await
        .unwrap();
        raw.batch_execute(sql).await.unwrap();
    }
    (db, raw)
}

/// A database written by schema v1 (indices stored in `entries.log_index`)
/// is converted by migrations 0002 and 0003: sequenced entries keep their
/// indices, pending ones stay pending in order, and both are found by
/// digest (through `positions` and through the queue).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_v1_database_is_converted_in_place() {
    let (db, raw) = database_at_version(1).await;
    raw.batch_execute("INSERT INTO tenants VALUES ('acme', 1)")
        .await
        .unwrap();
    let entries: Vec<NewEntry> = (0..4).map(|n| entry(TENANT, n)).collect();
    for (i, e) in entries.iter().enumerate() {
        // v1 rows: the first two sequenced (indices 0 and 1), two pending.
        let index = (i < 2).then_some(i as i64);
        raw.execute(
            "INSERT INTO entries (id, tenant, evidence_sha256, salt, metadata, received_ms,
                                  leaf_hash, log_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &e.id,
                &e.tenant,
                &e.evidence_sha256.as_slice(),
                &e.salt.as_slice(),
                &e.metadata,
                &e.received_ms,
                &e.leaf_hash.as_slice(),
                &index,
            ],
        )
        .await
        .unwrap();
    }

    let store = PostgresStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    for (i, e) in entries.iter().enumerate() {
        let got = store.get_entry(TENANT, &e.id).await.unwrap().unwrap();
        assert_eq!(got.entry, *e);
        assert_eq!(got.log_index, (i < 2).then_some(i as u64), "entry {i}");
    }
    assert_eq!(store.pending_count().await.unwrap(), 2);
    let pending = store.next_pending(10).await.unwrap();
    let ids: Vec<&str> = pending.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [entries[2].id.as_str(), entries[3].id.as_str()]);
    let found = store
        .find_entries(TENANT, &entries[0].evidence_sha256, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].log_index, Some(0));
    let found = store
        .find_entries(TENANT, &entries[3].evidence_sha256, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "a pending entry is found through the queue");
    assert_eq!((&found[0].entry, found[0].log_index), (&entries[3], None));
    let has_column: i64 = scalar(
        &raw,
        "SELECT count(*) FROM information_schema.columns
             WHERE table_name = 'entries' AND column_name = 'log_index'",
    )
    .await;
    assert_eq!(has_column, 0, "entries are no longer rewritten");
    let lookup_on_entries: i64 = scalar(
        &raw,
        "SELECT count(*) FROM pg_indexes WHERE indexname = 'entries_by_evidence'",
    )
    .await;
    assert_eq!(
        lookup_on_entries, 0,
        "the digest lookup left the commit path"
    );
}

/// Entries pass through the pending queue once; tidying it lets the next
/// entries reuse the room of those sequenced, so the queue's table stays
/// as large as the backlog even where autovacuum is off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tidy_queue_reuses_the_room_of_sequenced_entries() {
    let (_db, store, raw) = pg_store_with_tenants().await;
    raw.batch_execute("ALTER TABLE pending_groups SET (autovacuum_enabled = false)")
        .await
        .unwrap();
    let pages = || {
        scalar::<i64>(
            &raw,
            // The groups' arrays live in the TOAST table: main forks of both.
            "SELECT (pg_relation_size(oid) + pg_relation_size(reltoastrelid))
                    / current_setting('block_size')::bigint
             FROM pg_class WHERE relname = 'pending_groups'",
        )
    };
    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    let mut seq = Seq::new();
    // A round: 1000 commit groups of 2 entries (a queue row each).
    let round = |first: u64| {
        let store = &store;
        async move {
            for g in 0..1000 {
                let at = first + g * 2;
                put(store, (at..at + 2).map(|n| entry(TENANT, n)).collect()).await;
            }
        }
    };
    round(0).await;
    seq.sequence(&store, &lease, 2000).await;
    let one_round = pages().await;
    assert!(one_round >= 8, "{one_round} pages");

    store.tidy_queue().await.unwrap();
    round(2000).await;
    seq.sequence(&store, &lease, 2000).await;
    let reused = pages().await;
    assert!(
        reused <= one_round + 2,
        "tidied: {reused} pages after the second round, {one_round} after the first"
    );

    // Without tidying, the dead rows keep their room.
    round(4000).await;
    seq.sequence(&store, &lease, 2000).await;
    assert!(pages().await >= reused + one_round / 2);
}

/// The queue's statistics come from its last VACUUM: taken when one entry
/// waited in a table of many pages, they make the queue look empty. A batch
/// of 20 000 entries after that must still be joined with the queue in
/// linear time (the planner's nested loop took minutes at 50 000). Generic
/// plans are forced: the store's statements are prepared once per
/// connection, and PostgreSQL switches to a generic plan (which cannot see
/// the batch's size) after five executions. The statement timeout is the
/// deadline, two orders of magnitude above what the batch needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_large_batch_after_tidying_a_nearly_empty_queue_is_not_quadratic() {
    const N: u64 = 20_000;
    let db = PgDb::create().await;
    let raw = admin_client(&db.url).await;
    raw.batch_execute(&format!(
        "ALTER DATABASE {0} SET statement_timeout = '10s';
         ALTER DATABASE {0} SET plan_cache_mode = force_generic_plan",
        db.name
    ))
    .await
    .unwrap();
    let store = PostgresStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    with_tenants(&store).await;
    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    let mut seq = Seq::new();
    put(&store, (0..N).map(|n| entry(TENANT, n)).collect()).await;
    seq.sequence(&store, &lease, N as u32 - 1).await;
    store.tidy_queue().await.unwrap();
    let estimate: f32 = scalar(
        &raw,
        "SELECT reltuples FROM pg_class WHERE relname = 'pending_groups'",
    )
    .await;
    assert_eq!(estimate, 1.0, "the queue looks nearly empty to the planner");

    put(&store, (N..2 * N).map(|n| entry(TENANT, n)).collect()).await;
    seq.sequence(&store, &lease, N as u32 + 1).await;
    assert_eq!(store.log_state().await.unwrap().size, 2 * N);
    assert_eq!(store.pending_count().await.unwrap(), 0);
}

/// Makes the stored log `size` leaves long as far as a sequencer can tell:
/// for each level, the stored chunk that holds its last node (arbitrary
/// hashes), which the next batch reads as an edge or extends.
async fn fake_log(raw: &tokio_postgres::Client, size: u64) {
    for level in 0..64u32 {
        let count = size >> level;
        if count == 0 {
            break;
        }
        let (chunk, nodes) = match count % 32 {
            0 => (count / 32 - 1, 32),
            n => (count / 32, n),
        };
        let hashes: Vec<u8> = (0..nodes * 32)
            .map(|b| (b * 7 + u64::from(level)) as u8)
            .collect();
        raw.execute(
            "INSERT INTO tree_chunks (level, chunk, hashes) VALUES ($1, $2, $3)",
            &[&(level as i16), &(chunk as i64), &hashes],
        )
        .await
        .unwrap();
    }
    raw.execute("UPDATE log_state SET size = $1", &[&(size as i64)])
        .await
        .unwrap();
}

/// The digest lookup of sequenced entries (`group_lookup`, schema v8) is
/// partitioned by log index in ranges of 2^20: a batch that crosses a
/// boundary creates the next partition in its own transaction, and
/// lookups find entries on both sides of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lookup_partitions_are_created_by_the_sequencer() {
    let (_db, store, raw) = pg_store_with_tenants().await;
    let partitions = || async {
        raw.query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'group_lookup'::regclass ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
    };
    assert_eq!(partitions().await, Vec::<String>::new());
    const SIZE: u64 = (1 << 20) - 2;
    fake_log(&raw, SIZE).await;
    let entries = put(&store, (0..4).map(|n| entry(TENANT, n)).collect()).await;
    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    let mut seq = Seq {
        frontier: stored_frontier(&store, SIZE).await,
        memory: MemoryTree::new(),
    };

    // A batch refused after the partition was created (its tree does not
    // match its leaves): the partition goes with the rolled-back batch.
    let (mut wrong, _) = seq.batch(&store.next_pending(4).await.unwrap());
    wrong.nodes[0].1 = [0u8; 32];
    assert!(matches!(
        store.append_batch(&lease, &wrong).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(partitions().await, Vec::<String>::new());
    assert_eq!(store.pending_count().await.unwrap(), 4);

    seq.sequence(&store, &lease, 4).await;
    assert_eq!(partitions().await, ["group_lookup_0", "group_lookup_1"]);
    let placed: Vec<(String, i64)> = raw
        .query(
            "SELECT tableoid::regclass::text, idx FROM group_lookup ORDER BY idx",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        placed,
        [
            ("group_lookup_0".to_string(), 1048574),
            ("group_lookup_0".to_string(), 1048575),
            ("group_lookup_1".to_string(), 1048576),
            ("group_lookup_1".to_string(), 1048577),
        ]
    );
    for (i, e) in entries.iter().enumerate() {
        let found = store
            .find_entries(TENANT, &e.evidence_sha256, 10)
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "entry {i}");
        assert_eq!(found[0].entry, *e);
        assert_eq!(found[0].log_index, Some(SIZE + i as u64));
    }
}

/// Every complete node of a tree of `size` leaves.
fn all_nodes(size: u64) -> Vec<NodeId> {
    (0u8..64)
        .take_while(|&l| size >> l > 0)
        .flat_map(|l| (0..size >> l).map(move |i| NodeId::new(l, i)))
        .collect()
}

/// A v3 database's tree (one row per node) becomes 32 nodes per row: every
/// node reads back the same, proofs and the next batch build on the
/// converted rows, and a tree with a gap is refused, leaving the database
/// at v3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_v3_tree_nodes_are_converted_to_chunks() {
    let (db, raw) = database_at_version(3).await;
    // A 100-leaf tree as v3 stored it (no entries are needed for that).
    let mut seq = Seq::new();
    let mut nodes = Vec::new();
    for i in 0..100u32 {
        let leaf = h(&format!("old leaf {i}"));
        seq.frontier.append_into(leaf, &mut nodes);
        seq.memory.push_leaf_hash(leaf);
    }
    let insert_node = "INSERT INTO tree_nodes (level, idx, hash) VALUES ($1, $2, $3)";
    for (id, hash) in &nodes {
        raw.execute(
            insert_node,
            &[&i16::from(id.level), &(id.index as i64), &hash.as_slice()],
        )
        .await
        .unwrap();
    }
    raw.execute(
        "UPDATE log_state SET size = 100, root = $1",
        &[&seq.frontier.root().as_slice()],
    )
    .await
    .unwrap();

    let gap = NodeId::new(0, 50);
    raw.batch_execute("DELETE FROM tree_nodes WHERE level = 0 AND idx = 50")
        .await
        .unwrap();
    let store = PostgresStore::connect(&db.url).await.unwrap();
    let err = store.migrate().await.unwrap_err();
    assert!(err.to_string().contains("not contiguous"), "{err}");
    let version: i64 = scalar(&raw, "SELECT max(version) FROM schema_migrations").await;
    assert_eq!(version, 3, "a refused conversion changes nothing");
    let gap_hash = seq.memory.hashes(&[gap]).unwrap()[0];
    raw.execute(
        insert_node,
        &[&0i16, &(gap.index as i64), &gap_hash.as_slice()],
    )
    .await
    .unwrap();

    store.migrate().await.unwrap();
    let ids = all_nodes(100);
    assert_eq!(
        store.read_hashes(&ids).await.unwrap(),
        seq.memory.hashes(&ids).unwrap()
    );
    // The view keeps the old shape for operators' queries.
    let (count, hash): (i64, Vec<u8>) = raw
        .query_one(
            "SELECT (SELECT count(*) FROM tree_nodes),
                    (SELECT hash FROM tree_nodes WHERE level = 0 AND idx = 50)",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!((count, hash), (ids.len() as i64, gap_hash.to_vec()));

    // The next batch reads its right edge from the converted rows and
    // extends their partial chunks.
    with_tenants(&store).await;
    put(&store, (0..7).map(|n| entry(TENANT, 100 + n)).collect()).await;
    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    seq.sequence(&store, &lease, 7).await;
    let ids = all_nodes(107);
    assert_eq!(
        store.read_hashes(&ids).await.unwrap(),
        seq.memory.hashes(&ids).unwrap()
    );
    for (m, n) in [(1u64, 107u64), (100, 107), (64, 107), (33, 100)] {
        assert_eq!(
            over_store(&store, Plan::consistency(m, n).unwrap()).await,
            seq.memory.consistency_proof(m, n).unwrap()
        );
    }
}

/// Defence in depth below the tree check: the sequencer only ever appends
/// to a level's stored nodes exactly where they end. With a level's row
/// gone, a batch that would extend it is refused and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_batch_must_continue_the_stored_chunks() {
    let db = PgDb::create().await;
    let store = PostgresStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    with_tenants(&store).await;
    put(&store, (0..6).map(|n| entry(TENANT, n)).collect()).await;
    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    let mut seq = Seq::new();
    seq.sequence(&store, &lease, 5).await;
    let raw = admin_client(&db.url).await;
    // Size 5's right edge is (2,0) and (0,4); leaf 5 completes (1,2).
    raw.batch_execute("DELETE FROM tree_chunks WHERE level = 1")
        .await
        .unwrap();
    let leaves = store.next_pending(1).await.unwrap();
    let (batch, _) = seq.batch(&leaves);
    assert!(batch.nodes.iter().any(|(id, _)| *id == NodeId::new(1, 2)));
    let err = store.append_batch(&lease, &batch).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("do not continue")),
        "{err:?}"
    );
    assert_eq!(store.log_state().await.unwrap().size, 5);
    assert_eq!(store.pending_count().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_server_fails_clearly() {
    let err = PostgresStore::connect("postgres://postgres@127.0.0.1:1/notarium")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    assert!(err.to_string().contains("127.0.0.1:1/notarium"), "{err}");
    assert!(matches!(
        PostgresStore::connect("not a url").await,
        Err(StoreError::Database(_))
    ));
}

#[test]
fn test_database_urls_keep_host_and_options() {
    assert_eq!(
        url_with_db("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        url_with_db("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(url_with_db("postgres://h:1", "x"), "postgres://h:1/x");
}

/// The queue holds one row per commit group (schema v5), and a group's
/// entries are sequenced front to back: a batch may take several groups
/// in any order and part of a group, but never skip, repeat or misname an
/// entry of one. Pending entries, including those of a partly sequenced
/// group, are found by digest exactly once, with the sequenced ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_batches_take_each_commit_group_front_to_back() {
    let (_db, store, raw) = pg_store_with_tenants().await;
    let same = h("the same evidence");
    let group = |range: std::ops::Range<u64>| -> Vec<NewEntry> {
        range
            .map(|n| {
                let mut e = entry(TENANT, n);
                if n % 4 == 1 {
                    e.evidence_sha256 = same;
                }
                e
            })
            .collect()
    };
    // `same` digest: a[1] and b[0]
    let (a, b) = (
        put(&store, group(0..5)).await,
        put(&store, group(5..8)).await,
    );
    let groups = || scalar::<i64>(&raw, "SELECT count(*) FROM pending_groups");
    assert_eq!(groups().await, 2);
    let pending = store.next_pending(100).await.unwrap();
    let ids = |v: &[PendingLeaf]| v.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
    let all: Vec<NewEntry> = a.iter().chain(&b).cloned().collect();
    assert_eq!(
        ids(&pending),
        all.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
    );
    let (pa, pb) = pending.split_at(5);

    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    let mut seq = Seq::new();
    seq.sequence(&store, &lease, 2).await; // a[0], a[1]
    assert_eq!(store.pending_count().await.unwrap(), 6);
    assert_eq!(ids(&store.next_pending(2).await.unwrap()), ids(&pa[2..4]));
    let found = |v: Vec<notarium_store::StoredEntry>| {
        v.into_iter()
            .map(|e| (e.entry.id, e.log_index))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        found(store.find_entries(TENANT, &same, 10).await.unwrap()),
        vec![(a[1].id.clone(), Some(1)), (b[0].id.clone(), None)],
        "a sequenced entry of a partly sequenced group, then a pending one"
    );

    let before = snapshot_pg(&raw).await;
    let mut misnamed = pa[2].clone();
    misnamed.id = pa[3].id.clone();
    let attempts: Vec<Vec<PendingLeaf>> = vec![
        vec![pa[3].clone()],                               // skips a[2]
        vec![pa[2].clone(), pa[4].clone()],                // skips a[3]
        vec![pa[2].clone(), pb[0].clone(), pa[3].clone()], // a group in two runs
        vec![pa[1].clone()],                               // already sequenced
        vec![misnamed],                                    // another entry's place
    ];
    for leaves in attempts {
        let (batch, _) = seq.batch(&leaves);
        let got = store.append_batch(&lease, &batch).await;
        assert!(matches!(got, Err(StoreError::Conflict(_))), "{got:?}");
        assert_eq!(snapshot_pg(&raw).await, before);
    }

    // The later group first, then the rest of the earlier one.
    let (batch, f) = seq.batch(pb);
    store.append_batch(&lease, &batch).await.unwrap();
    seq.commit(&batch, f, pb);
    assert_eq!(groups().await, 1);
    seq.sequence(&store, &lease, 3).await;
    assert_eq!(groups().await, 0);
    assert_eq!(store.pending_count().await.unwrap(), 0);
    assert_eq!(
        found(store.find_entries(TENANT, &same, 10).await.unwrap()),
        vec![(a[1].id.clone(), Some(1)), (b[0].id.clone(), Some(2))]
    );
    assert_eq!(
        store
            .get_entry(TENANT, &a[4].id)
            .await
            .unwrap()
            .unwrap()
            .log_index,
        Some(7)
    );
    assert_eq!(store.log_state().await.unwrap().root, seq.memory.root());
}

/// What a refused batch must leave alone: the queue, positions, lookup rows
/// and the log head.
async fn snapshot_pg(raw: &tokio_postgres::Client) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT string_agg(grp || ':' || done, ',' ORDER BY grp) FROM pending_groups",
        "SELECT string_agg(grp || ':' || lo || '-' || hi || ':' || first_index, ','
                           ORDER BY first_index) FROM group_positions",
        "SELECT string_agg(id, ',' ORDER BY seq) FROM keyed_lookup",
        "SELECT string_agg(key || ':' || idx, ',' ORDER BY idx) FROM group_lookup",
        "SELECT size || ':' || encode(root, 'hex') FROM log_state",
    ] {
        out.push(scalar::<Option<String>>(raw, sql).await.unwrap_or_default());
    }
    out
}

/// A v4 database's queue (one row per entry) becomes groups of one, in
/// order: the entries stay pending, are found by digest, and are sequenced
/// with the groups written after the upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_v4_pending_entries_become_groups_of_one() {
    let (db, raw) = database_at_version(4).await;
    raw.batch_execute("INSERT INTO tenants VALUES ('acme', 1)")
        .await
        .unwrap();
    let old: Vec<NewEntry> = (0..3).map(|n| entry(TENANT, n)).collect();
    for e in &old {
        // As v4 wrote a submission: the entry, then its queue row.
        raw.execute(
            "WITH e AS (
               INSERT INTO entries
                 (id, tenant, evidence_sha256, salt, metadata, received_ms, leaf_hash)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               RETURNING seq, id, leaf_hash, tenant, evidence_sha256)
             INSERT INTO pending (seq, id, leaf_hash, tenant, evidence_sha256)
             SELECT seq, id, leaf_hash, tenant, evidence_sha256 FROM e",
            &[
                &e.id,
                &e.tenant,
                &e.evidence_sha256.as_slice(),
                &e.salt.as_slice(),
                &e.metadata,
                &e.received_ms,
                &e.leaf_hash.as_slice(),
            ],
        )
        .await
        .unwrap();
    }
    let store = PostgresStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let tables: i64 = scalar(
        &raw,
        "SELECT count(*) FROM pg_class WHERE relname = 'pending'",
    )
    .await;
    assert_eq!(tables, 0, "the per-entry queue is gone");
    assert_eq!(store.pending_count().await.unwrap(), 3);
    let found = store
        .find_entries(TENANT, &old[1].evidence_sha256, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((&found[0].entry, found[0].log_index), (&old[1], None));

    let new = put(&store, (3..6).map(|n| entry(TENANT, n)).collect()).await;
    let order: Vec<String> = store
        .next_pending(10)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    let expected: Vec<String> = old.iter().chain(&new).map(|e| e.id.clone()).collect();
    assert_eq!(order, expected, "the old queue first, in its order");
    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    let mut seq = Seq::new();
    seq.sequence(&store, &lease, 4).await; // across the old groups into the new one
    seq.sequence(&store, &lease, 2).await;
    assert_eq!(store.pending_count().await.unwrap(), 0);
    for (i, e) in expected.iter().enumerate() {
        let got = store.get_entry(TENANT, e).await.unwrap().unwrap();
        assert_eq!(got.log_index, Some(i as u64));
    }
    assert_eq!(
        store
            .find_entries(TENANT, &old[1].evidence_sha256, 10)
            .await
            .unwrap()[0]
            .log_index,
        Some(1)
    );
}

/// Schema v6 checks an entry's tenant once per commit group instead of
/// with a foreign key per entry: entries written by v5 stay as they are,
/// a group naming an unknown tenant is still refused whole, and what the
/// foreign key also guaranteed (a tenant named by an entry stays) now holds
/// because tenants cannot be deleted, renamed or truncated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_v6_checks_tenants_per_group_and_keeps_them() {
    let (db, raw) = database_at_version(5).await;
    raw.batch_execute("INSERT INTO tenants VALUES ('acme', 1)")
        .await
        .unwrap();
    let store = PostgresStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let fks: i64 = scalar(
        &raw,
        "SELECT count(*) FROM pg_constraint WHERE conrelid = 'entries'::regclass AND contype = 'f'",
    )
    .await;
    assert_eq!(fks, 0, "no per-entry foreign key");

    store.add_tenant(OTHER, 2).await.unwrap();
    let good = put(
        &store,
        vec![entry(TENANT, 0), entry(OTHER, 1), entry(TENANT, 2)],
    )
    .await;
    let mut bad = vec![entry(TENANT, 3), entry("nobody", 4), entry(OTHER, 5)];
    assert!(matches!(
        store.insert_entries(&mut bad).await,
        Err(StoreError::NotFound(_))
    ));
    for e in &bad {
        assert_eq!(store.get_entry(&e.tenant, &e.id).await.unwrap(), None);
    }
    assert_eq!(store.pending_count().await.unwrap(), 3);
    let groups: i64 = scalar(&raw, "SELECT count(*) FROM pending_groups").await;
    assert_eq!(groups, 1, "the refused group left no queue row");

    for sql in [
        "DELETE FROM tenants WHERE tenant = 'acme'",
        "UPDATE tenants SET tenant = 'acme2' WHERE tenant = 'acme'",
        "TRUNCATE tenants CASCADE",
    ] {
        let err = raw.batch_execute(sql).await.unwrap_err();
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::RESTRICT_VIOLATION),
            "{sql}: {err}"
        );
    }
    let tenants: i64 = scalar(&raw, "SELECT count(*) FROM tenants").await;
    assert_eq!(tenants, 2);
    for e in &good {
        assert_eq!(
            store
                .get_entry(&e.tenant, &e.id)
                .await
                .unwrap()
                .unwrap()
                .entry,
            *e
        );
    }
}

/// Writes `old` as schemas v5-v7 stored entries: entry `i` in group
/// `1 + i / 2`, slot `i % 2`, with seq `seqs[i]`; the first two sequenced
/// at indices 0 and 1 (their tree nodes and the log head, but no position
/// or lookup rows: those differ by version). Returns the sequencer's state
/// after them.
async fn write_grouped_entries(
    raw: &tokio_postgres::Client,
    old: &[NewEntry],
    seqs: &[i64],
) -> Seq {
    for (i, e) in old.iter().enumerate() {
        raw.execute(
            "INSERT INTO entries (id, seq, tenant, evidence_sha256, salt, metadata, received_ms,
                                  leaf_hash, grp, slot)
             OVERRIDING SYSTEM VALUE
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &e.id,
                &seqs[i],
                &e.tenant,
                &e.evidence_sha256.as_slice(),
                &e.salt.as_slice(),
                &e.metadata,
                &e.received_ms,
                &e.leaf_hash.as_slice(),
                &(1 + i as i64 / 2),
                &(i as i32 % 2),
            ],
        )
        .await
        .unwrap();
    }
    let mut seq = Seq::new();
    let first: Vec<PendingLeaf> = old[..2]
        .iter()
        .map(|e| PendingLeaf {
            id: e.id.clone(),
            leaf_hash: e.leaf_hash,
            queue_pos: 0,
        })
        .collect();
    let (batch, f) = seq.batch(&first);
    for level in 0u8..2 {
        let hashes: Vec<u8> = batch
            .nodes
            .iter()
            .filter(|(n, _)| n.level == level)
            .flat_map(|(_, h)| h.to_vec())
            .collect();
        raw.execute(
            "INSERT INTO tree_chunks (level, chunk, hashes) VALUES ($1, 0, $2)",
            &[&i16::from(level), &hashes],
        )
        .await
        .unwrap();
    }
    raw.execute(
        "UPDATE log_state SET size = 2, root = $1",
        &[&batch.checkpoint.root.as_slice()],
    )
    .await
    .unwrap();
    seq.commit(&batch, f, &first);
    seq
}

/// Schema v7 keys the digest lookup by a 64-bit hash of tenant and digest.
/// A v6 database keeps what it had: entries sequenced before the upgrade
/// are found through the old `lookup`, the groups waiting at the upgrade
/// get their keys from the migration (computed in SQL, found with the keys
/// the store computes) and are sequenced into `keyed_lookup` with the new
/// ones; an entry of another tenant or digest that shares a key is not
/// returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_v7_keys_the_lookup_and_keeps_v6_entries() {
    let (db, raw) = database_at_version(6).await;
    raw.batch_execute("INSERT INTO tenants VALUES ('acme', 1), ('globex', 2)")
        .await
        .unwrap();
    // As v6 left them: group 1 (entries 0 and 1) sequenced at indices 0
    // and 1, group 2 (entries 2 and 3, two tenants) waiting.
    let old: Vec<NewEntry> = vec![
        entry(TENANT, 0),
        entry(TENANT, 1),
        entry(TENANT, 2),
        entry(OTHER, 3),
    ];
    let mut seq = write_grouped_entries(&raw, &old, &[1, 2, 3, 4]).await;
    raw.batch_execute(
        "INSERT INTO group_positions (grp, lo, hi, first_index) VALUES (1, 0, 2, 0);
         INSERT INTO lookup (tenant, evidence_sha256, seq, id)
             SELECT tenant, evidence_sha256, seq, id FROM entries WHERE grp = 1;
         INSERT INTO pending_groups
             (grp, n, min_seq, max_seq, seqs, ids, tenants, evidence, leaf_hashes)
             OVERRIDING SYSTEM VALUE
             SELECT 2, count(*), min(seq), max(seq), array_agg(seq ORDER BY slot),
                    array_agg(id ORDER BY slot), array_agg(tenant ORDER BY slot),
                    array_agg(evidence_sha256 ORDER BY slot), array_agg(leaf_hash ORDER BY slot)
             FROM entries WHERE grp = 2;
         SELECT setval('pending_groups_grp_seq', 2);",
    )
    .await
    .unwrap();

    let store = PostgresStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let columns: i64 = scalar(
        &raw,
        "SELECT count(*) FROM information_schema.columns
         WHERE table_name = 'pending_groups' AND column_name IN ('tenants', 'evidence')",
    )
    .await;
    assert_eq!(columns, 0, "the queue holds keys, not tenants and digests");
    for (i, e) in old.iter().enumerate() {
        let found = store
            .find_entries(&e.tenant, &e.evidence_sha256, 10)
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "entry {i}");
        assert_eq!(found[0].entry, *e);
        assert_eq!(found[0].log_index, (i < 2).then_some(i as u64));
    }
    // The keys are the tenant's: the same digest under another tenant is
    // not found.
    assert!(
        store
            .find_entries(OTHER, &old[2].evidence_sha256, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A new entry with entry 0's digest, one with entry 2's, and one more.
    let mut new: Vec<NewEntry> = (4..7).map(|n| entry(TENANT, n)).collect();
    new[0].evidence_sha256 = old[0].evidence_sha256;
    new[1].evidence_sha256 = old[2].evidence_sha256;
    store.insert_entries(&mut new).await.unwrap();
    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    seq.sequence(&store, &lease, 5).await;
    assert_eq!(store.pending_count().await.unwrap(), 0);
    let counts: (i64, i64, i64) = (
        scalar(&raw, "SELECT count(*) FROM lookup").await,
        scalar(&raw, "SELECT count(*) FROM keyed_lookup").await,
        scalar(&raw, "SELECT count(*) FROM group_lookup").await,
    );
    assert_eq!(
        counts,
        (2, 2, 3),
        "the group that waited at the upgrades gets keyed_lookup rows, v8 entries group_lookup ones"
    );
    for (digest, expected) in [
        (old[0].evidence_sha256, vec![(&old[0], 0), (&new[0], 4)]),
        (old[2].evidence_sha256, vec![(&old[2], 2), (&new[1], 5)]),
        (new[2].evidence_sha256, vec![(&new[2], 6)]),
    ] {
        let found = store.find_entries(TENANT, &digest, 10).await.unwrap();
        let got: Vec<(&NewEntry, Option<u64>)> =
            found.iter().map(|f| (&f.entry, f.log_index)).collect();
        let want: Vec<(&NewEntry, Option<u64>)> =
            expected.iter().map(|(e, i)| (*e, Some(*i))).collect();
        assert_eq!(got, want, "oldest first, across all tables");
        let one = store.find_entries(TENANT, &digest, 1).await.unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].entry, *expected[0].0, "the limit keeps the oldest");
    }
    // Lookup rows whose key matches but whose entry has another tenant or
    // digest (two entries can share a key) are not returned: one naming
    // an entry stored before v8 (entry 3), one naming a v8 entry (at 5).
    raw.batch_execute(&format!(
        "INSERT INTO keyed_lookup (key, seq, id)
         SELECT key, 100, '{}' FROM group_lookup WHERE idx = 6;
         INSERT INTO group_lookup (key, idx)
         SELECT key, 5 FROM group_lookup WHERE idx = 6",
        old[3].id
    ))
    .await
    .unwrap();
    let found = store
        .find_entries(TENANT, &new[2].evidence_sha256, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].entry, new[2]);
}

/// Schema v8 keeps a commit group's entries in one row and names them by
/// group and slot. What v7 left stays readable under its ids: a sequenced
/// group (positions and lookup rows) and a group still waiting, which is
/// sequenced after the upgrade together with new groups (its lookup rows
/// going to `keyed_lookup`, in the partitions its seqs need). Entries with
/// one digest are found oldest first across both kinds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_v8_groups_entries_and_keeps_v7_ones() {
    let (db, raw) = database_at_version(7).await;
    raw.batch_execute("INSERT INTO tenants VALUES ('acme', 1), ('globex', 2)")
        .await
        .unwrap();
    // As v7 left them: group 1 (entries 0 and 1) sequenced at indices 0
    // and 1, group 2 (entries 2 and 3, two tenants) waiting, its seqs on
    // both sides of a `keyed_lookup` partition boundary.
    let digest = h("one file");
    let mut old: Vec<NewEntry> = (0..4)
        .map(|n| entry(if n == 3 { OTHER } else { TENANT }, n))
        .collect();
    old[1].evidence_sha256 = digest;
    old[2].evidence_sha256 = digest;
    let mut seq = write_grouped_entries(&raw, &old, &[1, 2, 1_048_575, 1_048_576]).await;
    // The lookup key as migration 0007 computes it.
    let key = "('x' || encode(substring(sha256(convert_to(tenant, 'UTF8') || '\\x0a'::bytea
                 || evidence_sha256) FROM 1 FOR 8), 'hex'))::bit(64)::bigint";
    raw.batch_execute(&format!(
        "INSERT INTO group_positions (grp, lo, hi, first_index) VALUES (1, 0, 2, 0);
         CREATE TABLE keyed_lookup_0 PARTITION OF keyed_lookup FOR VALUES FROM (0) TO (1048576);
         INSERT INTO keyed_lookup (key, seq, id) SELECT {key}, seq, id FROM entries WHERE grp = 1;
         INSERT INTO pending_groups (grp, n, min_seq, max_seq, seqs, ids, keys, leaf_hashes)
             OVERRIDING SYSTEM VALUE
             SELECT 2, count(*), min(seq), max(seq), array_agg(seq ORDER BY slot),
                    array_agg(id ORDER BY slot), array_agg({key} ORDER BY slot),
                    array_agg(leaf_hash ORDER BY slot)
             FROM entries WHERE grp = 2;
         SELECT setval('pending_groups_grp_seq', 2);"
    ))
    .await
    .unwrap();

    let store = PostgresStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    for (i, e) in old.iter().enumerate() {
        let got = store.get_entry(&e.tenant, &e.id).await.unwrap().unwrap();
        assert_eq!(got.entry, *e, "entry {i}");
        assert_eq!(got.log_index, (i < 2).then_some(i as u64), "entry {i}");
    }
    let found = |v: Vec<notarium_store::StoredEntry>| {
        v.into_iter()
            .map(|e| (e.entry.id, e.log_index))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        found(store.find_entries(TENANT, &digest, 10).await.unwrap()),
        [(old[1].id.clone(), Some(1)), (old[2].id.clone(), None)]
    );

    // New entries: named by their group (the third) and slot.
    let mut new: Vec<NewEntry> = (4..7).map(|n| entry(TENANT, n)).collect();
    new[0].evidence_sha256 = digest;
    store.insert_entries(&mut new).await.unwrap();
    for (k, e) in new.iter().enumerate() {
        assert_eq!(&e.id[..18], format!("{:012x}{k:06x}", 3), "{}", e.id);
        assert_eq!(
            e.id[18..],
            entry(TENANT, 4 + k as u64).id[18..],
            "the given id's random part"
        );
    }
    let ids: Vec<String> = old[2..].iter().chain(&new).map(|e| e.id.clone()).collect();
    let pending: Vec<String> = store
        .next_pending(10)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(pending, ids, "the waiting group first");
    assert_eq!(
        found(store.find_entries(TENANT, &digest, 10).await.unwrap()),
        [
            (old[1].id.clone(), Some(1)),
            (old[2].id.clone(), None),
            (new[0].id.clone(), None)
        ]
    );

    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    seq.sequence(&store, &lease, 3).await; // across the old group into the new one
    seq.sequence(&store, &lease, 2).await;
    assert_eq!(store.pending_count().await.unwrap(), 0);
    assert_eq!(store.log_state().await.unwrap().root, seq.memory.root());
    let counts: (i64, i64, i64, i64) = (
        scalar(&raw, "SELECT count(*) FROM keyed_lookup").await,
        scalar(&raw, "SELECT count(*) FROM keyed_lookup_1").await,
        scalar(&raw, "SELECT count(*) FROM group_lookup").await,
        scalar(&raw, "SELECT count(*) FROM entries").await,
    );
    assert_eq!(counts, (4, 1, 3, 4));
    assert_eq!(
        found(store.find_entries(TENANT, &digest, 10).await.unwrap()),
        [
            (old[1].id.clone(), Some(1)),
            (old[2].id.clone(), Some(2)),
            (new[0].id.clone(), Some(4))
        ]
    );
    assert_eq!(
        found(store.find_entries(TENANT, &digest, 2).await.unwrap()),
        [(old[1].id.clone(), Some(1)), (old[2].id.clone(), Some(2))]
    );
    assert_eq!(
        found(
            store
                .find_entries(OTHER, &old[3].evidence_sha256, 10)
                .await
                .unwrap()
        ),
        [(old[3].id.clone(), Some(3))]
    );
    for (k, e) in new.iter().enumerate() {
        let got = store.get_entry(TENANT, &e.id).await.unwrap().unwrap();
        assert_eq!((got.entry, got.log_index), (e.clone(), Some(4 + k as u64)));
        assert_eq!(store.get_entry(OTHER, &e.id).await.unwrap(), None);
    }
}

/// Rows produced by all the nodes of an `EXPLAIN ANALYZE` text plan, each
/// node's rows times its loops: the work a plan did, whatever its shape.
fn rows_processed(plan: &[String]) -> u64 {
    plan.iter()
        .filter_map(|line| {
            let at = line.find("actual rows=")?;
            let mut fields = line[at..].split(['=', ' ', ')']);
            let rows: u64 = fields.nth(2)?.parse().ok()?;
            let loops: u64 = fields.nth(1)?.parse().ok()?;
            Some(rows * loops)
        })
        .sum()
}

/// Runs `sql` under `EXPLAIN ANALYZE` and checks that its work touched
/// each of the queue's `groups` and stayed in proportion to them.
async fn assert_linear(
    raw: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    groups: u64,
) {
    let plan: Vec<String> = raw
        .query(
            &format!("EXPLAIN (ANALYZE, TIMING false, COSTS false) {sql}"),
            params,
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let text = plan.join("\n");
    assert!(
        text.contains(&format!("rows={groups} ")),
        "every group in the work:\n{text}"
    );
    assert!(
        rows_processed(&plan) <= 20 * groups,
        "work quadratic in the queue:\n{text}"
    );
}

/// The sequencer's statements that read the queue do work in proportion
/// to the batch even when PostgreSQL believes the queue is empty, as it
/// does after the sequencer's `VACUUM` found only dead rows. With that
/// estimate they used to loop over the queue once per group (561 × 561
/// rows, 0.4-1.5 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_queue_statements_stay_linear_when_the_queue_looks_empty() {
    let (_db, store, raw) = pg_store_with_tenants().await;
    // One group sequenced (its row now dead), then the queue vacuumed: its
    // statistics say 0 rows in the pages it has.
    put(&store, vec![entry(TENANT, 0)]).await;
    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    Seq::new().sequence(&store, &lease, 1).await;
    raw.batch_execute("VACUUM (TRUNCATE false) pending_groups")
        .await
        .unwrap();
    let groups = 400u64;
    for n in 1..=groups {
        put(&store, vec![entry(TENANT, n)]).await;
    }
    let estimate: String = raw
        .query_one("EXPLAIN SELECT * FROM pending_groups", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        estimate.contains("rows=1 "),
        "the queue should look empty to the planner: {estimate}"
    );
    let [next_pending, append_batch] = PostgresStore::queue_statements();
    assert_linear(&raw, next_pending, &[&(groups as i64)], groups).await;

    // The batch of all 400 groups, in a transaction rolled back after.
    let queue: Vec<(i64, i32)> = raw
        .query("SELECT grp, n FROM pending_groups ORDER BY grp", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let grps: Vec<i64> = queue.iter().map(|q| q.0).collect();
    let lo: Vec<i32> = vec![0; queue.len()];
    let hi: Vec<i32> = queue.iter().map(|q| q.1).collect();
    let first: Vec<i64> = (1..=groups as i64).collect();
    raw.batch_execute("BEGIN").await.unwrap();
    assert_linear(&raw, append_batch, &[&grps, &lo, &hi, &first], groups).await;
    raw.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(store.pending_count().await.unwrap(), groups);
}
