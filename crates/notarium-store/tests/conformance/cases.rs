//! The cases every store must pass: each is an `async fn(&Fixture)` that
//! `every_case!` turns into one test per store (in `sqlite` and
//! `postgres`, under the case's name).

use crate::fixture::*;
use notarium_core::merkle::{self, Hash};
use notarium_log::tree::{NodeId, Plan};
use notarium_store::{Lease, LogState, NewEntry, PendingLeaf, Store, StoreError, TimestampToken};
use std::collections::HashMap;

pub(crate) async fn migrate_is_idempotent(fx: &Fixture) {
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

pub(crate) async fn tenants_and_api_keys(fx: &Fixture) {
    let s = fx.store();
    s.add_tenant(&tid(TENANT), 10).await.unwrap();
    assert!(matches!(
        s.add_tenant(&tid(TENANT), 11).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let key = h("key one");
    s.add_api_key(&tid(TENANT), &key, 12).await.unwrap();
    assert_eq!(
        s.tenant_for_key(&key)
            .await
            .unwrap()
            .as_ref()
            .map(|t| t.as_str()),
        Some(TENANT)
    );
    assert_eq!(s.tenant_for_key(&h("unknown key")).await.unwrap(), None);
    assert!(matches!(
        s.add_api_key(&tid(TENANT), &key, 13).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        s.add_api_key(&tid("nobody"), &h("key two"), 14).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.tenant_for_key(&h("key two")).await.unwrap(), None);
    s.add_tenant(&tid(OTHER), 15).await.unwrap();
    s.add_api_key(&tid(OTHER), &h("key three"), 16)
        .await
        .unwrap();
    assert_eq!(
        s.tenant_for_key(&h("key three"))
            .await
            .unwrap()
            .as_ref()
            .map(|t| t.as_str()),
        Some(OTHER)
    );
    assert_eq!(
        s.tenant_for_key(&key)
            .await
            .unwrap()
            .as_ref()
            .map(|t| t.as_str()),
        Some(TENANT)
    );
}

pub(crate) async fn insert_entries_is_atomic(fx: &Fixture) {
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
    assert_eq!(s.get_entry(&tid(TENANT), &bad[0].id).await.unwrap(), None);
    assert_eq!(s.get_entry(&tid("nobody"), &bad[1].id).await.unwrap(), None);
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
        Kind::Postgres => "SELECT sum(n)::bigint FROM entry_groups",
    };
    assert_eq!(fx.raw_i64(stored).await, 3);
    for e in &first {
        assert_eq!(
            s.get_entry(&tid(TENANT), &e.id)
                .await
                .unwrap()
                .unwrap()
                .entry,
            *e
        );
    }
}

pub(crate) async fn stored_ids_are_unique_and_found(fx: &Fixture) {
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
        assert_eq!(s.get_entry(&tid(TENANT), &id).await.unwrap(), None, "{id}");
    }
}

pub(crate) async fn get_entry_only_for_its_tenant(fx: &Fixture) {
    let s = fx.store();
    with_tenants(s).await;
    let stored = put(s, vec![entry(TENANT, 2), entry(OTHER, 3)]).await;
    let (mine, theirs) = (&stored[0], &stored[1]);
    // with metadata, and without
    assert!(mine.metadata.is_some() && theirs.metadata.is_none());
    let got = s.get_entry(&tid(TENANT), &mine.id).await.unwrap().unwrap();
    assert_eq!(
        got,
        notarium_store::StoredEntry {
            entry: mine.clone(),
            log_index: None
        }
    );
    assert_eq!(
        s.get_entry(&tid(OTHER), &theirs.id)
            .await
            .unwrap()
            .unwrap()
            .entry,
        *theirs
    );
    assert_eq!(s.get_entry(&tid(OTHER), &mine.id).await.unwrap(), None);
    assert_eq!(s.get_entry(&tid(TENANT), &theirs.id).await.unwrap(), None);
    assert_eq!(
        s.get_entry(&tid(TENANT), &"0".repeat(32)).await.unwrap(),
        None
    );
    assert_eq!(s.get_entry(&tid(TENANT), "not an id").await.unwrap(), None);
    assert_eq!(s.get_entry(&tid("nobody"), &mine.id).await.unwrap(), None);
}

pub(crate) async fn find_entries_by_digest(fx: &Fixture) {
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
    let ids =
        |v: Vec<notarium_store::StoredEntry>| v.into_iter().map(|e| e.entry.id).collect::<Vec<_>>();
    let want: Vec<String> = [&a[0], &b[2], &c[0], &c[1]]
        .iter()
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(
        ids(s.find_entries(&tid(TENANT), &digest, 100).await.unwrap()),
        want
    );
    assert_eq!(
        ids(s.find_entries(&tid(TENANT), &digest, 2).await.unwrap()),
        want[..2]
    );
    assert_eq!(
        s.find_entries(&tid(OTHER), &digest, 100).await.unwrap(),
        vec![notarium_store::StoredEntry {
            entry: b[1].clone(),
            log_index: None
        }]
    );
    assert!(
        s.find_entries(&tid(TENANT), &h("never"), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.find_entries(&tid("nobody"), &digest, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(s
            .find_entries(&tid(TENANT), &b[0].evidence_sha256, 10)
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
        indexed(s.find_entries(&tid(TENANT), &digest, 100).await.unwrap()),
        want_indexed
    );
    assert_eq!(
        indexed(s.find_entries(&tid(TENANT), &digest, 2).await.unwrap()),
        want_indexed[..2]
    );
    assert_eq!(
        indexed(s.find_entries(&tid(OTHER), &digest, 100).await.unwrap()),
        vec![(b[1].id.clone(), Some(2))]
    );
    seq.sequence(s, &lease, 3).await;
    assert_eq!(
        indexed(s.find_entries(&tid(TENANT), &digest, 100).await.unwrap()),
        vec![
            (want[0].clone(), Some(0)),
            (want[1].clone(), Some(3)),
            (want[2].clone(), Some(4)),
            (want[3].clone(), Some(5)),
        ]
    );
}

pub(crate) async fn pending_in_submission_order(fx: &Fixture) {
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

pub(crate) async fn sequencer_lease_epochs(fx: &Fixture) {
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

pub(crate) async fn append_batch_happy_path(fx: &Fixture) {
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
        let got = s.get_entry(&tid(TENANT), &e.id).await.unwrap().unwrap();
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
        s.get_entry(&tid(TENANT), &entries[4].id)
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

pub(crate) async fn stale_epoch_is_not_leader(fx: &Fixture) {
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

pub(crate) async fn wrong_old_size_is_conflict(fx: &Fixture) {
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

pub(crate) async fn sequenced_entries_cannot_be_reassigned(fx: &Fixture) {
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
        s.get_entry(&tid(TENANT), &entries[0].id)
            .await
            .unwrap()
            .unwrap()
            .log_index,
        Some(0)
    );
}

pub(crate) async fn inconsistent_batches_are_refused(fx: &Fixture) {
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

pub(crate) async fn cosignatures_add_replace_list(fx: &Fixture) {
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

pub(crate) async fn finalize_is_idempotent_and_covering(fx: &Fixture) {
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

fn token(size: u64, tsa: &str, tag: &str) -> TimestampToken {
    TimestampToken {
        size,
        tsa: tsa.to_string(),
        token: format!("DER token {tag}").into_bytes(),
        gen_time: 1_764_000_200 + size as i64,
        stored_ms: 1_764_000_200_000 + size as i64,
    }
}

/// On a store with both tenants: sequences checkpoints 3 and 5, makes 3
/// final, and stores timestamp tokens for it (a repeat, a second token of
/// the same TSA, a token for a checkpoint that is not final). Returns what
/// `timestamp_tokens(3)` answers from then on.
pub(crate) async fn store_timestamp_tokens(s: &dyn Store) -> Vec<TimestampToken> {
    put(s, (0..5).map(|n| entry(TENANT, n)).collect()).await;
    let lease = s.acquire_sequencer("seq").await.unwrap().unwrap();
    let mut seq = Seq::new();
    seq.sequence(s, &lease, 3).await;
    seq.sequence(s, &lease, 2).await;
    s.finalize(&final_cp(3, "f")).await.unwrap();
    assert_eq!(s.timestamp_tokens(3).await.unwrap(), vec![]);

    let b = token(3, "https://tsa-b.example/", "b");
    let a = token(3, "http://tsa-a.example/tsr", "a");
    s.add_timestamp_token(&b).await.unwrap();
    s.add_timestamp_token(&a).await.unwrap();
    // The same token again, and another from the same TSA: the first stays.
    s.add_timestamp_token(&a).await.unwrap();
    s.add_timestamp_token(&token(3, "http://tsa-a.example/tsr", "later"))
        .await
        .unwrap();
    // Only a final checkpoint is timestamped.
    assert!(matches!(
        s.add_timestamp_token(&token(5, "http://tsa-a.example/tsr", "x"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.add_timestamp_token(&token(4, "http://tsa-a.example/tsr", "x"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    let want = vec![a, b];
    assert_eq!(s.timestamp_tokens(3).await.unwrap(), want, "ordered by TSA");
    assert_eq!(s.timestamp_tokens(5).await.unwrap(), vec![]);
    assert_eq!(s.timestamp_tokens(u64::MAX).await.unwrap(), vec![]);
    want
}

pub(crate) async fn timestamp_tokens_add_keep_list(fx: &Fixture) {
    with_tenants(fx.store()).await;
    store_timestamp_tokens(fx.store()).await;
}

/// The stamping task's next checkpoint: the smallest final one in range
/// with fewer tokens than required, whatever precedes it.
pub(crate) async fn first_final_lacking_tokens_in_one_query(fx: &Fixture) {
    let s = fx.store();
    with_tenants(s).await;
    put(s, (0..6).map(|n| entry(TENANT, n)).collect()).await;
    let lease = s.acquire_sequencer("seq").await.unwrap().unwrap();
    let mut seq = Seq::new();
    for n in [2, 1, 3] {
        seq.sequence(s, &lease, n).await;
    }
    // Checkpoints 2, 3 and 6; 2 and 6 final, 3 never.
    s.finalize(&final_cp(2, "f")).await.unwrap();
    s.finalize(&final_cp(6, "f")).await.unwrap();
    let next = |after, through, required| async move {
        let got = s
            .first_final_lacking_tokens(after, through, required)
            .await
            .unwrap();
        got.map(|f| f.size)
    };
    assert_eq!(next(0, u64::MAX, 1).await, Some(2));
    assert_eq!(next(2, u64::MAX, 1).await, Some(6), "3 is not final");
    assert_eq!(next(0, 5, 1).await, Some(2));
    assert_eq!(next(2, 5, 1).await, None, "6 is beyond the bound");
    assert_eq!(next(0, u64::MAX, 0).await, None, "no token required");
    s.add_timestamp_token(&token(2, "http://tsa-a.example/tsr", "a"))
        .await
        .unwrap();
    assert_eq!(next(0, u64::MAX, 1).await, Some(6), "2 holds its one token");
    assert_eq!(
        next(0, u64::MAX, 2).await,
        Some(2),
        "2 lacks a second token"
    );
    s.add_timestamp_token(&token(6, "http://tsa-a.example/tsr", "a"))
        .await
        .unwrap();
    assert_eq!(next(0, u64::MAX, 1).await, None);
    assert_eq!(next(u64::MAX, u64::MAX, 1).await, None);
    assert_eq!(next(0, u64::MAX, usize::MAX).await, Some(2));
}

/// A PDF seal's timestamp token is kept by imprint; the first one stays.
pub(crate) async fn seal_tokens_keep_the_first(fx: &Fixture) {
    let s = fx.store();
    let (a, b) = ([1u8; 32], [2u8; 32]);
    assert_eq!(s.seal_token(&a).await.unwrap(), None);
    assert_eq!(
        s.keep_seal_token(&a, b"token a", 1).await.unwrap(),
        b"token a"
    );
    // Another token for the same imprint (a second process, a retry): the
    // first is kept and returned, so every PDF embeds the same one.
    assert_eq!(
        s.keep_seal_token(&a, b"token a2", 2).await.unwrap(),
        b"token a"
    );
    assert_eq!(
        s.seal_token(&a).await.unwrap().as_deref(),
        Some(&b"token a"[..])
    );
    assert_eq!(s.seal_token(&b).await.unwrap(), None);
    assert_eq!(
        s.keep_seal_token(&b, b"token b", 3).await.unwrap(),
        b"token b"
    );
    assert_eq!(
        s.seal_token(&a).await.unwrap().as_deref(),
        Some(&b"token a"[..])
    );
}

pub(crate) async fn read_hashes_missing_is_not_found(fx: &Fixture) {
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

pub(crate) async fn proofs_over_stored_tree_match_memory_tree(fx: &Fixture) {
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
            s.get_entry(&tid(TENANT), &e.id)
                .await
                .unwrap()
                .unwrap()
                .log_index,
            Some(i as u64)
        );
    }
}

/// The reads of a tlog-tiles tile and entry bundle: a run of nodes of one
/// level, a run of sequenced entries, each in index order, across commit
/// groups, sequencer batches and (PostgreSQL) 32-node chunks; anything
/// not (yet) in the log is `NotFound`.
pub(crate) async fn levels_and_entry_ranges(fx: &Fixture) {
    let s = fx.store();
    with_tenants(s).await;
    let mut entries = Vec::new();
    let mut n = 0;
    for group in [250u64, 200, 150] {
        entries.extend(put(s, (n..n + group).map(|i| entry(TENANT, i)).collect()).await);
        n += group;
    }
    let lease = s.acquire_sequencer("seq").await.unwrap().unwrap();
    let mut seq = Seq::new();
    for b in [1u32, 7, 100, 150, 42, 250, 50] {
        seq.sequence(s, &lease, b).await;
    }
    // Waiting entries are not in the log.
    put(s, (n..n + 5).map(|i| entry(TENANT, i)).collect()).await;
    let size = n;
    for level in [0u8, 1, 4, 8, 9] {
        let count = size >> level;
        for (a, b) in [
            (0, count),
            (0, 1),
            (1, count),
            (31, 33),
            (32, 64),
            (33, count.min(300)),
            (count - 1, count),
            (count / 2, count / 2),
        ] {
            if a > b || b > count {
                continue;
            }
            let ids: Vec<NodeId> = (a..b).map(|i| NodeId::new(level, i)).collect();
            assert_eq!(
                s.read_level(level, a, b).await.unwrap(),
                seq.memory.hashes(&ids).unwrap(),
                "level {level} {a}..{b}"
            );
        }
        for (a, b) in [(0, count + 1), (count, count + 1), (u64::MAX - 1, u64::MAX)] {
            let got = s.read_level(level, a, b).await;
            assert!(
                matches!(got, Err(StoreError::NotFound(_))),
                "level {level} {a}..{b}: {got:?}"
            );
        }
    }
    for (a, b) in [
        (0, size),
        (0, 1),
        (0, 256),
        (1, 8),
        (7, 108),
        (249, 251),
        (256, 512),
        (512, size),
        (size - 1, size),
        (9, 9),
    ] {
        let got = s.sequenced_entries(a, b).await.unwrap();
        assert_eq!(got.len() as u64, b - a, "{a}..{b}");
        for (i, e) in got.iter().enumerate() {
            let want = &entries[a as usize + i];
            assert_eq!(e.log_index, Some(a + i as u64));
            assert_eq!(
                (
                    &e.entry.id,
                    &e.entry.leaf_hash,
                    &e.entry.salt,
                    e.entry.received_ms
                ),
                (&want.id, &want.leaf_hash, &want.salt, want.received_ms),
                "entry {}",
                a + i as u64
            );
        }
    }
    for (a, b) in [
        (0, size + 1),
        (size, size + 1),
        (size + 2, size + 4),
        (u64::MAX - 1, u64::MAX),
    ] {
        let got = s.sequenced_entries(a, b).await;
        assert!(
            matches!(got, Err(StoreError::NotFound(_))),
            "{a}..{b}: {got:?}"
        );
    }
}

pub(crate) async fn concurrent_inserts_all_land(fx: &Fixture) {
    let s = fx.store.clone();
    with_tenants(s.as_ref()).await;
    let mut tasks = Vec::new();
    for t in 0..8u64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut stored = Vec::new();
            for b in 0..10u64 {
                let ns: Vec<u64> = (0..5).map(|i| t * 1000 + b * 10 + i).collect();
                let batch = put(s.as_ref(), ns.iter().map(|&n| entry(TENANT, n)).collect()).await;
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

/// Declares, in the module it is used in, one test per case against the
/// store of `$kind`, named after the case.
macro_rules! every_case {
    ($kind:expr) => {
        every_case!(@each $kind;
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
            timestamp_tokens_add_keep_list,
            first_final_lacking_tokens_in_one_query,
            seal_tokens_keep_the_first,
            read_hashes_missing_is_not_found,
            proofs_over_stored_tree_match_memory_tree,
            levels_and_entry_ranges,
            concurrent_inserts_all_land,
        );
    };
    (@each $kind:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fx = $crate::fixture::Fixture::new($kind).await;
                $crate::cases::$case(&fx).await;
            }
        )*
    };
}
pub(crate) use every_case;
