-- Notarium notary store, PostgreSQL schema v2: sequencing without rewriting
-- entries.
--
-- In v1 the sequencer gave each entry its index with an UPDATE. log_index is
-- indexed, so that UPDATE wrote a second version of every entry row and a
-- second entry in each of its indexes, and left the first as a dead row for
-- VACUUM; with 10^7 entries the bloat cost a fifth of the submission rate
-- (docs/benchmarks.md). Now entries are written once and never changed:
-- the queue of entries waiting for an index is its own small table (rows are
-- deleted when sequenced, so it stays as small as the backlog), and each
-- index given is a new row in `positions`. A database at v1 is converted in
-- place, within the migration's transaction.

CREATE TABLE pending (
    seq       bigint PRIMARY KEY,
    id        text NOT NULL UNIQUE,
    leaf_hash bytea NOT NULL CHECK (length(leaf_hash) = 32)
);

-- The log: entry `seq` is leaf `log_index`. Written once per entry, in the
-- sequencer's batch transaction; UNIQUE (log_index) makes a second entry at
-- one index impossible whatever the code above does.
CREATE TABLE positions (
    seq       bigint PRIMARY KEY,
    log_index bigint NOT NULL UNIQUE CHECK (log_index >= 0)
);

INSERT INTO pending (seq, id, leaf_hash)
    SELECT seq, id, leaf_hash FROM entries WHERE log_index IS NULL;
INSERT INTO positions (seq, log_index)
    SELECT seq, log_index FROM entries WHERE log_index IS NOT NULL;
DROP INDEX entries_pending;
ALTER TABLE entries DROP COLUMN log_index;
