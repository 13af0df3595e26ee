//! Databases that older binaries left, converted by the migrations:
//! SQLite v1, and PostgreSQL at every schema from v1 to v8, each built as
//! the older binary wrote it, migrated, and checked entry by entry.

use crate::fixture::*;
use notarium_core::merkle::{self, Hash};
use notarium_log::tree::{MemoryTree, NodeId, Plan};
use notarium_store::{Batch, NewEntry, PendingLeaf, PostgresStore, SqliteStore, Store, StoreError};
use std::path::Path;

/// Writes a SQLite database at schema v1: `entries[i]` at rowid `seqs[i]`,
/// the first `batch.entries.len()` of them sequenced (v1 kept the index in
/// `entries.log_index`) with `batch`'s nodes, checkpoint and head.
fn write_sqlite_v1(path: &Path, entries: &[NewEntry], seqs: &[i64], batch: &Batch) {
    use rusqlite::params;
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(include_str!("../../../../migrations/sqlite/0001_init.sql"))
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
                e.tenant.as_str(),
                e.evidence_sha256,
                e.salt,
                e.metadata.as_ref().map(|m| m.as_str()),
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
        .find_entries(&tid(TENANT), &entries[3].evidence_sha256, 10)
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

/// Earlier PostgreSQL schemas, as older binaries applied them.
const OLD_SCHEMAS: [(&str, &str); 8] = [
    (
        "0001_init",
        include_str!("../../../../migrations/postgres/0001_init.sql"),
    ),
    (
        "0002_pending_positions",
        include_str!("../../../../migrations/postgres/0002_pending_positions.sql"),
    ),
    (
        "0003_lookup_off_commit_path",
        include_str!("../../../../migrations/postgres/0003_lookup_off_commit_path.sql"),
    ),
    (
        "0004_tree_chunks",
        include_str!("../../../../migrations/postgres/0004_tree_chunks.sql"),
    ),
    (
        "0005_commit_groups",
        include_str!("../../../../migrations/postgres/0005_commit_groups.sql"),
    ),
    (
        "0006_tenant_check_per_group",
        include_str!("../../../../migrations/postgres/0006_tenant_check_per_group.sql"),
    ),
    (
        "0007_keyed_lookup",
        include_str!("../../../../migrations/postgres/0007_keyed_lookup.sql"),
    ),
    (
        "0008_entry_groups",
        include_str!("../../../../migrations/postgres/0008_entry_groups.sql"),
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

/// A store on `db`, migrated to the current schema.
async fn migrated(db: &PgDb) -> PostgresStore {
    let store = PostgresStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    store
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
    let entries: Vec<NewEntry> = (0..4).map(|n| old_entry(TENANT, n)).collect();
    for (i, e) in entries.iter().enumerate() {
        // v1 rows: the first two sequenced (indices 0 and 1), two pending.
        let index = (i < 2).then_some(i as i64);
        raw.execute(
            "INSERT INTO entries (id, tenant, evidence_sha256, salt, metadata, received_ms,
                                  leaf_hash, log_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &e.id,
                &e.tenant.as_str(),
                &e.evidence_sha256.as_slice(),
                &e.salt.as_slice(),
                &e.metadata.as_ref().map(|m| m.as_str()),
                &e.received_ms,
                &e.leaf_hash.as_slice(),
                &index,
            ],
        )
        .await
        .unwrap();
    }

    let store = migrated(&db).await;
    for (i, e) in entries.iter().enumerate() {
        let got = store.get_entry(&tid(TENANT), &e.id).await.unwrap().unwrap();
        assert_eq!(got.entry, *e);
        assert_eq!(got.log_index, (i < 2).then_some(i as u64), "entry {i}");
    }
    assert_eq!(store.pending_count().await.unwrap(), 2);
    let pending = store.next_pending(10).await.unwrap();
    let ids: Vec<&str> = pending.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [entries[2].id.as_str(), entries[3].id.as_str()]);
    let found = store
        .find_entries(&tid(TENANT), &entries[0].evidence_sha256, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].log_index, Some(0));
    let found = store
        .find_entries(&tid(TENANT), &entries[3].evidence_sha256, 10)
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

/// A v4 database's queue (one row per entry) becomes groups of one, in
/// order: the entries stay pending, are found by digest, and are sequenced
/// with the groups written after the upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_v4_pending_entries_become_groups_of_one() {
    let (db, raw) = database_at_version(4).await;
    raw.batch_execute("INSERT INTO tenants VALUES ('acme', 1)")
        .await
        .unwrap();
    let old: Vec<NewEntry> = (0..3).map(|n| old_entry(TENANT, n)).collect();
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
                &e.tenant.as_str(),
                &e.evidence_sha256.as_slice(),
                &e.salt.as_slice(),
                &e.metadata.as_ref().map(|m| m.as_str()),
                &e.received_ms,
                &e.leaf_hash.as_slice(),
            ],
        )
        .await
        .unwrap();
    }
    let store = migrated(&db).await;
    let tables: i64 = scalar(
        &raw,
        "SELECT count(*) FROM pg_class WHERE relname = 'pending'",
    )
    .await;
    assert_eq!(tables, 0, "the per-entry queue is gone");
    assert_eq!(store.pending_count().await.unwrap(), 3);
    let found = store
        .find_entries(&tid(TENANT), &old[1].evidence_sha256, 10)
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
        let got = store.get_entry(&tid(TENANT), e).await.unwrap().unwrap();
        assert_eq!(got.log_index, Some(i as u64));
    }
    assert_eq!(
        store
            .find_entries(&tid(TENANT), &old[1].evidence_sha256, 10)
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
    let store = migrated(&db).await;
    // (`entries` itself is gone since v9; no table of entries has one;
    // `idempotency_keys`, v10, has one per key, not per entry.)
    let fks: i64 = scalar(
        &raw,
        "SELECT count(*) FROM pg_constraint
         WHERE confrelid = 'tenants'::regclass
           AND conrelid NOT IN ('api_keys'::regclass, 'idempotency_keys'::regclass)",
    )
    .await;
    assert_eq!(fks, 0, "no per-entry foreign key");

    store.add_tenant(&tid(OTHER), 2).await.unwrap();
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

/// Stores `e` as schemas v1-v8 did, in `entries`, at `seq`: with its group
/// and slot as v5-v8 did, or with none (`place` None) as before v5.
async fn insert_old_entry(
    raw: &tokio_postgres::Client,
    e: &NewEntry,
    seq: i64,
    place: Option<(i64, i32)>,
) {
    let (grp, slot) = place.unzip();
    raw.execute(
        "INSERT INTO entries (id, seq, tenant, evidence_sha256, salt, metadata, received_ms,
                              leaf_hash, grp, slot)
         OVERRIDING SYSTEM VALUE
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &e.id,
            &seq,
            &e.tenant.as_str(),
            &e.evidence_sha256.as_slice(),
            &e.salt.as_slice(),
            &e.metadata.as_ref().map(|m| m.as_str()),
            &e.received_ms,
            &e.leaf_hash.as_slice(),
            &grp,
            &slot,
        ],
    )
    .await
    .unwrap();
}

/// Stores the tree of `leaves` as schemas v4 and later do (`tree_chunks`),
/// with a checkpoint of its size, and moves the log's head there. Returns
/// the sequencer's state after them.
async fn write_old_tree(raw: &tokio_postgres::Client, leaves: &[Hash]) -> Seq {
    let mut seq = Seq::new();
    let leaves: Vec<PendingLeaf> = leaves
        .iter()
        .map(|l| PendingLeaf {
            id: String::new(),
            leaf_hash: *l,
            queue_pos: 0,
        })
        .collect();
    let (batch, f) = seq.batch(&leaves);
    let mut chunks: std::collections::BTreeMap<(u8, u64), Vec<u8>> = Default::default();
    let mut nodes = batch.nodes.clone();
    nodes.sort_by_key(|(id, _)| (id.level, id.index));
    for (id, hash) in &nodes {
        chunks
            .entry((id.level, id.index / 32))
            .or_default()
            .extend_from_slice(hash);
    }
    for ((level, chunk), hashes) in chunks {
        raw.execute(
            "INSERT INTO tree_chunks (level, chunk, hashes) VALUES ($1, $2, $3)",
            &[&i16::from(level), &(chunk as i64), &hashes],
        )
        .await
        .unwrap();
    }
    let cp = &batch.checkpoint;
    raw.execute(
        "INSERT INTO checkpoints (size, root, note, created_ms) VALUES ($1, $2, $3, $4)",
        &[
            &(cp.size as i64),
            &cp.root.as_slice(),
            &cp.note,
            &cp.created_ms,
        ],
    )
    .await
    .unwrap();
    raw.execute(
        "UPDATE log_state SET size = $1, root = $2",
        &[&(cp.size as i64), &cp.root.as_slice()],
    )
    .await
    .unwrap();
    seq.commit(&batch, f, &leaves);
    seq
}

/// Writes `old` as schemas v5-v7 stored entries: entry `i` in group
/// `1 + i / 2`, slot `i % 2`, with seq `seqs[i]`; the first two sequenced
/// at indices 0 and 1 (their tree nodes, a checkpoint and the log head,
/// but no position or lookup rows: those differ by version). Returns the
/// sequencer's state after them.
async fn write_grouped_entries(
    raw: &tokio_postgres::Client,
    old: &[NewEntry],
    seqs: &[i64],
) -> Seq {
    for (i, e) in old.iter().enumerate() {
        insert_old_entry(raw, e, seqs[i], Some((1 + i as i64 / 2, i as i32 % 2))).await;
    }
    write_old_tree(raw, &[old[0].leaf_hash, old[1].leaf_hash]).await
}

/// The lookup key of the row's `tenant` and `evidence_sha256`, as
/// migration 0007 computes it in SQL.
const OLD_KEY_SQL: &str =
    "('x' || encode(substring(sha256(convert_to(tenant, 'UTF8') || '\\x0a'::bytea
                 || evidence_sha256) FROM 1 FOR 8), 'hex'))::bit(64)::bigint";

/// The queue row (v7's form: ids, keys, seqs and leaf hashes as arrays)
/// of the entries of group `grp`, `done` of them sequenced.
fn old_queue_row_sql(grp: i64, done: i32) -> String {
    format!(
        "INSERT INTO pending_groups (grp, n, done, min_seq, max_seq, seqs, ids, keys, leaf_hashes)
             OVERRIDING SYSTEM VALUE
             SELECT {grp}, count(*), {done}, min(seq), max(seq), array_agg(seq ORDER BY slot),
                    array_agg(id ORDER BY slot), array_agg({OLD_KEY_SQL} ORDER BY slot),
                    array_agg(leaf_hash ORDER BY slot)
             FROM entries WHERE grp = {grp};"
    )
}

/// Schema v7 keys the digest lookup by a 64-bit hash of tenant and digest.
/// A v6 database keeps what it had: entries sequenced before the upgrade
/// (in the old `lookup` until v9 moves them to `group_lookup`) are found,
/// the groups waiting at the upgrade get their keys from the migration
/// (computed in SQL, found with the keys the store computes) and are
/// sequenced with the new ones; an entry of another tenant or digest that
/// shares a key is not returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_v7_keys_the_lookup_and_keeps_v6_entries() {
    let (db, raw) = database_at_version(6).await;
    raw.batch_execute("INSERT INTO tenants VALUES ('acme', 1), ('globex', 2)")
        .await
        .unwrap();
    // As v6 left them: group 1 (entries 0 and 1) sequenced at indices 0
    // and 1, group 2 (entries 2 and 3, two tenants) waiting.
    let old: Vec<NewEntry> = vec![
        old_entry(TENANT, 0),
        old_entry(TENANT, 1),
        old_entry(TENANT, 2),
        old_entry(OTHER, 3),
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

    let store = migrated(&db).await;
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
            .find_entries(&tid(OTHER), &old[2].evidence_sha256, 10)
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
    let counts: (Option<String>, i64) = (
        scalar(&raw, "SELECT to_regclass('keyed_lookup')::text").await,
        scalar(&raw, "SELECT count(*) FROM group_lookup").await,
    );
    assert_eq!(
        counts,
        (None, 7),
        "every entry's lookup row is in group_lookup (since v9), converted or sequenced after"
    );
    for (digest, expected) in [
        (old[0].evidence_sha256, vec![(&old[0], 0), (&new[0], 4)]),
        (old[2].evidence_sha256, vec![(&old[2], 2), (&new[1], 5)]),
        (new[2].evidence_sha256, vec![(&new[2], 6)]),
    ] {
        let found = store.find_entries(&tid(TENANT), &digest, 10).await.unwrap();
        let got: Vec<(&NewEntry, Option<u64>)> =
            found.iter().map(|f| (&f.entry, f.log_index)).collect();
        let want: Vec<(&NewEntry, Option<u64>)> =
            expected.iter().map(|(e, i)| (*e, Some(*i))).collect();
        assert_eq!(got, want, "oldest first, across all tables");
        let one = store.find_entries(&tid(TENANT), &digest, 1).await.unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].entry, *expected[0].0, "the limit keeps the oldest");
    }
    // Lookup rows whose key matches but whose entry has another tenant or
    // digest (two entries can share a key) are not returned: one naming
    // an entry stored before v8 (entry 3, at 3), one naming a v8 entry
    // (at 5).
    raw.batch_execute(
        "INSERT INTO group_lookup (key, idx)
         SELECT key, i FROM group_lookup, unnest(ARRAY[3, 5]) AS i WHERE idx = 6",
    )
    .await
    .unwrap();
    let found = store
        .find_entries(&tid(TENANT), &new[2].evidence_sha256, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].entry, new[2]);
}

/// Schema v8 keeps a commit group's entries in one row and names them by
/// group and slot. What v7 left stays readable under its ids (since v9
/// moved into the same form): a sequenced group (positions and lookup
/// rows) and a group still waiting, its seqs on both sides of a
/// `keyed_lookup` partition boundary, which is sequenced after the upgrade
/// together with new groups. Entries with one digest are found oldest
/// first across both kinds.
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
        .map(|n| old_entry(if n == 3 { OTHER } else { TENANT }, n))
        .collect();
    old[1].evidence_sha256 = digest;
    old[2].evidence_sha256 = digest;
    let mut seq = write_grouped_entries(&raw, &old, &[1, 2, 1_048_575, 1_048_576]).await;
    raw.batch_execute(&format!(
        "INSERT INTO group_positions (grp, lo, hi, first_index) VALUES (1, 0, 2, 0);
         CREATE TABLE keyed_lookup_0 PARTITION OF keyed_lookup FOR VALUES FROM (0) TO (1048576);
         INSERT INTO keyed_lookup (key, seq, id)
             SELECT {OLD_KEY_SQL}, seq, id FROM entries WHERE grp = 1;
         {}
         SELECT setval('pending_groups_grp_seq', 2);",
        old_queue_row_sql(2, 0)
    ))
    .await
    .unwrap();

    let store = migrated(&db).await;
    for (i, e) in old.iter().enumerate() {
        let got = store.get_entry(&e.tenant, &e.id).await.unwrap().unwrap();
        assert_eq!(got.entry, *e, "entry {i}");
        assert_eq!(got.log_index, (i < 2).then_some(i as u64), "entry {i}");
    }
    assert_eq!(
        found(store.find_entries(&tid(TENANT), &digest, 10).await.unwrap()),
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
        found(store.find_entries(&tid(TENANT), &digest, 10).await.unwrap()),
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
    let counts: (i64, i64, Option<String>) = (
        scalar(&raw, "SELECT count(*) FROM group_lookup").await,
        scalar(&raw, "SELECT count(*) FROM legacy_id_slots").await,
        scalar(&raw, "SELECT to_regclass('entries')::text").await,
    );
    assert_eq!(counts, (7, 4, None));
    assert_eq!(
        found(store.find_entries(&tid(TENANT), &digest, 10).await.unwrap()),
        [
            (old[1].id.clone(), Some(1)),
            (old[2].id.clone(), Some(2)),
            (new[0].id.clone(), Some(4))
        ]
    );
    assert_eq!(
        found(store.find_entries(&tid(TENANT), &digest, 2).await.unwrap()),
        [(old[1].id.clone(), Some(1)), (old[2].id.clone(), Some(2))]
    );
    assert_eq!(
        found(
            store
                .find_entries(&tid(OTHER), &old[3].evidence_sha256, 10)
                .await
                .unwrap()
        ),
        [(old[3].id.clone(), Some(3))]
    );
    for (k, e) in new.iter().enumerate() {
        let got = store.get_entry(&tid(TENANT), &e.id).await.unwrap().unwrap();
        assert_eq!((got.entry, got.log_index), (e.clone(), Some(4 + k as u64)));
        assert_eq!(store.get_entry(&tid(OTHER), &e.id).await.unwrap(), None);
    }
}

/// What no migration may change, as text: the log's head, the tree,
/// checkpoints, cosignatures and final checkpoints (bytea as hex, so
/// equal texts are equal bytes).
async fn frozen_pg(raw: &tokio_postgres::Client) -> Vec<String> {
    let mut out = Vec::new();
    for table in [
        "log_state",
        "tree_chunks",
        "checkpoints",
        "cosignatures",
        "final_checkpoints",
    ] {
        let sql = format!("SELECT string_agg(t::text, '|' ORDER BY t::text) FROM {table} AS t");
        out.push(
            scalar::<Option<String>>(raw, &sql)
                .await
                .unwrap_or_default(),
        );
    }
    out
}

/// A log as a v7 notary left it, every entry under an id of the form
/// given out before v8, and what the tests expect of each entry.
struct OldLog {
    entries: Vec<NewEntry>,
    /// Each entry's log index (None: waiting).
    index: Vec<Option<u64>>,
    /// The waiting entries, in queue order.
    queue: Vec<NewEntry>,
    /// The digest that TENANT's entries 5, 71, 73, 75 and 78 and OTHER's
    /// entry 9 share.
    digest: Hash,
    seq: Seq,
}

/// Writes a log as schema v7 left it:
/// - entries 0..70 sequenced before v5 at indices 0..70: no group,
///   `positions` and `lookup` rows;
/// - group 1 (entries 70..73) sequenced at 70..73: `group_positions`
///   and `keyed_lookup` rows;
/// - group 2 (entries 73..77): its first entry sequenced at 73, three
///   waiting in v7's queue row; its seqs on both sides of a
///   `keyed_lookup` partition boundary;
/// - group 3 (entries 77..79) waiting;
///
/// every fifth entry OTHER's; the tree of the 74 sequenced entries, a
/// checkpoint of it, a witness's cosignature and a final checkpoint.
async fn write_v7_log(raw: &tokio_postgres::Client) -> OldLog {
    raw.batch_execute("INSERT INTO tenants VALUES ('acme', 1), ('globex', 2)")
        .await
        .unwrap();
    let digest = h("one file");
    let entries: Vec<NewEntry> = (0..79u64)
        .map(|n| {
            let mut e = old_entry(if n % 5 == 4 { OTHER } else { TENANT }, n);
            if [5, 9, 71, 73, 75, 78].contains(&n) {
                e.evidence_sha256 = digest;
            }
            e
        })
        .collect();
    let place = |i: usize| match i {
        0..70 => None,
        70..73 => Some((1, i as i32 - 70)),
        73..77 => Some((2, i as i32 - 73)),
        _ => Some((3, i as i32 - 77)),
    };
    for (i, e) in entries.iter().enumerate() {
        let seq = if i < 73 {
            i as i64 + 1
        } else {
            1_048_575 + i as i64 - 73
        };
        insert_old_entry(raw, e, seq, place(i)).await;
    }
    raw.batch_execute(&format!(
        "INSERT INTO positions (seq, log_index) SELECT seq, seq - 1 FROM entries WHERE grp IS NULL;
         INSERT INTO lookup (tenant, evidence_sha256, seq, id)
             SELECT tenant, evidence_sha256, seq, id FROM entries WHERE grp IS NULL;
         INSERT INTO group_positions (grp, lo, hi, first_index) VALUES (1, 0, 3, 70), (2, 0, 1, 73);
         CREATE TABLE keyed_lookup_0 PARTITION OF keyed_lookup FOR VALUES FROM (0) TO (1048576);
         INSERT INTO keyed_lookup (key, seq, id)
             SELECT {OLD_KEY_SQL}, seq, id FROM entries WHERE grp = 1 OR (grp = 2 AND slot = 0);
         {}
         {}
         SELECT setval('pending_groups_grp_seq', 3);",
        old_queue_row_sql(2, 1),
        old_queue_row_sql(3, 0)
    ))
    .await
    .unwrap();
    let leaves: Vec<Hash> = entries[..74].iter().map(|e| e.leaf_hash).collect();
    let seq = write_old_tree(raw, &leaves).await;
    raw.batch_execute(
        "INSERT INTO cosignatures (size, witness, line, timestamp)
             VALUES (74, 'court', '— court sig', 1764000100);
         INSERT INTO final_checkpoints (size, note, certificates, finalized_ms)
             SELECT 74, note || '— court sig\n', '[\"-----BEGIN CERTIFICATE-----\"]', 1764000100000
             FROM checkpoints WHERE size = 74",
    )
    .await
    .unwrap();
    OldLog {
        index: (0..79u64).map(|i| (i < 74).then_some(i)).collect(),
        queue: entries[74..].to_vec(),
        entries,
        digest,
        seq,
    }
}

/// Applies migration 0008 as a v8 binary did, then commits a group (the
/// fourth, two entries) as v8 did: its ids name group and slot and keep
/// the given ids' last 56 bits.
async fn upgrade_to_v8_and_commit_a_group(raw: &tokio_postgres::Client, log: &mut OldLog) {
    let (name, sql) = OLD_SCHEMAS[7];
    raw.execute(
        "INSERT INTO schema_migrations (version, name) VALUES (8, $1)",
        &[&name],
    )
    .await
    .unwrap();
    raw.batch_execute(sql).await.unwrap();
    let mut group: Vec<NewEntry> = vec![entry(TENANT, 200), entry(OTHER, 201)];
    for (slot, e) in group.iter_mut().enumerate() {
        e.id = format!("{:012x}{slot:06x}{}", 4, &e.id[18..]);
    }
    let cat = |f: &dyn Fn(&NewEntry) -> Vec<u8>| group.iter().flat_map(f).collect::<Vec<u8>>();
    let nonces = cat(&|e| {
        (0..7)
            .map(|k| u8::from_str_radix(&e.id[18 + 2 * k..20 + 2 * k], 16).unwrap())
            .collect()
    });
    let tenants: Vec<&str> = group.iter().map(|e| e.tenant.as_str()).collect();
    let digests: Vec<&[u8]> = group.iter().map(|e| e.evidence_sha256.as_slice()).collect();
    let metadata: Vec<Option<&str>> = group
        .iter()
        .map(|e| e.metadata.as_ref().map(|m| m.as_str()))
        .collect();
    let received: Vec<i64> = group.iter().map(|e| e.received_ms).collect();
    raw.execute(
        &format!(
            "WITH g AS (
               INSERT INTO entry_groups
                 (grp, n, tenants, nonces, evidence, salts, metadata, received_ms, leaf_hashes)
               VALUES (4, 2, $1, $2, $3, $4, $5, $6, $7))
             INSERT INTO pending_groups (grp, n, keys)
             OVERRIDING SYSTEM VALUE
             SELECT 4, 2, array_agg({OLD_KEY_SQL} ORDER BY k)
             FROM unnest($1::text[], $8::bytea[]) WITH ORDINALITY AS u(tenant, evidence_sha256, k)"
        ),
        &[
            &tenants,
            &nonces,
            &cat(&|e| e.evidence_sha256.to_vec()),
            &cat(&|e| e.salt.to_vec()),
            &metadata,
            &received,
            &cat(&|e| e.leaf_hash.to_vec()),
            &digests,
        ],
    )
    .await
    .unwrap();
    raw.batch_execute("SELECT setval('pending_groups_grp_seq', 4)")
        .await
        .unwrap();
    log.index.extend([None, None]);
    log.queue.extend(group.iter().cloned());
    log.entries.extend(group);
}

impl OldLog {
    /// Entries `ns` as (id, log index).
    fn expect(&self, ns: &[usize]) -> Vec<(String, Option<u64>)> {
        ns.iter()
            .map(|&n| (self.entries[n].id.clone(), self.index[n]))
            .collect()
    }
}

/// Migrates the database of `log` to the current schema and checks that
/// every entry was moved into the one format of v9 and nothing else
/// changed, then that the waiting entries and new ones are sequenced
/// after the old ones.
async fn check_conversion(db: &PgDb, raw: &tokio_postgres::Client, mut log: OldLog) {
    let frozen = frozen_pg(raw).await;
    let store = migrated(db).await;
    assert_eq!(
        frozen_pg(raw).await,
        frozen,
        "head, tree and checkpoints unchanged"
    );
    check_only_v9_tables(raw).await;
    check_moved_entries(&store, &log).await;
    check_lookups_and_queue(&store, &log).await;
    check_sequencing_after_the_move(&store, raw, &mut log).await;
}

/// No table or column of the formats before v8 is left; every entry moved
/// has its id's row.
async fn check_only_v9_tables(raw: &tokio_postgres::Client) {
    let old_tables: i64 = scalar(
        raw,
        "SELECT count(*) FROM pg_class
         WHERE relname IN ('entries', 'positions', 'lookup', 'keyed_lookup')",
    )
    .await;
    assert_eq!(old_tables, 0, "no table of the formats before v8 is left");
    let queue_columns: String = scalar(
        raw,
        "SELECT string_agg(column_name::text, ',' ORDER BY ordinal_position)
         FROM information_schema.columns WHERE table_name = 'pending_groups'",
    )
    .await;
    assert_eq!(queue_columns, "grp,n,done,keys");
    let legacy: i64 = scalar(raw, "SELECT count(*) FROM legacy_id_slots").await;
    assert_eq!(legacy, 79);
}

/// Each entry is found under its id (by its tenant only) with its fields
/// and index, under no other name, and the unchanged tree proves the
/// sequenced ones.
async fn check_moved_entries(store: &PostgresStore, log: &OldLog) {
    for (i, e) in log.entries.iter().enumerate() {
        let got = store.get_entry(&e.tenant, &e.id).await.unwrap();
        assert_eq!(
            got.map(|g| (g.entry, g.log_index)),
            Some((e.clone(), log.index[i])),
            "entry {i}"
        );
        let other = if e.tenant.as_str() == TENANT {
            OTHER
        } else {
            TENANT
        };
        assert_eq!(
            store.get_entry(&tid(other), &e.id).await.unwrap(),
            None,
            "entry {i}"
        );
    }
    // A moved entry has one name: the v8 form of its group, slot and
    // nonce does not find it.
    let e = &log.entries[73];
    let as_v8 = format!("{:012x}{:06x}{}", 2, 0, &e.id[18..]);
    assert_eq!(store.get_entry(&tid(TENANT), &as_v8).await.unwrap(), None);
    let state = store.log_state().await.unwrap();
    assert_eq!((state.size, state.root), (74, log.seq.memory.root()));
    for i in [0u64, 5, 63, 64, 69, 70, 73] {
        let proof = over_store(store, Plan::inclusion(i, 74).unwrap()).await;
        let leaf = log.entries[i as usize].leaf_hash;
        merkle::verify_inclusion(&leaf, i, 74, &proof, &state.root).unwrap();
    }
}

/// Lookups by digest, oldest first across moved groups, and the queue.
async fn check_lookups_and_queue(store: &PostgresStore, log: &OldLog) {
    let digest = log.digest;
    assert_eq!(
        found(store.find_entries(&tid(TENANT), &digest, 10).await.unwrap()),
        log.expect(&[5, 71, 73, 75, 78]),
        "oldest first: the log's order, then the queue's"
    );
    assert_eq!(
        found(store.find_entries(&tid(TENANT), &digest, 2).await.unwrap()),
        log.expect(&[5, 71])
    );
    assert_eq!(
        found(store.find_entries(&tid(OTHER), &digest, 10).await.unwrap()),
        log.expect(&[9])
    );
    let pending: Vec<String> = store
        .next_pending(100)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    let queue: Vec<String> = log.queue.iter().map(|e| e.id.clone()).collect();
    assert_eq!(pending, queue, "the waiting entries, in their order");
}

/// New entries get v8 ids; the waiting entries, then the new ones, are
/// sequenced after the moved ones, and found oldest first with them.
async fn check_sequencing_after_the_move(
    store: &PostgresStore,
    raw: &tokio_postgres::Client,
    log: &mut OldLog,
) {
    let mut new: Vec<NewEntry> = (300..303).map(|n| entry(TENANT, n)).collect();
    new[0].evidence_sha256 = log.digest;
    store.insert_entries(&mut new).await.unwrap();
    for e in &new {
        assert!(
            u128::from_str_radix(&e.id, 16).unwrap() >> 80 < 1 << 40,
            "{}",
            e.id
        );
        let got = store.get_entry(&tid(TENANT), &e.id).await.unwrap().unwrap();
        assert_eq!((got.entry, got.log_index), (e.clone(), None));
    }
    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    let waiting = log.queue.len() as u32;
    log.seq.sequence(store, &lease, waiting + 1).await; // into the new group
    log.seq.sequence(store, &lease, 2).await;
    assert_eq!(store.pending_count().await.unwrap(), 0);
    let state = store.log_state().await.unwrap();
    assert_eq!(
        (state.size, state.root),
        (77 + u64::from(waiting), log.seq.memory.root())
    );
    for (k, e) in log.queue.iter().chain(&new).enumerate() {
        let got = store.get_entry(&e.tenant, &e.id).await.unwrap().unwrap();
        assert_eq!((&got.entry, got.log_index), (e, Some(74 + k as u64)));
    }
    let mut all = log.expect(&[5, 71, 73]);
    all.extend([
        (log.entries[75].id.clone(), Some(75)),
        (log.entries[78].id.clone(), Some(78)),
        (new[0].id.clone(), Some(74 + u64::from(waiting))),
    ]);
    assert_eq!(
        found(
            store
                .find_entries(&tid(TENANT), &log.digest, 10)
                .await
                .unwrap()
        ),
        all
    );
    let lookup_rows: i64 = scalar(raw, "SELECT count(*) FROM group_lookup").await;
    assert_eq!(
        lookup_rows as u64, state.size,
        "one lookup row per sequenced entry"
    );
}

/// Migration 0009 moves everything a v7 notary stored into the one format
/// of v8 (entries sequenced before v5, v5-v7 groups sequenced, partly
/// sequenced and waiting), in one transaction, without changing an index,
/// a leaf hash, the tree or a checkpoint; every id given out before stays
/// valid and the run-time queries read one format.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_v9_moves_a_v7_log_into_one_format() {
    let (db, raw) = database_at_version(7).await;
    let log = write_v7_log(&raw).await;
    check_conversion(&db, &raw, log).await;
}

/// A database that a v8 binary ran on holds both formats: what v7 left
/// and v8 groups. Migration 0009 converts the former the same way and
/// leaves the v8 groups as they are, under their ids, in queue order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_v9_moves_what_v7_left_in_a_v8_database() {
    let (db, raw) = database_at_version(7).await;
    let mut log = write_v7_log(&raw).await;
    upgrade_to_v8_and_commit_a_group(&raw, &mut log).await;
    check_conversion(&db, &raw, log).await;
}

/// The lookup rows migration 0009 writes go to the `group_lookup`
/// partitions of their log indices, created if missing, on both sides of
/// a boundary; the waiting group is sequenced after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_v9_puts_moved_lookup_rows_in_the_partitions_of_their_indices() {
    const FIRST: u64 = (1 << 20) - 2;
    let (db, raw) = database_at_version(7).await;
    raw.batch_execute("INSERT INTO tenants VALUES ('acme', 1)")
        .await
        .unwrap();
    fake_log(&raw, FIRST + 4).await;
    // Entries 0 and 1 sequenced before v5 at FIRST and FIRST + 1, group 1
    // (entries 2 and 3) after them, group 2 (entries 4 and 5) waiting.
    let old: Vec<NewEntry> = (0..6).map(|n| old_entry(TENANT, n)).collect();
    for (i, e) in old.iter().enumerate() {
        let place = (i >= 2).then_some((i as i64 / 2, i as i32 % 2));
        insert_old_entry(&raw, e, i as i64 + 1, place).await;
    }
    raw.batch_execute(&format!(
        "INSERT INTO positions (seq, log_index) VALUES (1, {FIRST}), (2, {FIRST} + 1);
         INSERT INTO group_positions (grp, lo, hi, first_index) VALUES (1, 0, 2, {FIRST} + 2);
         {}
         SELECT setval('pending_groups_grp_seq', 2);",
        old_queue_row_sql(2, 0)
    ))
    .await
    .unwrap();

    let store = migrated(&db).await;
    let placed = lookup_placement(&raw).await;
    let at = |p: &str, i: u64| (format!("group_lookup_{p}"), (FIRST + i) as i64);
    assert_eq!(placed, [at("0", 0), at("0", 1), at("1", 2), at("1", 3)]);

    let lease = store.acquire_sequencer("a").await.unwrap().unwrap();
    let mut seq = Seq {
        frontier: stored_frontier(&store, FIRST + 4).await,
        memory: MemoryTree::new(),
    };
    seq.sequence(&store, &lease, 2).await;
    for (i, e) in old.iter().enumerate() {
        let found = store
            .find_entries(&tid(TENANT), &e.evidence_sha256, 10)
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "entry {i}");
        assert_eq!(
            (&found[0].entry, found[0].log_index),
            (e, Some(FIRST + i as u64))
        );
    }
}

/// Migration 0009 refuses, and leaves the database at v7 with its data,
/// a log it cannot convert faithfully: an id that could not be told from
/// a v8 id, or a commit group whose entries do not fill its slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_v9_refuses_a_log_it_cannot_convert_and_changes_nothing() {
    for (bad, why) in [
        (entry(TENANT, 1), "cannot be told from a v8 id"),
        (old_entry(TENANT, 1), "do not fill slots"),
    ] {
        let (db, raw) = database_at_version(7).await;
        raw.batch_execute("INSERT INTO tenants VALUES ('acme', 1)")
            .await
            .unwrap();
        insert_old_entry(&raw, &old_entry(TENANT, 0), 1, Some((1, 0))).await;
        // Slot 1 if the id is the problem, else slot 2 (leaving a gap).
        let slot = if bad.id.starts_with("000000") { 1 } else { 2 };
        insert_old_entry(&raw, &bad, 2, Some((1, slot))).await;
        raw.batch_execute(&format!(
            "{} SELECT setval('pending_groups_grp_seq', 1);",
            old_queue_row_sql(1, 0)
        ))
        .await
        .unwrap();
        let store = PostgresStore::connect(&db.url).await.unwrap();
        let err = store.migrate().await.unwrap_err().to_string();
        assert!(
            err.contains("0009_one_entry_format") && err.contains(why),
            "{err}"
        );
        let state: (i64, i64, i64) = (
            scalar(&raw, "SELECT max(version) FROM schema_migrations").await,
            scalar(&raw, "SELECT count(*) FROM entries").await,
            scalar(
                &raw,
                "SELECT count(*) FROM pending_groups WHERE ids IS NOT NULL",
            )
            .await,
        );
        assert_eq!(state, (7, 2, 1), "{why}");
    }
}
