-- Notarium notary store, PostgreSQL schema v3: the digest lookup off the
-- submission's commit path, in partitions of bounded size.
--
-- GET /v1/evidence?sha256= finds a tenant's entries by evidence digest. In
-- v2 that lookup was the index entries (tenant, evidence_sha256, seq). Its
-- key is a random digest, so every submission's durable commit inserted into
-- a random page of one index as large as the log (about 600 MB at 6 million
-- entries). Past the buffer pool, nearly every insert evicted a dirty page
-- and, after each checkpoint, logged a full-page image: the rate at 10^7
-- entries fell to 0.64-0.82 of the empty log's (docs/benchmarks.md).
--
-- Now an entry is found where it is:
-- - while it waits for an index, through the pending queue's own digest
--   index (as small as the backlog, so it stays in memory);
-- - once sequenced, through `lookup`, which the sequencer fills in its batch
--   transaction, in digest order. `lookup` is partitioned by `seq` in ranges
--   of 2^20 entries, each partition with its own digest index, so inserts
--   only ever touch the newest partitions' indexes (about 100 MB at most)
--   however large the log grows. A lookup probes every partition's index:
--   about 100 small index probes at 10^8 entries. The sequencer creates a
--   partition in the batch that first needs it.
-- The move from the queue to `lookup` happens inside the batch's
-- transaction, so a lookup (one statement, one snapshot) sees every entry
-- exactly once.

ALTER TABLE pending ADD COLUMN tenant text, ADD COLUMN evidence_sha256 bytea;
UPDATE pending AS q SET tenant = e.tenant, evidence_sha256 = e.evidence_sha256
    FROM entries AS e WHERE e.id = q.id;
ALTER TABLE pending
    ALTER COLUMN tenant SET NOT NULL,
    ALTER COLUMN evidence_sha256 SET NOT NULL;
CREATE INDEX pending_by_evidence ON pending (tenant, evidence_sha256, seq);

CREATE TABLE lookup (
    tenant          text NOT NULL,
    evidence_sha256 bytea NOT NULL CHECK (length(evidence_sha256) = 32),
    seq             bigint NOT NULL,
    id              text NOT NULL
) PARTITION BY RANGE (seq);
CREATE INDEX lookup_by_evidence ON lookup (tenant, evidence_sha256, seq);

-- Partition n holds seq in [n * 2^20, (n + 1) * 2^20), named lookup_<n>.
DO $$
BEGIN
    FOR n IN 0 .. (SELECT coalesce(max(seq), 0) FROM positions) / 1048576 LOOP
        EXECUTE format(
            'CREATE TABLE lookup_%s PARTITION OF lookup FOR VALUES FROM (%s) TO (%s)',
            n, n::bigint * 1048576, (n::bigint + 1) * 1048576);
    END LOOP;
END
$$;
INSERT INTO lookup (tenant, evidence_sha256, seq, id)
    SELECT e.tenant, e.evidence_sha256, e.seq, e.id
    FROM positions AS p JOIN entries AS e USING (seq)
    ORDER BY e.seq;

DROP INDEX entries_by_evidence;
