//! What both implementations share: the migration list, value conversions,
//! and the check that a batch's nodes and root follow from its leaves.

use crate::{Batch, Result, StoreError};
use notarium_core::entry::{Metadata, SubmitterId};
use notarium_core::merkle::Hash;
use notarium_log::tree::{Frontier, NodeId};

/// One numbered schema migration, embedded in the binary.
///
/// The runner is hand-written (about twenty lines per backend) rather than
/// refinery or sqlx's migrator: the two backends use different drivers
/// (synchronous rusqlite, asynchronous tokio-postgres) that no single
/// migration crate serves without pulling in its own runtime or driver, and
/// the rules we need are few and easy to read in one place: files are
/// numbered, applied in order, each inside the same transaction that records
/// it in `schema_migrations`, so a crash leaves either the old or the new
/// schema; applying twice is a no-op; a database newer than the binary is
/// refused rather than silently used.
#[derive(Debug)]
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const SQLITE_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init",
        sql: include_str!("../../../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_runs",
        sql: include_str!("../../../migrations/sqlite/0002_runs.sql"),
    },
    Migration {
        version: 3,
        name: "0003_idempotency_keys",
        sql: include_str!("../../../migrations/sqlite/0003_idempotency_keys.sql"),
    },
    Migration {
        version: 4,
        name: "0004_timestamp_tokens",
        sql: include_str!("../../../migrations/sqlite/0004_timestamp_tokens.sql"),
    },
    Migration {
        version: 5,
        name: "0005_seal_tokens",
        sql: include_str!("../../../migrations/sqlite/0005_seal_tokens.sql"),
    },
    Migration {
        version: 6,
        name: "0006_timestamp_tokens_by_size",
        sql: include_str!("../../../migrations/sqlite/0006_timestamp_tokens_by_size.sql"),
    },
];

pub(crate) const POSTGRES_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init",
        sql: include_str!("../../../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_pending_positions",
        sql: include_str!("../../../migrations/postgres/0002_pending_positions.sql"),
    },
    Migration {
        version: 3,
        name: "0003_lookup_off_commit_path",
        sql: include_str!("../../../migrations/postgres/0003_lookup_off_commit_path.sql"),
    },
    Migration {
        version: 4,
        name: "0004_tree_chunks",
        sql: include_str!("../../../migrations/postgres/0004_tree_chunks.sql"),
    },
    Migration {
        version: 5,
        name: "0005_commit_groups",
        sql: include_str!("../../../migrations/postgres/0005_commit_groups.sql"),
    },
    Migration {
        version: 6,
        name: "0006_tenant_check_per_group",
        sql: include_str!("../../../migrations/postgres/0006_tenant_check_per_group.sql"),
    },
    Migration {
        version: 7,
        name: "0007_keyed_lookup",
        sql: include_str!("../../../migrations/postgres/0007_keyed_lookup.sql"),
    },
    Migration {
        version: 8,
        name: "0008_entry_groups",
        sql: include_str!("../../../migrations/postgres/0008_entry_groups.sql"),
    },
    Migration {
        version: 9,
        name: "0009_one_entry_format",
        sql: include_str!("../../../migrations/postgres/0009_one_entry_format.sql"),
    },
    Migration {
        version: 10,
        name: "0010_idempotency_keys",
        sql: include_str!("../../../migrations/postgres/0010_idempotency_keys.sql"),
    },
    Migration {
        version: 11,
        name: "0011_timestamp_tokens",
        sql: include_str!("../../../migrations/postgres/0011_timestamp_tokens.sql"),
    },
    Migration {
        version: 12,
        name: "0012_seal_tokens",
        sql: include_str!("../../../migrations/postgres/0012_seal_tokens.sql"),
    },
];

/// The migrations a database at `current` (its highest applied version)
/// still needs, or an error if it is newer than this binary.
pub(crate) fn pending_migrations(
    all: &'static [Migration],
    current: Option<i64>,
) -> Result<&'static [Migration]> {
    let current = current.unwrap_or(0);
    let latest = all.last().map_or(0, |m| m.version);
    if current > latest {
        return Err(StoreError::Database(format!(
            "the database schema is at version {current}, newer than this binary's {latest}"
        )));
    }
    Ok(&all[all.partition_point(|m| m.version <= current)..])
}

pub(crate) fn to_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Conflict(format!("{what} {v} is out of range")))
}

pub(crate) fn to_u64(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Database(format!("stored {what} {v} is negative")))
}

/// A stored submitter id, parsed again (a row that fails is damage).
pub(crate) fn to_tenant(s: String) -> Result<SubmitterId> {
    SubmitterId::parse(&s).map_err(|e| StoreError::Database(format!("stored entry: {e}")))
}

/// Stored metadata text, parsed again.
pub(crate) fn to_metadata(s: Option<String>) -> Result<Option<Metadata>> {
    s.as_deref()
        .map(Metadata::from_text)
        .transpose()
        .map_err(|e| StoreError::Database(format!("stored entry: {e}")))
}

pub(crate) fn to_hash(v: Vec<u8>, what: &str) -> Result<Hash> {
    Hash::try_from(v.as_slice())
        .map_err(|_| StoreError::Database(format!("stored {what} has {} bytes, not 32", v.len())))
}

pub(crate) fn to_salt(v: Vec<u8>) -> Result<[u8; 32]> {
    to_hash(v, "salt")
}

pub(crate) fn encode_certificates(certs: &[String]) -> Result<String> {
    serde_json::to_string(certs)
        .map_err(|e| StoreError::Database(format!("encoding certificates: {e}")))
}

pub(crate) fn decode_certificates(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::Database(format!(
            "stored certificates are not a JSON array of strings: {e}"
        ))
    })
}

pub(crate) fn node_not_found(id: NodeId) -> StoreError {
    StoreError::NotFound(format!(
        "tree node at level {} index {}",
        id.level, id.index
    ))
}

/// Checks what can be checked of a batch without the database and returns
/// its new log size.
pub(crate) fn batch_new_size(batch: &Batch) -> Result<u64> {
    if batch.entries.is_empty() {
        return Err(StoreError::Conflict(
            "a batch must sequence at least one entry".into(),
        ));
    }
    let new_size = batch
        .old_size
        .checked_add(batch.entries.len() as u64)
        .filter(|&n| n <= i64::MAX as u64)
        .ok_or_else(|| StoreError::Conflict("the batch overflows the log size".into()))?;
    if batch.checkpoint.size != new_size {
        return Err(StoreError::Conflict(format!(
            "the batch takes the log from {} to {new_size} entries but its checkpoint is for size {}",
            batch.old_size, batch.checkpoint.size
        )));
    }
    Ok(new_size)
}

/// The stored nodes the right edge of the tree of `old_size` is made of:
/// with them and the new leaves, every new node and the new root follow.
pub(crate) fn edge_ids(old_size: u64) -> Vec<NodeId> {
    Frontier::plan(old_size)
}

/// Defence in depth for the log's integrity: recomputes, from the stored
/// right edge of the old tree and the leaf hashes of the entries being
/// sequenced (read from the entries table, in index order), every node the
/// batch completes and the new root, and requires that the batch carries
/// exactly those nodes and that its checkpoint has that root. A buggy or
/// malicious sequencer therefore cannot store a hash that does not follow
/// from the entries, nor leave a node out (which would make later proofs
/// fail). Costs two SHA-256 per leaf and O(log n) row reads per batch.
/// Returns the batch's nodes sorted by (level, index): contiguous per level,
/// each level continuing where the old tree's ends.
pub(crate) fn verify_batch_tree(
    batch: &Batch,
    edge: &[Hash],
    leaves: &[Hash],
) -> Result<Vec<(NodeId, Hash)>> {
    let mut frontier = Frontier::from_hashes(batch.old_size, edge.to_vec())
        .map_err(|e| StoreError::Database(format!("reading the tree's right edge: {e}")))?;
    let mut expected = Vec::with_capacity(leaves.len() * 2 + 64);
    for leaf in leaves {
        frontier.append_into(*leaf, &mut expected);
    }
    let mut given = batch.nodes.clone();
    given.sort_unstable_by_key(|(id, _)| *id);
    expected.sort_unstable_by_key(|(id, _)| *id);
    if given != expected {
        let detail = match expected.iter().zip(&given).find(|(e, g)| e != g) {
            Some(((id, _), _)) => {
                format!("first difference at level {} index {}", id.level, id.index)
            }
            None => format!("{} nodes given, {} expected", given.len(), expected.len()),
        };
        return Err(StoreError::Conflict(format!(
            "the batch's tree nodes do not follow from its entries' leaf hashes ({detail})"
        )));
    }
    if frontier.root() != batch.checkpoint.root {
        return Err(StoreError::Conflict(
            "the batch's checkpoint root is not the root of the extended tree".into(),
        ));
    }
    Ok(given)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        for all in [SQLITE_MIGRATIONS, POSTGRES_MIGRATIONS] {
            for (i, m) in all.iter().enumerate() {
                assert_eq!(m.version, i as i64 + 1);
                assert!(m.name.starts_with(&format!("{:04}_", m.version)));
            }
        }
        for (current, pending) in [(None, 6), (Some(1), 5), (Some(5), 1), (Some(6), 0)] {
            assert_eq!(
                pending_migrations(SQLITE_MIGRATIONS, current)
                    .unwrap()
                    .len(),
                pending,
                "{current:?}"
            );
        }
        assert!(pending_migrations(SQLITE_MIGRATIONS, Some(7)).is_err());
    }
}
