-- Notarium notary store, PostgreSQL schema v9: one format for every entry.
--
-- Schema v8 (migration 0008) stored the commit groups written from then
-- on in one `entry_groups` row each, and left what came before where it
-- was: entries in `entries` (found by their ids), their log positions in
-- `positions` (sequenced before v5) or `group_positions`, their digest
-- lookup rows in `lookup` (sequenced before v7) or `keyed_lookup`, and
-- the groups waiting at the upgrade in the queue's old arrays. The store
-- read both formats in every query.
--
-- This migration moves everything stored before v8 into the v8 form, in
-- its one transaction, so that the store reads one format:
-- - each v5-v7 commit group (`entries.grp`, `entries.slot`) becomes an
--   `entry_groups` row with the same number and its entries in the same
--   slots;
-- - the entries sequenced before v5, which have no group, become groups of
--   at most 64 entries in log order (entry with log index i, counted from
--   the first such entry's, in group i / 64, slot i % 64), numbered from
--   the queue's sequence after every number handed out so far, each
--   group with one `group_positions` run: no log index changes;
-- - every sequenced entry moved gets its `group_lookup` row (key, log
--   index), the key computed from tenant and digest as migration 0007
--   and the store compute it (`lookup` and `keyed_lookup` held the same
--   entries; they are not read);
-- - the queue rows of the groups that waited at the v8 upgrade keep only
--   their lookup keys, like every v8 group's: their ids and leaf hashes
--   are read from their new `entry_groups` rows.
--
-- Ids given out before v8 (a 48-bit millisecond time at or above 2^40,
-- then random bits) do not name a group and slot, and clients hold them.
-- The groups made from such entries keep them: `entry_groups.legacy_ids`
-- holds each entry's id as 16 bytes, in slot order (NULL in v8 groups),
-- so that an entry reads back under the id its client was given; and
-- `legacy_id_slots` maps each such id to its group and slot, the one
-- place where the store resolves an id of that form. The nonce of a
-- moved entry is its id's last 7 bytes, as for every entry. An id is of
-- one form or the other by its first 48 bits alone: below 2^40 a v8 id,
-- at or above it an id given out before v8.
--
-- Then `entries`, `positions`, `lookup`, `keyed_lookup` and the queue's
-- old columns are dropped. Nothing else is touched: log indices, leaf
-- hashes, the tree (`tree_chunks`), checkpoints, cosignatures and final
-- checkpoints stay as they are, so every root and certificate stays
-- byte-identical.
--
-- The migration refuses, and leaves the database as it was, if an id
-- given out before v8 is not 32 lowercase hex characters starting at or
-- above 2^40 (no Notarium version gave out such an id; it could not be
-- told from a v8 id), if an entry sequenced before v5 has no position,
-- or if a group's slots or a waiting group's queue row disagree with its
-- entries.
--
-- It takes time in proportion to the entries stored before v8 (each is
-- read once and written once, with its lookup row and its id's row);
-- docs/operations.md gives the measured rate. Every front-end must be
-- stopped first: the locks below make any that still runs wait, and a
-- v8 binary reads the tables dropped here.

LOCK TABLE entries, positions, pending_groups, entry_groups, group_positions, group_lookup
    IN ACCESS EXCLUSIVE MODE;

DO $$
DECLARE
    bad text;
BEGIN
    SELECT id INTO bad FROM entries
    WHERE length(id) <> 32 OR id ~ '[^0-9a-f]' OR left(id, 12) COLLATE "C" < '010000000000'
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entry id "%" is not 32 lowercase hex characters starting with a time at or above 2^40 ms: it cannot be told from a v8 id', bad;
    END IF;
    SELECT e.id INTO bad FROM entries AS e
    WHERE e.grp IS NULL AND NOT EXISTS (SELECT 1 FROM positions AS p WHERE p.seq = e.seq)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entry "%" has neither a commit group nor a log position', bad;
    END IF;
END
$$;

ALTER TABLE entry_groups
    ADD COLUMN legacy_ids bytea CHECK (length(legacy_ids) = 16 * n),
    ALTER COLUMN legacy_ids SET STORAGE EXTERNAL;

-- Numbers for the groups made of the entries sequenced before v5, taken
-- from the queue's sequence only if there are such entries.
CREATE TEMPORARY TABLE pre_v5 ON COMMIT DROP AS
    SELECT min(p.log_index) AS first_index,
           (max(p.log_index) - min(p.log_index)) / 64 + 1 AS groups,
           NULL::bigint AS first_grp
    FROM entries AS e JOIN positions AS p USING (seq)
    WHERE e.grp IS NULL;
UPDATE pre_v5 SET first_grp = nextval('pending_groups_grp_seq') WHERE first_index IS NOT NULL;
SELECT setval('pending_groups_grp_seq', first_grp + groups - 1) FROM pre_v5
    WHERE first_grp IS NOT NULL;
-- (Without statistics the planner takes the temporary tables for large
-- and the joins below for vast.)
ANALYZE pre_v5;

-- Every entry stored before v8, with the group and slot it goes to and,
-- if it is sequenced, its log index.
CREATE TEMPORARY VIEW placed AS
    SELECT e.*,
           coalesce(e.grp, f.first_grp + (p.log_index - f.first_index) / 64) AS to_grp,
           coalesce(e.slot, ((p.log_index - f.first_index) % 64)::int) AS to_slot,
           coalesce(p.log_index, s.first_index + (e.slot - s.lo)) AS idx
    FROM entries AS e
    CROSS JOIN pre_v5 AS f
    LEFT JOIN positions AS p ON e.grp IS NULL AND p.seq = e.seq
    LEFT JOIN group_positions AS s ON s.grp = e.grp AND s.lo <= e.slot AND e.slot < s.hi;

-- What the steps after the entries' own rows need of each, read once.
CREATE TEMPORARY TABLE moved ON COMMIT DROP AS
    SELECT decode(id, 'hex') AS id, to_grp AS grp, to_slot AS slot, idx,
           ('x' || encode(substring(
               sha256(convert_to(tenant, 'UTF8') || '\x0a'::bytea || evidence_sha256)
               FROM 1 FOR 8), 'hex'))::bit(64)::bigint AS key
    FROM placed;
ANALYZE moved;

DO $$
DECLARE
    bad bigint;
BEGIN
    SELECT grp INTO bad FROM moved GROUP BY grp
    HAVING min(slot) <> 0 OR max(slot) <> count(*) - 1 OR count(DISTINCT slot) <> count(*)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the entries of commit group % do not fill slots 0 to n - 1', bad;
    END IF;
END
$$;

-- The entries, a row per group.
INSERT INTO entry_groups
    (grp, n, tenants, nonces, evidence, salts, metadata, received_ms, leaf_hashes, legacy_ids)
SELECT to_grp, count(*),
       array_agg(tenant ORDER BY to_slot),
       string_agg(substring(decode(id, 'hex') FROM 10 FOR 7), ''::bytea ORDER BY to_slot),
       string_agg(evidence_sha256, ''::bytea ORDER BY to_slot),
       string_agg(salt, ''::bytea ORDER BY to_slot),
       array_agg(metadata ORDER BY to_slot),
       array_agg(received_ms ORDER BY to_slot),
       string_agg(leaf_hash, ''::bytea ORDER BY to_slot),
       string_agg(decode(id, 'hex'), ''::bytea ORDER BY to_slot)
FROM placed
GROUP BY to_grp
ORDER BY to_grp;

-- The runs of the groups made of the entries sequenced before v5 (the
-- v5-v7 groups have theirs).
INSERT INTO group_positions (grp, lo, hi, first_index)
SELECT m.grp, 0, count(*), min(m.idx)
FROM moved AS m, pre_v5 AS f
WHERE m.grp >= f.first_grp
GROUP BY m.grp
ORDER BY m.grp;

-- The digest lookup of every sequenced entry moved, in the partitions of
-- its log index (created here if missing, as the sequencer would).
DO $$
DECLARE
    n bigint;
BEGIN
    FOR n IN SELECT generate_series(min(idx) / 1048576, max(idx) / 1048576) FROM moved LOOP
        IF to_regclass(format('group_lookup_%s', n)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE group_lookup_%s PARTITION OF group_lookup FOR VALUES FROM (%s) TO (%s)',
                n, n * 1048576, (n + 1) * 1048576);
        END IF;
    END LOOP;
END
$$;
INSERT INTO group_lookup (key, idx)
SELECT key, idx FROM moved WHERE idx IS NOT NULL ORDER BY key;

CREATE TABLE legacy_id_slots (
    id   bytea NOT NULL CHECK (length(id) = 16),
    grp  bigint NOT NULL,
    slot integer NOT NULL CHECK (slot >= 0)
);
INSERT INTO legacy_id_slots (id, grp, slot)
SELECT id, grp, slot FROM moved;
ALTER TABLE legacy_id_slots
    ADD PRIMARY KEY (id),
    ADD FOREIGN KEY (grp) REFERENCES entry_groups (grp);

-- A waiting group's queue row must name the entries it now reads from
-- its `entry_groups` row, and every queue row must have one.
DO $$
DECLARE
    bad bigint;
BEGIN
    SELECT q.grp INTO bad
    FROM pending_groups AS q LEFT JOIN entry_groups AS g ON g.grp = q.grp
    WHERE g.grp IS NULL OR g.n <> q.n OR cardinality(q.keys) <> q.n
       OR (q.ids IS NOT NULL AND (
             g.legacy_ids IS DISTINCT FROM (
               SELECT string_agg(decode(u.id, 'hex'), ''::bytea ORDER BY u.k)
               FROM unnest(q.ids) WITH ORDINALITY AS u(id, k))
             OR g.leaf_hashes IS DISTINCT FROM (
               SELECT string_agg(u.leaf, ''::bytea ORDER BY u.k)
               FROM unnest(q.leaf_hashes) WITH ORDINALITY AS u(leaf, k))))
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'queue group % does not match its entries', bad;
    END IF;
END
$$;

ALTER TABLE pending_groups
    DROP CONSTRAINT pending_groups_kind,
    DROP COLUMN min_seq,
    DROP COLUMN max_seq,
    DROP COLUMN seqs,
    DROP COLUMN ids,
    DROP COLUMN leaf_hashes;

DROP VIEW placed;
DROP TABLE entries, positions, lookup, keyed_lookup;

-- Statistics for the planner's first queries on the moved rows.
ANALYZE entry_groups;
ANALYZE group_positions;
ANALYZE group_lookup;
ANALYZE legacy_id_slots;
