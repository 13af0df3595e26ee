-- Notarium notary store, PostgreSQL schema v5: the pending queue and the
-- entries' log positions hold one row per commit group instead of one row
-- per entry.
--
-- Up to v4 every submission inserted a `pending` row (with a primary key,
-- a unique id and a digest index: three index entries) and the sequencer
-- deleted it again: about a third of PostgreSQL's work per entry, for a
-- row that lives half a second. Now a group commit inserts its entries
-- and ONE pending_groups row carrying the group's entries as arrays, in
-- slot order (the order they were submitted in). The sequencer takes groups in `grp` order and
-- the entries of each group front to back: `done` counts those already
-- sequenced (a group larger than a batch is sequenced over several
-- batches); the row is deleted when the last is.
--
-- The arrays are stored out of line and uncompressed (STORAGE EXTERNAL):
-- digests, salts and hashes do not compress, and updating `done` keeps the
-- stored arrays as they are.
--
-- Looking up a pending entry by digest reads the queue's rows (the queue
-- holds seconds of submissions), not an index.
--
-- Positions: an entry now records its group and its slot in it (`grp`,
-- `slot`), and a batch writes one group_positions row per run of a group
-- it sequences (slots lo .. hi - 1 got indices first_index ..), instead
-- of a `positions` row (with two index entries) per entry. Entries
-- sequenced before v5 keep their `positions` rows and have no group.

CREATE TABLE pending_groups (
    -- The sequence is named so that a commit takes its group number with
    -- nextval('pending_groups_grp_seq'), resolved once per prepared
    -- statement, before inserting the group's entries.
    grp         bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME pending_groups_grp_seq)
                PRIMARY KEY,
    n           integer NOT NULL CHECK (n > 0),
    done        integer NOT NULL DEFAULT 0,
    -- The smallest and largest of `seqs` (the sequencer creates the digest
    -- lookup's partitions for them without reading the arrays).
    min_seq     bigint NOT NULL,
    max_seq     bigint NOT NULL,
    seqs        bigint[] NOT NULL,
    ids         text[] NOT NULL,
    tenants     text[] NOT NULL,
    evidence    bytea[] NOT NULL,
    leaf_hashes bytea[] NOT NULL,
    -- Each array has n elements, written by one statement. No CHECK says
    -- so: checks run again on every UPDATE of `done`, and this one would
    -- read every array back.
    CHECK (done >= 0 AND done < n)
);
ALTER TABLE pending_groups
    ALTER COLUMN seqs SET STORAGE EXTERNAL,
    ALTER COLUMN ids SET STORAGE EXTERNAL,
    ALTER COLUMN tenants SET STORAGE EXTERNAL,
    ALTER COLUMN evidence SET STORAGE EXTERNAL,
    ALTER COLUMN leaf_hashes SET STORAGE EXTERNAL;

ALTER TABLE entries ADD COLUMN grp bigint, ADD COLUMN slot integer CHECK (slot >= 0);

CREATE TABLE group_positions (
    grp         bigint NOT NULL,
    lo          integer NOT NULL CHECK (lo >= 0),
    hi          integer NOT NULL,
    first_index bigint NOT NULL UNIQUE CHECK (first_index >= 0),
    PRIMARY KEY (grp, lo),
    CHECK (hi > lo)
);

-- Entries waiting at the upgrade become groups of one, in their order.
INSERT INTO pending_groups (n, min_seq, max_seq, seqs, ids, tenants, evidence, leaf_hashes)
    SELECT 1, seq, seq, ARRAY[seq], ARRAY[id], ARRAY[tenant], ARRAY[evidence_sha256], ARRAY[leaf_hash]
    FROM pending
    ORDER BY seq;
UPDATE entries AS e SET grp = g.grp, slot = 0
    FROM pending_groups AS g
    WHERE e.seq = g.min_seq;

DROP TABLE pending;
