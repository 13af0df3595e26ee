-- Notarium notary store, PostgreSQL schema v4: tree nodes stored 32 to a
-- row.
--
-- Up to v3 every node of the Merkle tree was a row of tree_nodes (level,
-- idx, hash): about two rows and two primary-key entries per log entry, the
-- largest share of the sequencer's writes, and at 10^7 entries a 2 GB table
-- whose pages proofs read one node at a time.
--
-- Now row (level, chunk) holds the hashes of nodes chunk * 32 .. chunk * 32
-- + 31 of that level, concatenated in index order (32 bytes each). Nodes of
-- a level are only ever added at its right end, contiguously, so a chunk is
-- a prefix of those 32 nodes: the sequencer inserts full chunks and appends
-- to the one partial chunk per level, checking in the same statement that it
-- appends exactly where the stored chunk ends. One row per 16 log entries
-- instead of two, and a proof's nodes of one level come from one row.
--
-- tree_nodes stays as a view with its old columns, for operators' queries.

CREATE TABLE tree_chunks (
    level  smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
    chunk  bigint NOT NULL CHECK (chunk >= 0),
    hashes bytea NOT NULL
        CHECK (length(hashes) BETWEEN 32 AND 32 * 32 AND length(hashes) % 32 = 0),
    PRIMARY KEY (level, chunk)
);

INSERT INTO tree_chunks (level, chunk, hashes)
    SELECT level, idx / 32, string_agg(hash, ''::bytea ORDER BY idx)
    FROM tree_nodes
    GROUP BY level, idx / 32;

-- Every level was contiguous from index 0, so each chunk must be too.
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM (
            SELECT level, count(*) AS n, max(idx) AS top FROM tree_nodes GROUP BY level
        ) AS l
        WHERE l.n <> l.top + 1
    ) THEN
        RAISE EXCEPTION 'tree_nodes has a gap: a level is not contiguous from index 0';
    END IF;
END
$$;

DROP TABLE tree_nodes;

CREATE VIEW tree_nodes AS
    SELECT c.level, c.chunk * 32 + s.i AS idx, substring(c.hashes FROM s.i * 32 + 1 FOR 32) AS hash
    FROM tree_chunks AS c,
         LATERAL generate_series(0, length(c.hashes) / 32 - 1) AS s(i);
