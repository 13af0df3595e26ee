-- Notarium notary store, PostgreSQL schema v6: an entry's tenant is
-- checked once per commit group instead of once per entry.
--
-- Up to v5 `entries.tenant` was a foreign key: PostgreSQL ran its
-- referential trigger for every inserted entry (a lookup in `tenants` and
-- a row lock on the tenant), which cost about as much as inserting the
-- entry itself. Now the statement that inserts a group checks each of its
-- distinct tenants once and inserts nothing if one is unknown (the store
-- answers NotFound, as the foreign key made it do).
--
-- What the foreign key also guaranteed, that a tenant named by an entry
-- never disappears, now holds because tenants are permanent: no part of
-- the notary deletes or renames one, and the trigger below refuses to.
-- Entries written before v6 were checked by the foreign key.

ALTER TABLE entries DROP CONSTRAINT entries_tenant_fkey;

CREATE FUNCTION notarium_tenants_are_permanent() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tenants are permanent: entries name them'
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER tenants_are_permanent
    BEFORE DELETE OR UPDATE OF tenant ON tenants
    FOR EACH ROW EXECUTE FUNCTION notarium_tenants_are_permanent();
CREATE TRIGGER tenants_are_never_truncated
    BEFORE TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION notarium_tenants_are_permanent();
