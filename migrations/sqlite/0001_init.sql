-- Notarium notary store, SQLite schema v1.
--
-- Applied by notarium_store::sqlite::SqliteStore::migrate inside one
-- transaction, recorded in schema_migrations. Sized for 10^8 entries: every
-- hot-path query is a primary-key or index lookup, never a table scan.
-- Hashes, salts and API key digests are 32-byte BLOBs; times are Unix
-- milliseconds; log sizes and indexes are INTEGER (< 2^63).

CREATE TABLE tenants (
    tenant     TEXT PRIMARY KEY NOT NULL,
    created_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Only the SHA-256 of an API key is stored (keys are 256-bit random).
CREATE TABLE api_keys (
    key_hash   BLOB PRIMARY KEY NOT NULL CHECK (length(key_hash) = 32),
    tenant     TEXT NOT NULL REFERENCES tenants (tenant),
    created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX api_keys_by_tenant ON api_keys (tenant);

-- One row per submission. `seq` is the rowid alias: rows are clustered in
-- submission order (appends go to the right edge of the B-tree, and the
-- pending queue is read in that order). `id` is the entry's key for every
-- lookup, enforced UNIQUE NOT NULL: the same guarantee as a PRIMARY KEY, but
-- a random 128-bit id as the clustering key would scatter 10^8 inserts
-- across the whole table. `log_index` is NULL until the entry is sequenced;
-- UNIQUE allows many NULLs.
CREATE TABLE entries (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    tenant          TEXT NOT NULL REFERENCES tenants (tenant),
    evidence_sha256 BLOB NOT NULL CHECK (length(evidence_sha256) = 32),
    salt            BLOB NOT NULL CHECK (length(salt) = 32),
    metadata        TEXT,
    received_ms     INTEGER NOT NULL,
    leaf_hash       BLOB NOT NULL CHECK (length(leaf_hash) = 32),
    log_index       INTEGER UNIQUE CHECK (log_index >= 0)
);
-- GET /v1/evidence?sha256=: a tenant's entries with one digest, oldest
-- first (the index also holds the rowid, so the order costs no sort).
CREATE INDEX entries_by_evidence ON entries (tenant, evidence_sha256);
-- The sequencer's queue needs no index of its own here: SQLite's index for
-- UNIQUE (log_index) keeps every pending row (NULL key) together at its left
-- edge, ordered by rowid = seq, so `WHERE log_index IS NULL ORDER BY seq
-- LIMIT n` is a range read of n index rows and the pending count reads only
-- the pending rows (EXPLAIN QUERY PLAN: SEARCH ... USING INDEX
-- sqlite_autoindex_entries_2 (log_index=?), no sort). The planner prefers
-- that index even when a partial index `(seq) WHERE log_index IS NULL`
-- exists, which would then only cost writes. (PostgreSQL has that partial
-- index: its planner uses it.)

-- Every perfect subtree hash of the log (about 2 rows per leaf), immutable.
-- A proof reads O(log n) rows by primary key.
CREATE TABLE tree_nodes (
    level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    hash  BLOB NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- Checkpoints signed by the notary, one per sequenced batch, immutable.
CREATE TABLE checkpoints (
    size       INTEGER PRIMARY KEY CHECK (size > 0),
    root       BLOB NOT NULL CHECK (length(root) = 32),
    note       TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

-- Witness cosignature lines per checkpoint (a witness's line may be replaced).
CREATE TABLE cosignatures (
    size      INTEGER NOT NULL REFERENCES checkpoints (size),
    witness   TEXT NOT NULL,
    line      TEXT NOT NULL,
    timestamp INTEGER NOT NULL CHECK (timestamp >= 0),
    PRIMARY KEY (size, witness)
) WITHOUT ROWID;

-- Checkpoints whose cosignatures satisfy the policy: frozen once written.
-- `certificates` is a JSON array of PEM strings.
CREATE TABLE final_checkpoints (
    size         INTEGER PRIMARY KEY REFERENCES checkpoints (size),
    note         TEXT NOT NULL,
    certificates TEXT NOT NULL,
    finalized_ms INTEGER NOT NULL
);

-- The log head and the sequencer epoch: exactly one row.
CREATE TABLE log_state (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    size  INTEGER NOT NULL CHECK (size >= 0),
    root  BLOB NOT NULL CHECK (length(root) = 32),
    epoch INTEGER NOT NULL
);
-- The empty tree: RFC 9162 MTH({}) = SHA-256("").
INSERT INTO log_state (id, size, root, epoch)
VALUES (1, 0, X'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 0);
