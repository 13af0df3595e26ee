-- Notarium notary store, SQLite schema v2: entries are written once, and
-- the log is stored as runs of consecutive entries.
--
-- In v1 the sequencer gave each entry its index with an UPDATE by id: an
-- id-index search, a rewrite of the row, and a delete and an insert in the
-- UNIQUE index on `log_index` (which also took a NULL key for every new
-- entry). The embedded store has one writer, which commits both the
-- submissions and the sequencer's batches, so that work delayed every
-- submission.
--
-- With one writer, `seq` (the rowid) grows in commit order, and the
-- sequencer takes the oldest pending entries first, so the sequenced
-- entries are always the entries with the smallest seqs. One row per batch
-- (one per run of consecutive seqs, should the rowids ever have a gap) is
-- therefore enough: entry `seq` with lo_seq <= seq <= hi_seq is leaf
-- first_index + (seq - lo_seq), and the entries after the last run are the
-- pending queue. A database at v1 is converted in place, inside the
-- migration's transaction; the conversion checks itself and fails (leaving
-- v1 as it was) if any sequenced entry would get another index.

CREATE TABLE runs (
    hi_seq      INTEGER PRIMARY KEY,
    lo_seq      INTEGER NOT NULL,
    first_index INTEGER NOT NULL UNIQUE,
    CHECK (lo_seq >= 1 AND lo_seq <= hi_seq AND first_index >= 0)
);

-- In v1 the entries were sequenced in seq order, so log_index - seq is the
-- same along a run of consecutive seqs and changes wherever one ends.
INSERT INTO runs (hi_seq, lo_seq, first_index)
    SELECT max(seq), min(seq), min(log_index)
    FROM entries
    WHERE log_index IS NOT NULL
    GROUP BY log_index - seq;

CREATE TEMP TABLE v2_conversion_check (
    sequenced_in_seq_order INTEGER NOT NULL CHECK (sequenced_in_seq_order = 1)
);
INSERT INTO v2_conversion_check
    SELECT NOT EXISTS (
        SELECT 1
        FROM entries AS e
        WHERE e.log_index IS NOT (
            SELECT CASE WHEN r.lo_seq <= e.seq THEN r.first_index + e.seq - r.lo_seq END
            FROM runs AS r
            WHERE r.hi_seq >= e.seq
            ORDER BY r.hi_seq
            LIMIT 1)
           -- A pending entry older than a sequenced one would never be
           -- sequenced: the queue is what follows the last run.
           OR (e.log_index IS NULL
               AND e.seq < (SELECT max(hi_seq) FROM runs)));
DROP TABLE v2_conversion_check;

-- The same table without `log_index` (SQLite cannot drop a UNIQUE column
-- in place; this is its documented way to change a table's definition).
CREATE TABLE entries_v2 (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    tenant          TEXT NOT NULL REFERENCES tenants (tenant),
    evidence_sha256 BLOB NOT NULL CHECK (length(evidence_sha256) = 32),
    salt            BLOB NOT NULL CHECK (length(salt) = 32),
    metadata        TEXT,
    received_ms     INTEGER NOT NULL,
    leaf_hash       BLOB NOT NULL CHECK (length(leaf_hash) = 32)
);
INSERT INTO entries_v2 (seq, id, tenant, evidence_sha256, salt, metadata, received_ms, leaf_hash)
    SELECT seq, id, tenant, evidence_sha256, salt, metadata, received_ms, leaf_hash
    FROM entries
    ORDER BY seq;
DROP TABLE entries;
ALTER TABLE entries_v2 RENAME TO entries;
-- GET /v1/evidence?sha256=: a tenant's entries with one digest, oldest first.
CREATE INDEX entries_by_evidence ON entries (tenant, evidence_sha256);
