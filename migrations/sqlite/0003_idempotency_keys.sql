-- Notarium notary store, SQLite schema v3: `Idempotency-Key` (contract §9).
-- One row per tenant and key, written in the same transaction as the
-- entries it names (see migrations/postgres/0010_idempotency_keys.sql).
-- `entry_ids` and `receipts` are JSON arrays of strings, in request order.
CREATE TABLE idempotency_keys (
    tenant     TEXT NOT NULL REFERENCES tenants (tenant),
    key        TEXT NOT NULL,
    request    BLOB NOT NULL CHECK (length(request) = 32),
    entry_ids  TEXT NOT NULL,
    receipts   TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);
