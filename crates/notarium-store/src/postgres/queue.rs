//! The pending queue: commit groups stored and queued in one statement,
//! listed for the sequencer, and sequenced front to back in its batches.
//!
//! A group commit inserts its `entry_groups` row and one `pending_groups`
//! row (its entries' lookup keys, `done` counting those sequenced); a
//! batch takes each group's entries front to back as runs, records each
//! run's position (`group_positions`) and each entry's lookup row
//! (`group_lookup`), moves `done` on and deletes a group's row with its
//! last entry.

use super::PostgresStore;
use super::connection::db_err;
use super::lease::fence;
use super::lookup::{
    LEGACY_ID_LEN, NONCE_LEN, create_lookup_partitions, entry_id, lookup_key, nonce_bits, parse_id,
};
use super::tree::{insert_checkpoint, write_batch_nodes};
use crate::common::{batch_new_size, to_hash, to_i64, to_u64};
use crate::{
    Batch, Claim, Earlier, Lease, NewEntry, PendingLeaf, Result, StoreError, unclaimed_rows,
};
use deadpool_postgres::GenericClient;
use notarium_core::entry::Metadata;
use notarium_core::merkle::Hash;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// The queue's groups that hold the first `$1` pending entries, in one
/// pass over the queue, with their entries' nonces, leaf hashes and ids
/// given out before v8, from each group's `entry_groups` row (looked up
/// by key). No self-join: the sequencer's VACUUM of the queue can leave
/// PostgreSQL believing that it is empty, and with that estimate it
/// ran a join's inner side once per outer row (quadratic in the
/// backlog: 0.4 s per call at 560 groups).
pub(super) const NEXT_PENDING_SQL: &str =
    "SELECT q.grp, q.done, x.nonces, x.leaf_hashes, x.legacy_ids
     FROM (SELECT grp, done, sum(n - done) OVER (ORDER BY grp) - (n - done) AS before
           FROM pending_groups) AS q
     LEFT JOIN LATERAL (SELECT y.nonces, y.leaf_hashes, y.legacy_ids FROM entry_groups AS y
                        WHERE y.grp = q.grp OFFSET 0) AS x ON true
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
/// Each entry gets its `group_lookup` row (by log index). The statement
/// answers one row per run: the slices of its group's `entry_groups` row
/// that hold the run's nonces, leaf hashes and ids given out before v8.
pub(super) const APPEND_BATCH_SQL: &str = "WITH s AS (
       SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::bigint[])
         AS s(grp, lo, hi, first_idx)),
     g AS (
       SELECT p.grp, p.n, s.lo, s.hi, s.first_idx, p.keys
       FROM s, LATERAL (SELECT * FROM pending_groups AS q WHERE q.grp = s.grp OFFSET 0) AS p
       WHERE p.done = s.lo AND s.hi <= p.n),
     pos AS (
       INSERT INTO group_positions (grp, lo, hi, first_index)
       SELECT grp, lo, hi, first_idx FROM g),
     look AS (
       INSERT INTO group_lookup (key, idx)
       SELECT u.key, g.first_idx + u.k - 1
       FROM g, unnest(g.keys[g.lo + 1 : g.hi]) WITH ORDINALITY AS u(key, k)
       ORDER BY u.key),
     gone AS (
       DELETE FROM pending_groups AS p
       WHERE p.grp = ANY ((SELECT array_agg(grp) FROM g WHERE hi = n)::bigint[])),
     moved AS (
       UPDATE pending_groups AS p SET done = (SELECT m.hi FROM g AS m WHERE m.grp = p.grp)
       WHERE p.grp = ANY ((SELECT array_agg(grp) FROM g WHERE hi < n)::bigint[]))
     SELECT g.grp, g.lo, g.hi, g.first_idx,
            substring(x.nonces FROM g.lo * 7 + 1 FOR (g.hi - g.lo) * 7),
            substring(x.leaf_hashes FROM g.lo * 32 + 1 FOR (g.hi - g.lo) * 32),
            substring(x.legacy_ids FROM g.lo * 16 + 1 FOR (g.hi - g.lo) * 16)
     FROM g
     LEFT JOIN LATERAL (SELECT y.nonces, y.leaf_hashes, y.legacy_ids FROM entry_groups AS y
                        WHERE y.grp = g.grp OFFSET 0) AS x ON true";

/// A queue group's entries as [`NEXT_PENDING_SQL`] and [`APPEND_BATCH_SQL`]
/// answer them (nonces, leaf hashes and ids given out before v8, in
/// columns from `at`), whose first is the entry in slot `base` of group
/// `grp`. Decoded once; ids are made only for the entries asked for.
struct Queued<'a> {
    grp: u64,
    base: usize,
    nonces: &'a [u8],
    leaves: &'a [u8],
    legacy: Option<&'a [u8]>,
}

impl<'a> Queued<'a> {
    fn from_row(row: &'a Row, at: usize, grp: u64, base: usize) -> Result<Self> {
        let malformed = || StoreError::Database(format!("queue group {grp} is malformed"));
        let nonces: &[u8] = row.get::<_, Option<_>>(at).ok_or_else(malformed)?;
        let leaves: &[u8] = row.get::<_, Option<_>>(at + 1).ok_or_else(malformed)?;
        let legacy: Option<&[u8]> = row.get(at + 2);
        let n = nonces.len() / NONCE_LEN;
        if !nonces.len().is_multiple_of(NONCE_LEN)
            || leaves.len() != n * 32
            || legacy.is_some_and(|l| l.len() != n * LEGACY_ID_LEN)
        {
            return Err(malformed());
        }
        Ok(Queued {
            grp,
            base,
            nonces,
            leaves,
            legacy,
        })
    }

    fn len(&self) -> usize {
        self.nonces.len() / NONCE_LEN
    }

    /// The id and leaf hash of the `k`-th entry (`k < self.len()`).
    fn entry(&self, k: usize) -> Result<(String, Hash)> {
        let legacy = self
            .legacy
            .map(|l| &l[k * LEGACY_ID_LEN..(k + 1) * LEGACY_ID_LEN]);
        Ok((
            entry_id(
                self.grp,
                self.base + k,
                &self.nonces[k * NONCE_LEN..(k + 1) * NONCE_LEN],
                legacy,
            )?,
            to_hash(self.leaves[k * 32..(k + 1) * 32].to_vec(), "leaf hash")?,
        ))
    }
}

/// Bits of a queue position that hold the entry's slot in its commit
/// group; the rest hold the group (`pending_groups.grp`).
pub(super) const SLOT_BITS: u32 = 24;

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

/// A commit group's values as its `entry_groups` row holds them
/// (migration 0008): the fixed-size ones concatenated, the others as
/// arrays; and its entries' lookup keys (migration 0007), for its queue
/// row.
struct GroupRow<'a> {
    tenants: Vec<&'a str>,
    nonces: Vec<u8>,
    digests: Vec<u8>,
    salts: Vec<u8>,
    metadata: Vec<Option<&'a str>>,
    received: Vec<i64>,
    leaves: Vec<u8>,
    keys: Vec<i64>,
}

impl<'a> GroupRow<'a> {
    /// The row of `entries` (at least one), whose ids must be 32 lowercase
    /// hex characters: their last 56 bits become the nonces.
    fn new(entries: &'a [NewEntry]) -> Result<Self> {
        let n = entries.len();
        if n >= 1 << SLOT_BITS {
            return Err(StoreError::Conflict(format!(
                "{n} entries in one commit, at most {} are allowed",
                (1 << SLOT_BITS) - 1
            )));
        }
        let mut nonces = Vec::with_capacity(n * NONCE_LEN);
        let mut digests = Vec::with_capacity(n * 32);
        let mut salts = Vec::with_capacity(n * 32);
        let mut leaves = Vec::with_capacity(n * 32);
        for e in entries {
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
        Ok(GroupRow {
            tenants: entries.iter().map(|e| e.tenant.as_str()).collect(),
            nonces,
            digests,
            salts,
            metadata: entries
                .iter()
                .map(|e| e.metadata.as_ref().map(Metadata::as_str))
                .collect(),
            received: entries.iter().map(|e| e.received_ms).collect(),
            leaves,
            keys: entries
                .iter()
                .map(|e| lookup_key(e.tenant.as_str(), &e.evidence_sha256))
                .collect(),
        })
    }

    /// Stores the group and queues it, in one statement (one durable
    /// transaction: all rows or none), and returns its number; NotFound,
    /// inserting nothing, if a tenant is unknown.
    async fn insert(&self, client: &impl GenericClient) -> Result<u64> {
        let stmt = client
            .prepare_cached(
                // The group's row of entries and its queue row with the
                // entries' lookup keys, under one group number: `g` is
                // evaluated once. Each distinct tenant is looked up once,
                // before anything is inserted; if one is unknown the
                // statement inserts nothing (migration 0006).
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
        let n = self.tenants.len() as i32;
        let row = client
            .query_opt(
                &stmt,
                &[
                    &self.tenants,
                    &self.nonces,
                    &self.digests,
                    &self.salts,
                    &self.metadata,
                    &self.received,
                    &self.leaves,
                    &self.keys,
                    &n,
                ],
            )
            .await
            .map_err(db_err)?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "tenant (one of {:?})",
                    self.tenants
                        .iter()
                        .collect::<std::collections::BTreeSet<_>>()
                ))
            })?;
        to_u64(row.get(0), "group")
    }
}

impl PostgresStore {
    /// `Store::insert_entries`: the entries as one commit group, each
    /// named by its group, slot and nonce.
    pub(super) async fn commit_group(&self, entries: &mut [NewEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        insert_group(&self.client().await?, entries).await
    }

    /// `Store::insert_claimed`: the claims' keys are taken in (tenant, key)
    /// order, so two front-ends claiming overlapping keys wait for each
    /// other instead of deadlocking; a key in use by an uncommitted
    /// transaction blocks the statement until that one ends.
    pub(super) async fn commit_claimed(
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
            self.commit_group(entries).await?;
            return Ok(Vec::new());
        }
        let mut client = self.client().await?;
        // Returning early drops `tx`: rollback.
        let tx = client.transaction().await.map_err(db_err)?;
        let take = tx
            .prepare_cached(
                "INSERT INTO idempotency_keys AS k
                   (tenant, key, request, entry_ids, receipts, created_ms)
                 VALUES ($1, $2, $3, '{}', '{}', $4)
                 ON CONFLICT (tenant, key) DO UPDATE
                   SET request = EXCLUDED.request, entry_ids = '{}', receipts = '{}',
                       created_ms = EXCLUDED.created_ms
                   WHERE k.created_ms < $5
                 RETURNING true",
            )
            .await
            .map_err(db_err)?;
        let prior = tx
            .prepare_cached(
                "SELECT request, entry_ids, receipts FROM idempotency_keys
                 WHERE tenant = $1 AND key = $2",
            )
            .await
            .map_err(db_err)?;
        let mut order: Vec<usize> = (0..claims.len()).collect();
        order.sort_by(|&a, &b| {
            (claims[a].tenant.as_str(), &claims[a].key)
                .cmp(&(claims[b].tenant.as_str(), &claims[b].key))
        });
        let mut earlier = vec![None; claims.len()];
        for i in order {
            let c = &claims[i];
            let (tenant, request) = (c.tenant.as_str(), c.request.as_slice());
            let params: [&(dyn ToSql + Sync); 5] = [&tenant, &c.key, &request, &now_ms, &since_ms];
            if tx
                .query_opt(&take, &params)
                .await
                .map_err(db_err)?
                .is_none()
            {
                let row = tx.query_one(&prior, &params[..2]).await.map_err(db_err)?;
                earlier[i] = Some(Earlier {
                    request: to_hash(row.get(0), "idempotency request")?,
                    ids: row.get(1),
                    receipts: row.get(2),
                });
            }
        }
        let keep = unclaimed_rows(entries.len(), claims, &earlier);
        if !keep.is_empty() {
            let mut stored: Vec<NewEntry> = keep.iter().map(|&i| entries[i].clone()).collect();
            insert_group(&tx, &mut stored).await?;
            for (&i, e) in keep.iter().zip(stored) {
                entries[i].id = e.id;
            }
        }
        let record = tx
            .prepare_cached(
                "UPDATE idempotency_keys SET entry_ids = $3, receipts = $4
                 WHERE tenant = $1 AND key = $2",
            )
            .await
            .map_err(db_err)?;
        for (c, _) in claims.iter().zip(&earlier).filter(|(_, e)| e.is_none()) {
            let ids: Vec<&str> = entries[c.rows.clone()]
                .iter()
                .map(|e| e.id.as_str())
                .collect();
            let mine: Vec<&str> = receipts[c.rows.clone()]
                .iter()
                .map(String::as_str)
                .collect();
            tx.execute(&record, &[&c.tenant.as_str(), &c.key, &ids, &mine])
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(earlier)
    }

    /// `Store::append_batch`, in one transaction: fenced by the lease and
    /// the log size; only pending entries, each group's front to back,
    /// get their index; the tree nodes and checkpoint follow from them.
    pub(super) async fn commit_batch(&self, lease: &Lease, batch: &Batch) -> Result<()> {
        let new_size = batch_new_size(batch)?;
        self.check_lease(lease).await?;
        let old = to_i64(batch.old_size, "old size")?;
        let new = to_i64(new_size, "new size")?;
        let mut client = self.client().await?;
        // Returning early drops `tx`: rollback.
        let tx = client.transaction().await.map_err(db_err)?;
        fence(&tx, lease, batch, old, new).await?;
        let leaves = take_from_queue(&tx, batch, old, new).await?;
        write_batch_nodes(&tx, batch, &leaves).await?;
        insert_checkpoint(&tx, &batch.checkpoint).await?;
        tx.commit().await.map_err(db_err)
    }
}

/// `Store::forget_keys`.
pub(super) async fn forget_keys(client: &impl GenericClient, before_ms: i64) -> Result<u64> {
    client
        .execute(
            "DELETE FROM idempotency_keys WHERE created_ms < $1",
            &[&before_ms],
        )
        .await
        .map_err(db_err)
}

/// Stores `entries` (at least one) as one commit group and names each by
/// its group, slot and nonce.
async fn insert_group(client: &impl GenericClient, entries: &mut [NewEntry]) -> Result<()> {
    let (grp, nonces) = {
        let group = GroupRow::new(entries)?;
        let grp = group.insert(client).await?;
        (grp, group.nonces)
    };
    for (slot, (e, nonce)) in entries
        .iter_mut()
        .zip(nonces.chunks_exact(NONCE_LEN))
        .enumerate()
    {
        e.id = entry_id(grp, slot, nonce, None)?;
    }
    Ok(())
}

/// Takes the batch's entries from the queue, in its transaction, and
/// returns their leaf hashes in batch order. Each run of a group gets its
/// position row (entries themselves are never rewritten), every entry its
/// digest lookup row, in key order so that neighbouring keys share index
/// pages; each group's progress moves on, and a group is gone once its
/// last entry is sequenced. `Conflict` if the batch skips, repeats or
/// misnames an entry.
async fn take_from_queue(
    tx: &impl GenericClient,
    batch: &Batch,
    old: i64,
    new: i64,
) -> Result<Vec<Hash>> {
    let segments = queue_segments(&batch.entries, old)?;
    create_lookup_partitions(tx, old, new).await?;
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
        place_run(row, batch, old, &mut leaves)?;
    }
    leaves
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
        .collect()
}

/// Checks one run that [`APPEND_BATCH_SQL`] took against the batch (the
/// same entries where the batch has them) and puts its leaf hashes there.
fn place_run(row: &Row, batch: &Batch, old: i64, leaves: &mut [Option<Hash>]) -> Result<()> {
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
    Ok(())
}

/// The oldest pending entries, at most `limit`, in queue order.
pub(super) async fn next_pending(
    client: &impl GenericClient,
    limit: u32,
) -> Result<Vec<PendingLeaf>> {
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

pub(super) async fn pending_count(client: &impl GenericClient) -> Result<u64> {
    let row = client
        .query_one(
            "SELECT coalesce(sum(n - done), 0)::bigint FROM pending_groups",
            &[],
        )
        .await
        .map_err(db_err)?;
    to_u64(row.get(0), "pending count")
}

/// Outside a transaction, as VACUUM must be. Without truncation it takes
/// no lock that submissions or the sequencer's batches wait for; the room
/// it frees is reused by the next inserts.
pub(super) async fn tidy_queue(client: &impl GenericClient) -> Result<()> {
    client
        .batch_execute("VACUUM (TRUNCATE false) pending_groups")
        .await
        .map_err(db_err)
}
