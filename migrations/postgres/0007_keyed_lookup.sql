-- Notarium notary store, PostgreSQL schema v7: the digest lookup keyed by
-- a 64-bit integer.
--
-- Up to v6 the sequencer inserted one `lookup` row per entry (tenant,
-- digest, seq, id) into an index on (tenant, evidence_sha256, seq): a
-- random key of about 60 bytes, compared as text and bytea at every step
-- down the tree. Measured on the 2-core test machine, that index insert
-- cost PostgreSQL 5-6 µs per entry, a third of all it spent per batched
-- digest (docs/benchmarks.md, run 11).
--
-- Now an entry's lookup row is (key, seq, id) in `keyed_lookup`, indexed
-- on `key` alone: the first 8 bytes, read as a big-endian signed integer,
-- of SHA-256(tenant || 0x0A || digest), computed by the notary. The index
-- holds 8-byte integers (index entries of 16 bytes instead of about 64),
-- and a lookup re-checks tenant and digest on the entry itself, so two
-- entries with one key are told apart. The tenant is in the hash so that
-- a tenant who submits many digests sharing one key slows only its own
-- lookups. `keyed_lookup` is partitioned by `seq` like `lookup` (2^20
-- entries per partition, `keyed_lookup_<n>`, created by the sequencer).
--
-- `lookup` keeps the rows of entries sequenced before this migration and
-- gets no new ones; a lookup reads both tables. The queue's groups carry
-- their entries' keys instead of their tenants and digests (a pending
-- entry's tenant and digest are read from the entry), computed here for
-- the groups waiting at the upgrade with the same formula.

ALTER TABLE pending_groups ADD COLUMN keys bigint[];
UPDATE pending_groups AS g
SET keys = (
    SELECT array_agg(
             ('x' || encode(substring(
                 sha256(convert_to(u.tenant, 'UTF8') || '\x0a'::bytea || u.ev)
                 FROM 1 FOR 8), 'hex'))::bit(64)::bigint
             ORDER BY u.slot)
    FROM unnest(g.tenants, g.evidence) WITH ORDINALITY AS u(tenant, ev, slot));
ALTER TABLE pending_groups
    ALTER COLUMN keys SET NOT NULL,
    ALTER COLUMN keys SET STORAGE EXTERNAL,
    DROP COLUMN tenants,
    DROP COLUMN evidence;

CREATE TABLE keyed_lookup (
    key bigint NOT NULL,
    seq bigint NOT NULL,
    id  text NOT NULL
) PARTITION BY RANGE (seq);
CREATE INDEX keyed_lookup_by_key ON keyed_lookup (key);
