//! Measures migration 0009 (and 0008 before it) on a synthetic v7
//! database: `cargo run --release -p notarium-store --example
//! measure_v9_upgrade -- [ENTRIES] [ADMIN_URL]` (the time is spent in
//! PostgreSQL: a debug build measures the same).
//!
//! Creates a fresh database on the server at ADMIN_URL (default
//! `$NOTARIUM_TEST_DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`),
//! brings it to schema v7 and writes ENTRIES entries (default 1 000 000) as
//! v7 left them: half sequenced before v5 (`positions`, `lookup`), half in
//! v5-v7 commit groups of 50 (`group_positions`, `keyed_lookup`), every
//! other one with metadata, and one group of 50 waiting in v7's queue
//! format. Then it times `PostgresStore::migrate` and drops the database.
//! The tree is not written: the migration does not read it.

use notarium_store::{PostgresStore, Store};
use std::time::Instant;

const V7: [&str; 7] = [
    include_str!("../../../migrations/postgres/0001_init.sql"),
    include_str!("../../../migrations/postgres/0002_pending_positions.sql"),
    include_str!("../../../migrations/postgres/0003_lookup_off_commit_path.sql"),
    include_str!("../../../migrations/postgres/0004_tree_chunks.sql"),
    include_str!("../../../migrations/postgres/0005_commit_groups.sql"),
    include_str!("../../../migrations/postgres/0006_tenant_check_per_group.sql"),
    include_str!("../../../migrations/postgres/0007_keyed_lookup.sql"),
];

/// The v7 data: `$1` entries sequenced before v5, `$2` in groups of 50
/// (sequenced after them), then one waiting group of 50.
const FILL: &str = "
CREATE FUNCTION pg_temp.old_id(i bigint) RETURNS text LANGUAGE sql AS
  $$ SELECT lpad(to_hex(1764000000000 + i), 12, '0') || substr(md5(i::text), 1, 20) $$;
CREATE FUNCTION pg_temp.key(t text, d bytea) RETURNS bigint LANGUAGE sql AS
  $$ SELECT ('x' || encode(substring(sha256(convert_to(t, 'UTF8') || '\\x0a'::bytea || d)
             FROM 1 FOR 8), 'hex'))::bit(64)::bigint $$;
INSERT INTO tenants VALUES ('acme', 1);
INSERT INTO entries (id, seq, tenant, evidence_sha256, salt, metadata, received_ms, leaf_hash,
                     grp, slot)
OVERRIDING SYSTEM VALUE
SELECT pg_temp.old_id(i), i, 'acme', sha256(int8send(i)), sha256(int8send(-i)),
       CASE WHEN i % 2 = 0 THEN '{\"title\":\"pièce n° ' || i || '\",\"case\":\"RG 26/' || i || '\"}' END,
       1764000000000 + i, sha256(int8send(i) || '\\x01'::bytea),
       CASE WHEN i > :pre THEN 1 + (i - :pre - 1) / 50 END,
       CASE WHEN i > :pre THEN ((i - :pre - 1) % 50)::int END
FROM generate_series(1, :all + 50) AS i;
INSERT INTO positions (seq, log_index) SELECT i, i - 1 FROM generate_series(1, :pre) AS i;
DO $$
BEGIN
    FOR n IN 1 .. (:all + 50) / 1048576 LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS lookup_%s PARTITION OF lookup FOR VALUES FROM (%s) TO (%s)',
                       n, n::bigint * 1048576, (n::bigint + 1) * 1048576);
    END LOOP;
    FOR n IN 0 .. (:all + 50) / 1048576 LOOP
        EXECUTE format('CREATE TABLE keyed_lookup_%s PARTITION OF keyed_lookup FOR VALUES FROM (%s) TO (%s)',
                       n, n::bigint * 1048576, (n::bigint + 1) * 1048576);
    END LOOP;
END
$$;
INSERT INTO lookup (tenant, evidence_sha256, seq, id)
SELECT tenant, evidence_sha256, seq, id FROM entries WHERE grp IS NULL ORDER BY evidence_sha256;
INSERT INTO keyed_lookup (key, seq, id)
SELECT pg_temp.key(tenant, evidence_sha256), seq, id FROM entries WHERE seq BETWEEN :pre + 1 AND :all
ORDER BY 1;
INSERT INTO group_positions (grp, lo, hi, first_index)
SELECT g, 0, 50, :pre + (g - 1) * 50 FROM generate_series(1, (:all - :pre) / 50) AS g;
INSERT INTO pending_groups (grp, n, min_seq, max_seq, seqs, ids, keys, leaf_hashes)
OVERRIDING SYSTEM VALUE
SELECT grp, 50, min(seq), max(seq), array_agg(seq ORDER BY slot), array_agg(id ORDER BY slot),
       array_agg(pg_temp.key(tenant, evidence_sha256) ORDER BY slot),
       array_agg(leaf_hash ORDER BY slot)
FROM entries WHERE seq > :all GROUP BY grp;
SELECT setval('pending_groups_grp_seq', (SELECT max(grp) FROM entries));
UPDATE log_state SET size = :all;
";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let all: i64 = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("ENTRIES"));
    let admin = args
        .next()
        .or_else(|| std::env::var("NOTARIUM_TEST_DATABASE_URL").ok())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let all = all / 100 * 100;
    let pre = all / 2;
    let name = format!("notarium_v9_measure_{}", std::process::id());
    let client = connect(&admin).await;
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let url = match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("ADMIN_URL has no database name"),
    };
    let db = connect(&url).await;
    db.batch_execute(
        "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, name text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO schema_migrations (version, name) SELECT v, 'v' || v FROM generate_series(1, 7) v",
    )
    .await
    .unwrap();
    for sql in V7 {
        db.batch_execute(sql).await.unwrap();
    }
    let t = Instant::now();
    let fill = FILL
        .replace(":all", &all.to_string())
        .replace(":pre", &pre.to_string());
    db.batch_execute(&fill).await.unwrap();
    db.batch_execute("VACUUM ANALYZE").await.unwrap();
    println!(
        "v7 database: {all} sequenced entries ({pre} before v5) and 50 waiting, {} MB, written in {:.1} s",
        megabytes(&db).await,
        t.elapsed().as_secs_f64()
    );

    let store = PostgresStore::connect(&url).await.unwrap();
    // The store's one pooled connection so far, which `migrate` reuses:
    // its server process's CPU time does not depend on what else runs.
    let backend: i32 = db
        .query_one(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'notarium'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let (t, cpu) = (Instant::now(), cpu_seconds(backend));
    store.migrate().await.unwrap();
    let took = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds(backend).zip(cpu).map(|(b, a)| b - a);
    println!(
        "migrations 0008 and 0009: {took:.1} s ({:.0} entries/s), {} of server CPU, database {} MB after",
        (all + 50) as f64 / took,
        cpu.map_or("no reading".into(), |c| format!("{c:.1} s")),
        megabytes(&db).await
    );
    drop(store);
    drop(db);
    client
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

async fn megabytes(db: &tokio_postgres::Client) -> i64 {
    let size: i64 = db
        .query_one("SELECT pg_database_size(current_database())", &[])
        .await
        .unwrap()
        .get(0);
    size >> 20
}

/// User and system CPU time of process `pid` (a server process on this
/// machine), from /proc; None where it cannot be read.
fn cpu_seconds(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
