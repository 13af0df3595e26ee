//! What every test stands on: a fresh database per test (a temporary
//! SQLite file, or a PostgreSQL database created on the test server and
//! dropped after), sample entries, the sequencer's side of the work, and
//! reading the store's tree with the core's proof code.

use notarium_core::merkle::{self, Hash};
use notarium_log::tree::{Frontier, MemoryTree, Plan};
use notarium_store::{
    Batch, CheckpointRow, FinalCheckpoint, Lease, LogState, NewEntry, PendingLeaf, PostgresStore,
    SqliteStore, Store,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub(crate) const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub(crate) fn unique_suffix() -> String {
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
pub(crate) struct TempDir(pub PathBuf);

impl TempDir {
    pub(crate) fn new() -> Self {
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

pub(crate) fn admin_url() -> String {
    std::env::var("NOTARIUM_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

/// `url` with its database name replaced by `db`.
pub(crate) fn url_with_db(url: &str, db: &str) -> String {
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

pub(crate) async fn admin_client(url: &str) -> tokio_postgres::Client {
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
pub(crate) async fn scalar<T: for<'a> tokio_postgres::types::FromSql<'a>>(
    raw: &tokio_postgres::Client,
    sql: &str,
) -> T {
    raw.query_one(sql, &[]).await.unwrap().get(0)
}

/// A database created for one test and dropped (forcibly) after it.
pub(crate) struct PgDb {
    pub admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDb {
    pub(crate) async fn create() -> Self {
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
pub(crate) enum Kind {
    Sqlite,
    Postgres,
}

/// A migrated store on a fresh database, plus back doors for the tests.
/// Fields drop in order: the store, then the database, then the directory.
pub(crate) struct Fixture {
    pub store: Arc<dyn Store>,
    pub kind: Kind,
    pub pg: Option<PgDb>,
    pub sqlite_path: Option<PathBuf>,
    pub _dir: Option<TempDir>,
}

impl Fixture {
    pub(crate) async fn new(kind: Kind) -> Self {
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

    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Runs SQL behind the store's back (to move the epoch, to count rows).
    pub(crate) async fn raw_i64(&self, sql: &str) -> i64 {
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

pub(crate) const TENANT: &str = "acme";

pub(crate) const OTHER: &str = "globex";

/// A submitter id of the tests.
pub(crate) fn tid(s: &str) -> notarium_core::entry::SubmitterId {
    notarium_core::entry::SubmitterId::parse(s).unwrap()
}

pub(crate) fn h(tag: &str) -> Hash {
    merkle::sha256(tag.as_bytes())
}

pub(crate) fn entry(tenant: &str, n: u64) -> NewEntry {
    let salt = h(&format!("salt {n}"));
    NewEntry {
        id: format!("{:032x}", u128::from(n) * 0x9e37_79b9_7f4a_7c15 + 1),
        tenant: tid(tenant),
        evidence_sha256: h(&format!("evidence {n}")),
        salt,
        metadata: n
            .is_multiple_of(2)
            .then(|| format!("{{\"title\":\"pièce n° {n}\"}}"))
            .map(|m| notarium_core::entry::Metadata::from_text(&m).unwrap()),
        received_ms: 1_764_000_000_000 + n as i64,
        leaf_hash: merkle::leaf_hash(format!("leaf {n}").as_bytes()),
    }
}

/// `entry(tenant, n)` under an id of the form the notary gave out before
/// PostgreSQL schema v8: its received time in milliseconds (48
/// bits, at or above 2^40), then 80 random bits.
pub(crate) fn old_entry(tenant: &str, n: u64) -> NewEntry {
    let mut e = entry(tenant, n);
    let random: String = h(&format!("id {n}"))[..10]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    e.id = format!("{:012x}{random}", e.received_ms);
    e
}

/// Inserts `entries` in one commit and returns them as stored, under the
/// ids the store gave them.
pub(crate) async fn put(store: &dyn Store, mut entries: Vec<NewEntry>) -> Vec<NewEntry> {
    store.insert_entries(&mut entries).await.unwrap();
    entries
}

pub(crate) async fn with_tenants(store: &dyn Store) {
    store.add_tenant(&tid(TENANT), 1).await.unwrap();
    store.add_tenant(&tid(OTHER), 2).await.unwrap();
}

/// A fresh PostgreSQL database at the current schema with both tenants:
/// the database (dropped with it), the store, and a raw connection.
pub(crate) async fn pg_store_with_tenants() -> (PgDb, PostgresStore, tokio_postgres::Client) {
    let db = PgDb::create().await;
    let store = PostgresStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    with_tenants(&store).await;
    let raw = admin_client(&db.url).await;
    (db, store, raw)
}

/// A fresh SQLite store (in its own directory) at the current schema with
/// both tenants, and its file's path.
pub(crate) async fn sqlite_store_with_tenants() -> (TempDir, PathBuf, SqliteStore) {
    let dir = TempDir::new();
    let path = dir.0.join("notary.db");
    let store = SqliteStore::open(&path).unwrap();
    store.migrate().await.unwrap();
    with_tenants(&store).await;
    (dir, path, store)
}

/// The sequencer's side of the work: a frontier kept in step with the log.
pub(crate) struct Seq {
    pub frontier: Frontier,
    pub memory: MemoryTree,
}

impl Seq {
    pub(crate) fn new() -> Self {
        Seq {
            frontier: Frontier::new(),
            memory: MemoryTree::new(),
        }
    }

    /// The batch for `leaves` on top of the current log, without committing
    /// to it (call `commit` once the store accepted it).
    pub(crate) fn batch(&self, leaves: &[PendingLeaf]) -> (Batch, Frontier) {
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

    pub(crate) fn commit(&mut self, batch: &Batch, f: Frontier, leaves: &[PendingLeaf]) {
        assert_eq!(batch.checkpoint.size, f.size());
        self.frontier = f;
        for l in leaves {
            self.memory.push_leaf_hash(l.leaf_hash);
        }
    }

    /// Sequences the next `n` pending entries.
    pub(crate) async fn sequence(&mut self, store: &dyn Store, lease: &Lease, n: u32) -> Batch {
        let leaves = store.next_pending(n).await.unwrap();
        assert_eq!(leaves.len(), n as usize, "not enough pending entries");
        let (batch, f) = self.batch(&leaves);
        store.append_batch(lease, &batch).await.unwrap();
        self.commit(&batch, f, &leaves);
        batch
    }
}

/// Runs a plan over the store's hashes: one `read_hashes`, then the fold.
pub(crate) async fn over_store(store: &dyn Store, plan: Plan) -> Vec<Hash> {
    let hashes = store.read_hashes(plan.ids()).await.unwrap();
    assert_eq!(hashes.len(), plan.ids().len());
    plan.fold(&hashes).unwrap()
}

/// The frontier of the stored tree of `size`.
pub(crate) async fn stored_frontier(store: &dyn Store, size: u64) -> Frontier {
    let hashes = store.read_hashes(&Frontier::plan(size)).await.unwrap();
    Frontier::from_hashes(size, hashes).unwrap()
}

pub(crate) fn final_cp(size: u64, tag: &str) -> FinalCheckpoint {
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

/// How many migrations the repository has for `store`.
pub(crate) fn migration_files(store: &str) -> i64 {
    let dir = format!("{}/../../migrations/{store}", env!("CARGO_MANIFEST_DIR"));
    let n = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter(|f| f.as_ref().unwrap().path().extension() == Some("sql".as_ref()))
        .count();
    assert!(n > 0, "no migrations in {dir}");
    n as i64
}

/// Polls `f` until it yields a value or `secs` pass.
pub(crate) async fn poll_until<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
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

pub(crate) fn pg_url(fx: &Fixture) -> String {
    fx.pg.as_ref().unwrap().url.clone()
}

/// Makes the stored log `size` leaves long as far as a sequencer can tell:
/// for each level, the stored chunk that holds its last node (arbitrary
/// hashes), which the next batch reads as an edge or extends.
pub(crate) async fn fake_log(raw: &tokio_postgres::Client, size: u64) {
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

/// Each `group_lookup` row's partition and log index, in index order.
pub(crate) async fn lookup_placement(raw: &tokio_postgres::Client) -> Vec<(String, i64)> {
    raw.query(
        "SELECT tableoid::regclass::text, idx FROM group_lookup ORDER BY idx",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[test]
pub(crate) fn test_database_urls_keep_host_and_options() {
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

/// What the tests compare to show that a refused call changed nothing.
#[derive(Debug, PartialEq)]
pub(crate) struct Snapshot {
    pub state: LogState,
    pub pending: Vec<PendingLeaf>,
    pub pending_count: u64,
    pub latest: Option<CheckpointRow>,
    pub indexes: Vec<Option<u64>>,
    pub nodes_stored: i64,
    pub checkpoints_stored: i64,
}

pub(crate) async fn snapshot(fx: &Fixture, ids: &[NewEntry]) -> Snapshot {
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

/// Found entries as (id, log index), to compare with what a test expects.
pub(crate) fn found(v: Vec<notarium_store::StoredEntry>) -> Vec<(String, Option<u64>)> {
    v.into_iter().map(|e| (e.entry.id, e.log_index)).collect()
}
