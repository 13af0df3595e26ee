-- Notarium notary store, SQLite schema v5 (see migrations/postgres/
-- 0012_seal_tokens.sql): RFC 3161 tokens over the PDF seal's signatures.
CREATE TABLE seal_tokens (
    imprint   BLOB PRIMARY KEY,
    token     BLOB NOT NULL,
    stored_ms INTEGER NOT NULL
) WITHOUT ROWID;
