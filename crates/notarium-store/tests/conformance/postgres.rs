//! The shared cases against PostgreSQL, then what only the shared store
//! does: the lease across store instances and failover, concurrent
//! migrations, the queue's commit groups, the lookup's partitions.

use crate::cases::every_case;
use crate::fixture::*;
use notarium_log::tree::{MemoryTree, NodeId};
use notarium_store::{NewEntry, PendingLeaf, PostgresStore, Store, StoreError};

every_case!(Kind::Postgres);

/// Timestamp tokens are durable: another store instance on the database
/// (after the first is dropped) lists the same tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_timestamp_tokens_survive_reopen() {
    let (db, store, _raw) = pg_store_with_tenants().await;
    let want = crate::cases::store_timestamp_tokens(&store).await;
    drop(store);
    let store = PostgresStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.timestamp_tokens(3).await.unwrap(), want);
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
    let placed = lookup_placement(&raw).await;
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
            .find_entries(&tid(TENANT), &e.evidence_sha256, 10)
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "entry {i}");
        assert_eq!(found[0].entry, *e);
        assert_eq!(found[0].log_index, Some(SIZE + i as u64));
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
    assert_eq!(
        found(store.find_entries(&tid(TENANT), &same, 10).await.unwrap()),
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
        found(store.find_entries(&tid(TENANT), &same, 10).await.unwrap()),
        vec![(a[1].id.clone(), Some(1)), (b[0].id.clone(), Some(2))]
    );
    assert_eq!(
        store
            .get_entry(&tid(TENANT), &a[4].id)
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
        "SELECT string_agg(key || ':' || idx, ',' ORDER BY idx) FROM group_lookup",
        "SELECT size || ':' || encode(root, 'hex') FROM log_state",
    ] {
        out.push(scalar::<Option<String>>(raw, sql).await.unwrap_or_default());
    }
    out
}
