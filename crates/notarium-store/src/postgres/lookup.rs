//! Finding entries: what an id names, reading an entry from its group's
//! row, and the digest lookup (`group_lookup`, in partitions of 2^20 log
//! indices).

use super::connection::db_err;
use super::queue::SLOT_BITS;
use crate::common::{to_hash, to_metadata, to_salt, to_tenant, to_u64};
use crate::{NewEntry, Result, StoreError, StoredEntry};
use deadpool_postgres::GenericClient;
use notarium_core::merkle::Hash;
use sha2::{Digest, Sha256};
use tokio_postgres::Row;

/// The entry in slot `c.slot` of group `c.grp` (`entry_groups g`) and,
/// once sequenced, its index from its group's run (`group_positions s`).
/// Use with [`ENTRY_JOINS`]; the columns are those [`entry_from_row`]
/// reads. Each fixed-size field is a slice of the group's value, read
/// without reading the rest.
const ENTRY_COLUMNS: &str = "g.grp, c.slot, substring(g.nonces FROM c.slot * 7 + 1 FOR 7),
       substring(g.legacy_ids FROM c.slot * 16 + 1 FOR 16), g.tenants[c.slot + 1],
       substring(g.evidence FROM c.slot * 32 + 1 FOR 32),
       substring(g.salts FROM c.slot * 32 + 1 FOR 32), g.metadata[c.slot + 1],
       g.received_ms[c.slot + 1], substring(g.leaf_hashes FROM c.slot * 32 + 1 FOR 32),
       s.first_index + (c.slot - s.lo)";
const ENTRY_JOINS: &str = "JOIN entry_groups g ON g.grp = c.grp AND c.slot < g.n
     LEFT JOIN group_positions s ON s.grp = g.grp AND s.lo <= c.slot AND c.slot < s.hi";

/// An entry read with [`ENTRY_COLUMNS`].
fn entry_from_row(row: &Row) -> Result<StoredEntry> {
    let grp = to_u64(row.get(0), "entry group")?;
    let slot = usize::try_from(row.get::<_, i32>(1))
        .map_err(|_| StoreError::Database("negative entry slot".into()))?;
    Ok(StoredEntry {
        entry: NewEntry {
            id: entry_id(grp, slot, row.get(2), row.get(3))?,
            tenant: to_tenant(row.get(4))?,
            evidence_sha256: to_hash(row.get(5), "evidence digest")?,
            salt: to_salt(row.get(6))?,
            metadata: to_metadata(row.get(7))?,
            received_ms: row.get(8),
            leaf_hash: to_hash(row.get(9), "leaf hash")?,
        },
        log_index: row
            .get::<_, Option<i64>>(10)
            .map(|i| to_u64(i, "log index"))
            .transpose()?,
    })
}

/// Bytes of an entry id that are random: its nonce (migration 0008).
pub(super) const NONCE_LEN: usize = 7;
/// Bytes of an id given out before v8, as `entry_groups.legacy_ids` and
/// `legacy_id_slots` keep it (migration 0009).
pub(super) const LEGACY_ID_LEN: usize = 16;
/// v8 ids name groups below this; the 48-bit millisecond times that start
/// the ids given out before v8 are at or above it (migration 0009 checks).
const GROUP_LIMIT: u64 = 1 << 40;

/// The id of the entry in `slot` of group `grp`: the id it was given
/// before v8 if its group keeps one (`legacy`, migration 0009), else group
/// (48 bits), slot (24 bits) and nonce (56 bits).
pub(super) fn entry_id(
    grp: u64,
    slot: usize,
    nonce: &[u8],
    legacy: Option<&[u8]>,
) -> Result<String> {
    let invalid =
        || StoreError::Database(format!("entry of group {grp}, slot {slot} has no valid id"));
    if let Some(legacy) = legacy {
        let bytes: [u8; LEGACY_ID_LEN] = legacy.try_into().map_err(|_| invalid())?;
        return Ok(format!("{:032x}", u128::from_be_bytes(bytes)));
    }
    if grp >= GROUP_LIMIT || slot >= 1 << SLOT_BITS || nonce.len() != NONCE_LEN {
        return Err(invalid());
    }
    let mut tail = [0u8; 8];
    tail[1..].copy_from_slice(nonce);
    let id =
        (u128::from(grp) << 80) | ((slot as u128) << 56) | u128::from(u64::from_be_bytes(tail));
    Ok(format!("{id:032x}"))
}

/// 32 lowercase hex characters as a number.
pub(super) fn parse_id(id: &str) -> Option<u128> {
    if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u128::from_str_radix(id, 16).ok()
}

/// Where an id says its entry is: the one place that tells the two forms
/// of id apart, by their first 48 bits alone.
#[derive(Debug, PartialEq, Eq)]
enum EntryName {
    /// A v8 id: the group, slot and nonce it names.
    Slot {
        grp: i64,
        slot: i32,
        nonce: [u8; NONCE_LEN],
    },
    /// An id given out before v8, found through `legacy_id_slots`.
    Legacy([u8; LEGACY_ID_LEN]),
}

impl EntryName {
    fn parse(id: &str) -> Option<Self> {
        let v = parse_id(id)?;
        let grp = (v >> 80) as u64;
        if grp >= GROUP_LIMIT {
            return Some(EntryName::Legacy(v.to_be_bytes()));
        }
        let slot = ((v >> 56) as u32) & ((1 << SLOT_BITS) - 1);
        Some(EntryName::Slot {
            grp: grp as i64,
            slot: slot as i32,
            nonce: nonce_bits(v),
        })
    }
}

/// The last 56 bits of an id, big-endian.
pub(super) fn nonce_bits(v: u128) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&(v as u64).to_be_bytes()[1..]);
    nonce
}

/// Entries per partition of `group_lookup` (migration 0008): partition
/// `n`, named `group_lookup_<n>`, holds log indices in `[n *
/// LOOKUP_PARTITION, (n + 1) * LOOKUP_PARTITION)`.
const LOOKUP_PARTITION: i64 = 1 << 20;

/// An entry's key in the digest lookup (migration 0007): the first 8 bytes
/// of SHA-256(tenant || 0x0A || digest), big-endian, as PostgreSQL's
/// `bigint`. Migrations 0007 and 0009 compute the same in SQL for the
/// entries they convert.
pub(super) fn lookup_key(tenant: &str, evidence_sha256: &Hash) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(tenant.as_bytes());
    hasher.update(b"\n");
    hasher.update(evidence_sha256);
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// An entry of `tenant` by its id (None for another tenant's or an
/// unknown id).
pub(super) async fn get_entry(
    client: &impl GenericClient,
    tenant: &str,
    id: &str,
) -> Result<Option<StoredEntry>> {
    let Some(name) = EntryName::parse(id) else {
        return Ok(None);
    };
    let row = match name {
        // A v8 id names its group and slot; the nonce must match, and
        // an entry that keeps an id given out before v8 has no other.
        EntryName::Slot { grp, slot, nonce } => {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {ENTRY_COLUMNS}
                     FROM (SELECT $1::bigint AS grp, $2::int AS slot) AS c {ENTRY_JOINS}
                     WHERE substring(g.nonces FROM c.slot * 7 + 1 FOR 7) = $3
                       AND g.legacy_ids IS NULL AND g.tenants[c.slot + 1] = $4"
                ))
                .await
                .map_err(db_err)?;
            client
                .query_opt(&stmt, &[&grp, &slot, &nonce.as_slice(), &tenant])
                .await
        }
        // An id given out before v8: where migration 0009 put its entry.
        EntryName::Legacy(legacy) => {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM legacy_id_slots AS c {ENTRY_JOINS}
                     WHERE c.id = $1 AND g.tenants[c.slot + 1] = $2"
                ))
                .await
                .map_err(db_err)?;
            client
                .query_opt(&stmt, &[&legacy.as_slice(), &tenant])
                .await
        }
    }
    .map_err(db_err)?;
    row.as_ref().map(entry_from_row).transpose()
}

/// The tenant's entries with this digest, oldest first (at most `limit`).
pub(super) async fn find_entries(
    client: &impl GenericClient,
    tenant: &str,
    evidence_sha256: &Hash,
    limit: u32,
) -> Result<Vec<StoredEntry>> {
    let stmt = client
        .prepare_cached(&format!(
            // Candidates by key, as group and slot: sequenced ones from
            // `group_lookup` by index, whose run in `group_positions`
            // names the group; pending ones from the queue's keys (the
            // queue holds seconds of submissions and is read without an
            // index). Tenant and digest are checked on the entry, as
            // two entries can share a key. One statement has one
            // snapshot and the sequencer moves an entry from the queue
            // to the lookup in one transaction, so each entry is seen
            // exactly once. Oldest first: sequenced entries in log
            // order, then pending ones in queue order.
            "WITH c AS (
               SELECT r.grp, (r.lo + (l.idx - r.first_index))::int AS slot
               FROM group_lookup AS l,
                    LATERAL (SELECT grp, lo, first_index FROM group_positions
                             WHERE first_index <= l.idx
                             ORDER BY first_index DESC LIMIT 1) AS r
               WHERE l.key = $4
               UNION ALL
               SELECT g.grp, (u.slot - 1)::int
               FROM pending_groups AS g, unnest(g.keys) WITH ORDINALITY AS u(key, slot)
               WHERE u.slot > g.done AND u.key = $4)
             SELECT {ENTRY_COLUMNS}
             FROM c {ENTRY_JOINS}
             WHERE g.tenants[c.slot + 1] = $1
               AND substring(g.evidence FROM c.slot * 32 + 1 FOR 32) = $2
             ORDER BY 11 NULLS LAST, 1, 2 LIMIT $3"
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

/// The sequenced entries with log indices `start..end`, in index order:
/// the runs of `group_positions` from the one holding `start` (searched
/// on `first_index`'s unique index) to the last starting before `end`,
/// each entry read from its group's row as [`get_entry`] reads one.
/// Whether every index is there is the caller's check.
pub(super) async fn sequenced_entries(
    client: &impl GenericClient,
    start: i64,
    end: i64,
) -> Result<Vec<StoredEntry>> {
    let stmt = client
        .prepare_cached(&format!(
            "WITH r AS (
               SELECT grp, lo, hi, first_index FROM group_positions
               WHERE first_index >= coalesce(
                       (SELECT max(first_index) FROM group_positions WHERE first_index <= $1), 0)
                 AND first_index < $2),
             c AS (
               SELECT r.grp, (r.lo + (i - r.first_index))::int AS slot
               FROM r, generate_series(greatest(r.first_index, $1),
                                       least(r.first_index + (r.hi - r.lo), $2) - 1) AS i)
             SELECT {ENTRY_COLUMNS} FROM c {ENTRY_JOINS} ORDER BY 11"
        ))
        .await
        .map_err(db_err)?;
    let rows = client.query(&stmt, &[&start, &end]).await.map_err(db_err)?;
    rows.iter().map(entry_from_row).collect()
}

/// Creates, in the batch's transaction, the `group_lookup` partitions
/// that the indices `old .. new` need and that do not exist yet (usually
/// none: one is created every 2^20 entries; rolled back with the batch if
/// it fails).
pub(super) async fn create_lookup_partitions(
    tx: &impl GenericClient,
    old: i64,
    new: i64,
) -> Result<()> {
    let stmt = tx
        .prepare_cached(
            "SELECT n FROM generate_series($2::bigint / $1, ($3::bigint - 1) / $1) AS n
             WHERE to_regclass(format('group_lookup_%s', n)) IS NULL",
        )
        .await
        .map_err(db_err)?;
    for row in tx
        .query(&stmt, &[&LOOKUP_PARTITION, &old, &new])
        .await
        .map_err(db_err)?
    {
        let n: i64 = row.get(0);
        tx.batch_execute(&format!(
            "CREATE TABLE group_lookup_{n} PARTITION OF group_lookup FOR VALUES FROM ({}) TO ({})",
            n * LOOKUP_PARTITION,
            (n + 1) * LOOKUP_PARTITION
        ))
        .await
        .map_err(db_err)?;
    }
    Ok(())
}
