-- Notarium notary store, SQLite schema v4: RFC 3161 timestamp tokens over
-- final checkpoints (see migrations/postgres/0011_timestamp_tokens.sql).
CREATE TABLE timestamp_tokens (
    size      INTEGER NOT NULL REFERENCES final_checkpoints (size),
    tsa       TEXT NOT NULL,
    token     BLOB NOT NULL,
    gen_time  INTEGER NOT NULL,
    stored_ms INTEGER NOT NULL,
    PRIMARY KEY (size, tsa)
) WITHOUT ROWID;
