//! The tree, the log's head and checkpoints: node hashes stored 32 to a
//! row (`tree_chunks`, migration 0004), written once per batch after
//! checking them against the batch's leaves; checkpoints, cosignatures
//! and final checkpoints.

use super::connection::{db_err, is, pg_text};
use crate::common::{
    decode_certificates, edge_ids, encode_certificates, node_not_found, to_hash, to_i64, to_u64,
    verify_batch_tree,
};
use crate::{Batch, CheckpointRow, FinalCheckpoint, LogState, Result, StoreError, TimestampToken};
use deadpool_postgres::GenericClient;
use notarium_core::merkle::Hash;
use notarium_log::tree::NodeId;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

fn checkpoint_from_row(row: &Row) -> Result<CheckpointRow> {
    Ok(CheckpointRow {
        size: to_u64(row.get(0), "checkpoint size")?,
        root: to_hash(row.get(1), "checkpoint root")?,
        note: row.get(2),
        created_ms: row.get(3),
    })
}

fn final_from_row(row: &Row) -> Result<FinalCheckpoint> {
    Ok(FinalCheckpoint {
        size: to_u64(row.get(0), "final checkpoint size")?,
        note: row.get(1),
        certificates: decode_certificates(row.get(2))?,
        finalized_ms: row.get(3),
    })
}

pub(super) async fn read_log_state(c: &impl GenericClient) -> Result<LogState> {
    let row = c
        .query_one("SELECT size, root, epoch FROM log_state WHERE id = 1", &[])
        .await
        .map_err(db_err)?;
    Ok(LogState {
        size: to_u64(row.get(0), "log size")?,
        root: to_hash(row.get(1), "log root")?,
        epoch: row.get(2),
    })
}

/// Many node hashes in one round trip, in the order asked.
pub(super) async fn read_nodes(c: &impl GenericClient, ids: &[NodeId]) -> Result<Vec<Hash>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let levels: Vec<i16> = ids.iter().map(|id| i16::from(id.level)).collect();
    let mut idxs = Vec::with_capacity(ids.len());
    for id in ids {
        idxs.push(i64::try_from(id.index).map_err(|_| node_not_found(*id))?);
    }
    // A node past the end of its (partial) chunk reads as an empty string.
    let stmt = c
        .prepare_cached(
            "SELECT substring(c.hashes FROM (t.idx % 32)::int * 32 + 1 FOR 32)
             FROM unnest($1::smallint[], $2::bigint[]) WITH ORDINALITY AS t(level, idx, ord)
             LEFT JOIN tree_chunks c ON c.level = t.level AND c.chunk = t.idx / 32
             ORDER BY t.ord",
        )
        .await
        .map_err(db_err)?;
    let rows = c.query(&stmt, &[&levels, &idxs]).await.map_err(db_err)?;
    if rows.len() != ids.len() {
        return Err(StoreError::Database(format!(
            "asked for {} tree nodes, got {} rows",
            ids.len(),
            rows.len()
        )));
    }
    rows.iter()
        .zip(ids)
        .map(|(row, id)| match row.get::<_, Option<Vec<u8>>>(0) {
            Some(h) if !h.is_empty() => to_hash(h, "tree node hash"),
            _ => Err(node_not_found(*id)),
        })
        .collect()
}

/// The nodes `start..end` of `level`, in order, from the `tree_chunks`
/// rows that hold them (one range search of the primary key).
pub(super) async fn read_level(
    c: &impl GenericClient,
    level: u8,
    start: u64,
    end: u64,
) -> Result<Vec<Hash>> {
    if start >= end {
        return Ok(Vec::new());
    }
    let (first, last) = (start / TREE_CHUNK, (end - 1) / TREE_CHUNK);
    let stmt = c
        .prepare_cached(
            "SELECT chunk, hashes FROM tree_chunks
             WHERE level = $1 AND chunk >= $2 AND chunk <= $3 ORDER BY chunk",
        )
        .await
        .map_err(db_err)?;
    let rows = c
        .query(
            &stmt,
            &[
                &i16::from(level),
                &to_i64(first, "tree chunk")?,
                &to_i64(last, "tree chunk")?,
            ],
        )
        .await
        .map_err(db_err)?;
    // The chunks' hashes end to end, from node `first * TREE_CHUNK`; only
    // the last chunk of a level may be partial.
    let mut bytes = Vec::with_capacity(rows.len() * TREE_CHUNK as usize * 32);
    for (next, row) in (first..).zip(rows.iter()) {
        let chunk = to_u64(row.get(0), "tree chunk")?;
        if chunk != next || bytes.len() as u64 != (chunk - first) * TREE_CHUNK * 32 {
            break;
        }
        bytes.extend_from_slice(row.get::<_, &[u8]>(1));
    }
    let have = first * TREE_CHUNK + bytes.len() as u64 / 32;
    if have < end {
        return Err(node_not_found(NodeId::new(level, have.max(start))));
    }
    let from = ((start - first * TREE_CHUNK) * 32) as usize;
    bytes[from..from + ((end - start) * 32) as usize]
        .chunks_exact(32)
        .map(|h| to_hash(h.to_vec(), "tree node hash"))
        .collect()
}

/// Nodes per row of `tree_chunks` (migration 0004): row (level, chunk)
/// holds the hashes of nodes `chunk * TREE_CHUNK ..` of that level, a
/// contiguous prefix of at most `TREE_CHUNK` of them. The SQL spells the
/// number out.
const TREE_CHUNK: u64 = 32;

/// A batch's new tree nodes as `tree_chunks` writes: per level and chunk,
/// the offset of its first node in the chunk and the concatenated hashes.
/// `nodes` must be sorted by (level, index) and contiguous per level, as
/// [`verify_batch_tree`] returns them; their indexes are below the new log
/// size, which fits an `i64`.
fn chunk_writes(nodes: &[(NodeId, Hash)]) -> (Vec<i16>, Vec<i64>, Vec<i32>, Vec<Vec<u8>>) {
    let (mut levels, mut chunks, mut offsets, mut hashes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::<Vec<u8>>::new());
    for (id, hash) in nodes {
        let (level, chunk) = (i16::from(id.level), (id.index / TREE_CHUNK) as i64);
        if levels.last() != Some(&level) || chunks.last() != Some(&chunk) {
            levels.push(level);
            chunks.push(chunk);
            offsets.push((id.index % TREE_CHUNK) as i32);
            hashes.push(Vec::with_capacity(TREE_CHUNK as usize * 32));
        }
        hashes
            .last_mut()
            .expect("pushed above")
            .extend_from_slice(hash);
    }
    (levels, chunks, offsets, hashes)
}

/// Stores the tree nodes a batch completes, in its transaction, once they
/// are checked to follow from the stored right edge and the leaves of
/// its entries (`leaves`, in index order).
pub(super) async fn write_batch_nodes(
    tx: &impl GenericClient,
    batch: &Batch,
    leaves: &[Hash],
) -> Result<()> {
    let edge = read_nodes(tx, &edge_ids(batch.old_size)).await?;
    let nodes = verify_batch_tree(batch, &edge, leaves)?;
    let (levels, chunks, offsets, hashes) = chunk_writes(&nodes);
    // A chunk starting at offset 0 is new; any other extends the stored
    // chunk, which must end exactly where this one starts.
    let stmt = tx
        .prepare_cached(
            "WITH t AS (
               SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::int[], $4::bytea[])
                 AS t(level, chunk, off, hashes)),
             ext AS (
               UPDATE tree_chunks AS c SET hashes = c.hashes || t.hashes
               FROM t
               WHERE t.off > 0 AND c.level = t.level AND c.chunk = t.chunk
                 AND length(c.hashes) = t.off * 32
               RETURNING 1),
             new AS (
               INSERT INTO tree_chunks (level, chunk, hashes)
               SELECT level, chunk, hashes FROM t WHERE off = 0
               RETURNING 1)
             SELECT (SELECT count(*) FROM ext) + (SELECT count(*) FROM new)",
        )
        .await
        .map_err(db_err)?;
    let written: i64 = tx
        .query_one(&stmt, &[&levels, &chunks, &offsets, &hashes])
        .await
        .map_err(|e| {
            if is(&e, &SqlState::UNIQUE_VIOLATION) {
                StoreError::Conflict(format!("tree node already stored ({})", pg_text(&e)))
            } else {
                db_err(e)
            }
        })?
        .get(0);
    if written != levels.len() as i64 {
        return Err(StoreError::Conflict(
            "the batch's tree nodes do not continue the stored ones".into(),
        ));
    }
    Ok(())
}

/// Stores the batch's checkpoint, in its transaction.
pub(super) async fn insert_checkpoint(tx: &impl GenericClient, cp: &CheckpointRow) -> Result<()> {
    let size = to_i64(cp.size, "checkpoint size")?;
    tx.execute(
        "INSERT INTO checkpoints (size, root, note, created_ms) VALUES ($1, $2, $3, $4)",
        &[&size, &cp.root.as_slice(), &cp.note, &cp.created_ms],
    )
    .await
    .map_err(|e| {
        if is(&e, &SqlState::UNIQUE_VIOLATION) {
            StoreError::Conflict(format!("checkpoint {} is already stored", cp.size))
        } else {
            db_err(e)
        }
    })?;
    Ok(())
}

pub(super) async fn latest_checkpoint(
    client: &impl GenericClient,
) -> Result<Option<CheckpointRow>> {
    let row = client
        .query_opt(
            "SELECT size, root, note, created_ms FROM checkpoints ORDER BY size DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(db_err)?;
    row.as_ref().map(checkpoint_from_row).transpose()
}

pub(super) async fn checkpoint(
    client: &impl GenericClient,
    size: u64,
) -> Result<Option<CheckpointRow>> {
    let Ok(size) = i64::try_from(size) else {
        return Ok(None);
    };
    let stmt = client
        .prepare_cached("SELECT size, root, note, created_ms FROM checkpoints WHERE size = $1")
        .await
        .map_err(db_err)?;
    let row = client.query_opt(&stmt, &[&size]).await.map_err(db_err)?;
    row.as_ref().map(checkpoint_from_row).transpose()
}

pub(super) async fn add_cosignature(
    client: &impl GenericClient,
    size: u64,
    witness: &str,
    line: &str,
    timestamp: u64,
) -> Result<()> {
    let size_i = to_i64(size, "checkpoint size")?;
    let timestamp = to_i64(timestamp, "cosignature timestamp")?;
    match client
        .execute(
            "INSERT INTO cosignatures (size, witness, line, timestamp) VALUES ($1, $2, $3, $4)
             ON CONFLICT (size, witness)
             DO UPDATE SET line = excluded.line, timestamp = excluded.timestamp",
            &[&size_i, &witness, &line, &timestamp],
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is(&e, &SqlState::FOREIGN_KEY_VIOLATION) => {
            Err(StoreError::NotFound(format!("checkpoint {size}")))
        }
        Err(e) => Err(db_err(e)),
    }
}

pub(super) async fn cosignatures(
    client: &impl GenericClient,
    size: u64,
) -> Result<Vec<(String, String)>> {
    let Ok(size) = i64::try_from(size) else {
        return Ok(Vec::new());
    };
    let rows = client
        .query(
            "SELECT witness, line FROM cosignatures WHERE size = $1 ORDER BY witness",
            &[&size],
        )
        .await
        .map_err(db_err)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

pub(super) async fn finalize(client: &impl GenericClient, fin: &FinalCheckpoint) -> Result<()> {
    let size = to_i64(fin.size, "final checkpoint size")?;
    let certificates = encode_certificates(&fin.certificates)?;
    match client
        .execute(
            "INSERT INTO final_checkpoints (size, note, certificates, finalized_ms)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (size) DO NOTHING",
            &[&size, &fin.note, &certificates, &fin.finalized_ms],
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is(&e, &SqlState::FOREIGN_KEY_VIOLATION) => {
            Err(StoreError::NotFound(format!("checkpoint {}", fin.size)))
        }
        Err(e) => Err(db_err(e)),
    }
}

pub(super) async fn latest_final(client: &impl GenericClient) -> Result<Option<FinalCheckpoint>> {
    let row = client
        .query_opt(
            "SELECT size, note, certificates, finalized_ms FROM final_checkpoints
             ORDER BY size DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(db_err)?;
    row.as_ref().map(final_from_row).transpose()
}

pub(super) async fn add_timestamp_token(
    client: &impl GenericClient,
    t: &TimestampToken,
) -> Result<()> {
    let size = to_i64(t.size, "final checkpoint size")?;
    match client
        .execute(
            "INSERT INTO timestamp_tokens (size, tsa, token, gen_time, stored_ms)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (size, tsa) DO NOTHING",
            &[&size, &t.tsa, &t.token, &t.gen_time, &t.stored_ms],
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is(&e, &SqlState::FOREIGN_KEY_VIOLATION) => {
            Err(StoreError::NotFound(format!("final checkpoint {}", t.size)))
        }
        Err(e) => Err(db_err(e)),
    }
}

pub(super) async fn timestamp_tokens(
    client: &impl GenericClient,
    size: u64,
) -> Result<Vec<TimestampToken>> {
    let Ok(size) = i64::try_from(size) else {
        return Ok(Vec::new());
    };
    let stmt = client
        .prepare_cached(
            "SELECT size, tsa, token, gen_time, stored_ms FROM timestamp_tokens
             WHERE size = $1 ORDER BY tsa",
        )
        .await
        .map_err(db_err)?;
    let rows = client.query(&stmt, &[&size]).await.map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(TimestampToken {
                size: to_u64(r.get(0), "timestamp token size")?,
                tsa: r.get(1),
                token: r.get(2),
                gen_time: r.get(3),
                stored_ms: r.get(4),
            })
        })
        .collect()
}

pub(super) async fn seal_token(
    client: &impl GenericClient,
    imprint: &Hash,
) -> Result<Option<Vec<u8>>> {
    let stmt = client
        .prepare_cached("SELECT token FROM seal_tokens WHERE imprint = $1")
        .await
        .map_err(db_err)?;
    let row = client
        .query_opt(&stmt, &[&imprint.as_slice()])
        .await
        .map_err(db_err)?;
    Ok(row.map(|r| r.get(0)))
}

pub(super) async fn first_final_lacking_tokens(
    client: &impl GenericClient,
    after: u64,
    through: u64,
    required: usize,
) -> Result<Option<FinalCheckpoint>> {
    // No size exceeds i64::MAX: clamp the bounds into range.
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let through = i64::try_from(through).unwrap_or(i64::MAX);
    let required = i64::try_from(required).unwrap_or(i64::MAX);
    let stmt = client
        .prepare_cached(
            "SELECT size, note, certificates, finalized_ms FROM final_checkpoints f
             WHERE size > $1 AND size <= $2
               AND (SELECT count(*) FROM timestamp_tokens t WHERE t.size = f.size) < $3
             ORDER BY size ASC LIMIT 1",
        )
        .await
        .map_err(db_err)?;
    let row = client
        .query_opt(&stmt, &[&after, &through, &required])
        .await
        .map_err(db_err)?;
    row.as_ref().map(final_from_row).transpose()
}

pub(super) async fn first_final_covering(
    client: &impl GenericClient,
    index: u64,
) -> Result<Option<FinalCheckpoint>> {
    // A tree of size n covers leaves 0..n; no size exceeds i64::MAX.
    let Ok(index) = i64::try_from(index) else {
        return Ok(None);
    };
    let stmt = client
        .prepare_cached(
            "SELECT size, note, certificates, finalized_ms FROM final_checkpoints
             WHERE size > $1 ORDER BY size ASC LIMIT 1",
        )
        .await
        .map_err(db_err)?;
    let row = client.query_opt(&stmt, &[&index]).await.map_err(db_err)?;
    row.as_ref().map(final_from_row).transpose()
}
