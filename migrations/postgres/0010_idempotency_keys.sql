-- Notarium notary store, PostgreSQL schema v10: `Idempotency-Key` (contract
-- §9). One row per tenant and key, written in the same transaction as the
-- entries it names, so a key is either unused or names exactly the entries
-- stored for it: a retry, a concurrent twin, or a request arriving at
-- another front-end finds the row and gets the first answer, never a second
-- copy of the entries.
--
-- `request` is the SHA-256 of the endpoint and request body; `entry_ids`
-- the ids the entries were stored under and `receipts` the receipts first
-- answered for them, both in request order. A key older than the 24-hour
-- window is taken over by the next request that uses it, or deleted by the
-- sequencer's periodic tidying.
CREATE TABLE idempotency_keys (
    tenant     text NOT NULL REFERENCES tenants (tenant),
    key        text NOT NULL,
    request    bytea NOT NULL CHECK (length(request) = 32),
    entry_ids  text[] NOT NULL,
    receipts   text[] NOT NULL,
    created_ms bigint NOT NULL,
    PRIMARY KEY (tenant, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);
