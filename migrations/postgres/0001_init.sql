-- Notarium notary store, PostgreSQL schema v1.
--
-- Applied by notarium_store::postgres::PostgresStore::migrate inside one
-- transaction (serialised between processes by an advisory lock), recorded
-- in schema_migrations. Sized for 10^8 entries: every hot-path query is a
-- primary-key or index lookup, never a sequential scan. Hashes, salts and
-- API key digests are 32-byte bytea; times are Unix milliseconds; log sizes
-- and indexes are bigint (< 2^63).

CREATE TABLE tenants (
    tenant     text PRIMARY KEY,
    created_ms bigint NOT NULL
);

-- Only the SHA-256 of an API key is stored (keys are 256-bit random).
CREATE TABLE api_keys (
    key_hash   bytea PRIMARY KEY CHECK (length(key_hash) = 32),
    tenant     text NOT NULL REFERENCES tenants (tenant),
    created_ms bigint NOT NULL
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant);

-- One row per submission. `seq` records submission order for the pending
-- queue (identity values are handed out at insert time; a batch inserted in
-- one statement gets consecutive, ordered values). `log_index` is NULL until
-- the entry is sequenced; UNIQUE allows many NULLs.
CREATE TABLE entries (
    id              text PRIMARY KEY,
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    tenant          text NOT NULL REFERENCES tenants (tenant),
    evidence_sha256 bytea NOT NULL CHECK (length(evidence_sha256) = 32),
    salt            bytea NOT NULL CHECK (length(salt) = 32),
    metadata        text,
    received_ms     bigint NOT NULL,
    leaf_hash       bytea NOT NULL CHECK (length(leaf_hash) = 32),
    log_index       bigint UNIQUE CHECK (log_index >= 0)
);
-- GET /v1/evidence?sha256=: a tenant's entries with one digest, oldest first.
CREATE INDEX entries_by_evidence ON entries (tenant, evidence_sha256, seq);
-- The sequencer's queue: only pending rows are in it, so it stays as small
-- as the backlog however large the log grows.
CREATE INDEX entries_pending ON entries (seq) WHERE log_index IS NULL;

-- Every perfect subtree hash of the log (about 2 rows per leaf), immutable.
-- A proof reads O(log n) rows by primary key.
CREATE TABLE tree_nodes (
    level smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
    idx   bigint NOT NULL CHECK (idx >= 0),
    hash  bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

-- Checkpoints signed by the notary, one per sequenced batch, immutable.
CREATE TABLE checkpoints (
    size       bigint PRIMARY KEY CHECK (size > 0),
    root       bytea NOT NULL CHECK (length(root) = 32),
    note       text NOT NULL,
    created_ms bigint NOT NULL
);

-- Witness cosignature lines per checkpoint (a witness's line may be replaced).
CREATE TABLE cosignatures (
    size      bigint NOT NULL REFERENCES checkpoints (size),
    witness   text NOT NULL,
    line      text NOT NULL,
    timestamp bigint NOT NULL CHECK (timestamp >= 0),
    PRIMARY KEY (size, witness)
);

-- Checkpoints whose cosignatures satisfy the policy: frozen once written.
-- `certificates` is a JSON array of PEM strings, kept as text so that the
-- bytes read back are exactly the bytes written.
CREATE TABLE final_checkpoints (
    size         bigint PRIMARY KEY REFERENCES checkpoints (size),
    note         text NOT NULL,
    certificates text NOT NULL,
    finalized_ms bigint NOT NULL
);

-- The log head and the sequencer epoch: exactly one row.
CREATE TABLE log_state (
    id    smallint PRIMARY KEY CHECK (id = 1),
    size  bigint NOT NULL CHECK (size >= 0),
    root  bytea NOT NULL CHECK (length(root) = 32),
    epoch bigint NOT NULL
);
-- The empty tree: RFC 9162 MTH({}) = SHA-256("").
INSERT INTO log_state (id, size, root, epoch)
VALUES (1, 0, '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::bytea, 0);
