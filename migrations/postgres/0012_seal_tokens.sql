-- Notarium notary store, PostgreSQL schema v12: RFC 3161 tokens over the
-- PDF seal's signatures (PAdES B-T, docs/operations.md "The PDF seal").
-- Rendering is deterministic, so the seal's signature value over a
-- certificate's PDF, and the imprint a TSA timestamps (SHA-256 of that
-- value), are the same on every download: the first token checked for an
-- imprint is kept here and reused, so the PDF a judge downloads after a
-- restart is the same file, byte for byte, as before it. A second token for
-- the same imprint is ignored (the first is kept).
--
-- `token` is the DER TimeStampToken the seal embeds.
CREATE TABLE seal_tokens (
    imprint   bytea PRIMARY KEY,
    token     bytea NOT NULL,
    stored_ms bigint NOT NULL
);
