-- Notarium notary store, PostgreSQL schema v8: one row per commit group
-- for the entries themselves, and ids that name the group.
--
-- Up to v7 every submission inserted an `entries` row: a heap tuple of
-- about 250 bytes and a key in the primary-key index on its random id,
-- the one index still written at random on the commit path. Measured
-- with pgbench on the 2-core test machine (docs/benchmarks.md, run 13),
-- the same groups committed 1.6 times (groups of 33) to 1.8 times
-- (groups of 100) as fast as one `entry_groups` row per group.
--
-- Now a group commit inserts one `entry_groups` row holding its entries
-- in slot order: fixed-size fields concatenated (`nonces` 7 bytes per
-- entry, `evidence`, `salts` and `leaf_hashes` 32 bytes per entry), the
-- others as arrays. The row is never updated. Its values are stored out
-- of line and uncompressed (STORAGE EXTERNAL): they do not compress, and
-- an entry's slice is then read without reading the whole group.
--
-- An entry's id names where it is: 32 lowercase hex characters, the
-- group (6 bytes, below 2^40), the slot (3 bytes) and the nonce (7 random
-- bytes, kept in the group row and checked on every read), all
-- big-endian. Ids given out before v8 start with a 48-bit millisecond
-- time since 2004, that is at or above 2^40, so the two kinds never
-- coincide; they stay in `entries` and are read there.
--
-- The queue's row of a v8 group holds its lookup keys only (the ids and
-- leaf hashes are read from the group row): `seqs`, `ids`, `leaf_hashes`,
-- `min_seq` and `max_seq` are kept for the groups waiting at the
-- upgrade, whose entries are in `entries`.
--
-- A sequenced v8 entry's lookup row is (key, log index) in `group_lookup`,
-- partitioned by the index (2^20 per partition, `group_lookup_<n>`,
-- created by the sequencer); its group and slot follow from
-- `group_positions`. `keyed_lookup` gets rows only for the groups that
-- waited at the upgrade.

CREATE TABLE entry_groups (
    -- The queue's group number (pending_groups_grp_seq).
    grp         bigint PRIMARY KEY CHECK (grp >= 0 AND grp < 1099511627776),
    n           integer NOT NULL CHECK (n > 0 AND n < 16777216),
    tenants     text[] NOT NULL CHECK (cardinality(tenants) = n),
    nonces      bytea NOT NULL CHECK (length(nonces) = 7 * n),
    evidence    bytea NOT NULL CHECK (length(evidence) = 32 * n),
    salts       bytea NOT NULL CHECK (length(salts) = 32 * n),
    -- NULL where an entry has no metadata.
    metadata    text[] NOT NULL CHECK (cardinality(metadata) = n),
    received_ms bigint[] NOT NULL CHECK (cardinality(received_ms) = n),
    leaf_hashes bytea NOT NULL CHECK (length(leaf_hashes) = 32 * n)
);
ALTER TABLE entry_groups
    ALTER COLUMN tenants SET STORAGE EXTERNAL,
    ALTER COLUMN nonces SET STORAGE EXTERNAL,
    ALTER COLUMN evidence SET STORAGE EXTERNAL,
    ALTER COLUMN salts SET STORAGE EXTERNAL,
    ALTER COLUMN metadata SET STORAGE EXTERNAL,
    ALTER COLUMN received_ms SET STORAGE EXTERNAL,
    ALTER COLUMN leaf_hashes SET STORAGE EXTERNAL;

ALTER TABLE pending_groups
    ALTER COLUMN min_seq DROP NOT NULL,
    ALTER COLUMN max_seq DROP NOT NULL,
    ALTER COLUMN seqs DROP NOT NULL,
    ALTER COLUMN ids DROP NOT NULL,
    ALTER COLUMN leaf_hashes DROP NOT NULL;

CREATE TABLE group_lookup (
    key bigint NOT NULL,
    idx bigint NOT NULL CHECK (idx >= 0)
) PARTITION BY RANGE (idx);
CREATE INDEX group_lookup_by_key ON group_lookup (key);
-- A queue row is either a v8 group's (no arrays but the keys) or one that
-- waited at the upgrade (all of them). Checked on every update of `done`,
-- which costs nothing: no array is read.
ALTER TABLE pending_groups ADD CONSTRAINT pending_groups_kind CHECK (
    (ids IS NULL) = (seqs IS NULL) AND (ids IS NULL) = (leaf_hashes IS NULL)
    AND (ids IS NULL) = (min_seq IS NULL) AND (ids IS NULL) = (max_seq IS NULL));
