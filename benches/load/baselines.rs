//! What the notary's figures are divided by, measured in the same run on
//! the same machine: PostgreSQL 1-row and 100-row durable commits, SQLite
//! 1-row durable commits, and an actix-web JSON handler that stores
//! nothing (run in a child process of the bench).

use crate::client::{digest_hex, single_body};
use crate::common::{PgDb, TempDir, spawn_until_listening};
use crate::counters::{Watched, clk_tck, cpu_task, snap};
use crate::knobs::Knobs;
use crate::measure::{PhaseResult, Tally, Window, finish, http_closed_loop, join_tallies};
use crate::notary::url_addr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The four baselines of a run.
pub(crate) struct Baselines {
    /// PostgreSQL, one row per commit.
    pub pg1: PhaseResult,
    /// PostgreSQL, 100 rows per commit (counted in rows).
    pub pg100: PhaseResult,
    /// SQLite, one row per commit, one writer.
    pub sq1: PhaseResult,
    /// The actix-web JSON handler without storage.
    pub echo: PhaseResult,
}

/// Measures the baselines one after another, printing each.
pub(crate) async fn measure(k: &Knobs) -> Baselines {
    let (pg1, pg100) = postgres(k).await;
    let sq1 = sqlite(k).await;
    let echo = actix_echo(k).await;
    Baselines {
        pg1,
        pg100,
        sq1,
        echo,
    }
}

const BASELINE_DDL: &str = "
CREATE TABLE bench_entries (
    id              text PRIMARY KEY,
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    tenant          text NOT NULL,
    evidence_sha256 bytea NOT NULL CHECK (length(evidence_sha256) = 32),
    salt            bytea NOT NULL CHECK (length(salt) = 32),
    metadata        text,
    received_ms     bigint NOT NULL,
    leaf_hash       bytea NOT NULL CHECK (length(leaf_hash) = 32)
);
CREATE INDEX bench_entries_by_evidence ON bench_entries (tenant, evidence_sha256, seq);
";

fn row_bytes(worker: usize, n: u64) -> ([u8; 32], String) {
    let h = digest_hex(worker, n);
    let mut b = [0u8; 32];
    hex::decode_to_slice(&h, &mut b).unwrap();
    (b, h[..32].to_string())
}

/// The PostgreSQL baselines, 1-row then 100-row commits, on a database of
/// their own (dropped afterwards).
async fn postgres(k: &Knobs) -> (PhaseResult, PhaseResult) {
    let pg = PgDb::new("bench_baseline");
    execute_each(&pg.url, &[BASELINE_DDL]).await;
    let pg1 = pg_baseline(&pg.url, k.pg_clients, 1, k).await;
    println!(
        "  baseline PostgreSQL 1-row commits, {} clients: {:.0}/s, p50 {:.2} ms p99 {:.2} ms; {}; \
         postgres CPU {:.1} us per commit",
        k.pg_clients, pg1.rate, pg1.p50_ms, pg1.p99_ms, pg1.cpu, pg1.postgres_us
    );
    let pg100 = pg_baseline(&pg.url, k.pg_clients, 100, k).await;
    println!(
        "  baseline PostgreSQL 100-row commits, {} clients: {:.0} rows/s, p50 {:.2} ms p99 {:.2} ms; {}; \
         postgres CPU {:.1} us per row",
        k.pg_clients, pg100.rate, pg100.p50_ms, pg100.p99_ms, pg100.cpu, pg100.postgres_us
    );
    (pg1, pg100)
}

/// PostgreSQL: `clients` connections, each committing `rows` rows per
/// transaction (one statement, synchronous_commit=on), shaped like the
/// notary's entries table.
async fn pg_baseline(url: &str, clients: usize, rows: usize, k: &Knobs) -> PhaseResult {
    let mut conns = Vec::new();
    for _ in 0..clients {
        let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL is required for the bench");
        tokio::spawn(conn);
        c.batch_execute("SET synchronous_commit = on")
            .await
            .unwrap();
        conns.push(c);
    }
    let watched = Watched::default();
    let w = Window::after_warmup(k);
    let cpu = cpu_task(watched, w.start, w.end);
    let mut tasks = Vec::new();
    for (i, c) in conns.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let sql = if rows == 1 {
                "INSERT INTO bench_entries (id, tenant, evidence_sha256, salt, received_ms, leaf_hash)
                 VALUES ($1, $2, $3, $4, $5, $6)"
            } else {
                "INSERT INTO bench_entries (id, tenant, evidence_sha256, salt, received_ms, leaf_hash)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[], $5::bigint[], $6::bytea[])"
            };
            let stmt = c.prepare(sql).await.unwrap();
            let mut t = Tally::default();
            let mut n = 0u64;
            let tenant = "bench".to_string();
            while Instant::now() < w.end {
                let mut ids = Vec::with_capacity(rows);
                let mut digests = Vec::with_capacity(rows);
                for _ in 0..rows {
                    let (d, id) = row_bytes(i + 1000, n);
                    n += 1;
                    ids.push(id);
                    digests.push(d.to_vec());
                }
                let started = Instant::now();
                let r = if rows == 1 {
                    c.execute(
                        &stmt,
                        &[&ids[0], &tenant, &digests[0], &digests[0], &0i64, &digests[0]],
                    )
                    .await
                } else {
                    let tenants = vec![tenant.clone(); rows];
                    let recv = vec![0i64; rows];
                    c.execute(&stmt, &[&ids, &tenants, &digests, &digests, &recv, &digests])
                        .await
                };
                let done = Instant::now();
                t.record(&w, started, done, r.is_ok(), rows as u64);
            }
            t
        }));
    }
    let total = join_tallies(tasks).await;
    finish(total, &w, cpu.await.unwrap(), clk_tck())
}

/// The SQLite baseline, in a temporary directory, off the runtime's threads.
async fn sqlite(k: &Knobs) -> PhaseResult {
    let tmp = TempDir::new("bench-sqlite-baseline");
    let sq1 = {
        let (dir, k2) = (tmp.path().to_path_buf(), k.clone());
        tokio::task::spawn_blocking(move || sqlite_baseline(&dir, &k2))
            .await
            .unwrap()
    };
    drop(tmp);
    println!(
        "  baseline SQLite 1-row commits (WAL, synchronous=FULL), 1 writer: {:.0}/s, p50 {:.2} ms p99 {:.2} ms; {}",
        sq1.rate, sq1.p50_ms, sq1.p99_ms, sq1.cpu
    );
    sq1
}

/// SQLite: one writer (SQLite has one), one row per transaction, WAL and
/// synchronous=FULL as the notary's store.
fn sqlite_baseline(dir: &Path, k: &Knobs) -> PhaseResult {
    let path = dir.join("baseline.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let _: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch(
        &BASELINE_DDL
            .replace("bigint GENERATED ALWAYS AS IDENTITY", "integer")
            .replace("bytea", "blob"),
    )
    .unwrap();
    let w = Window::after_warmup(k);
    let mut t = Tally::default();
    let mut n = 0u64;
    let mut stmt = conn
        .prepare(
            "INSERT INTO bench_entries (id, tenant, evidence_sha256, salt, received_ms, leaf_hash)
             VALUES (?1, 'bench', ?2, ?2, 0, ?2)",
        )
        .unwrap();
    let mut a_at_start = None;
    while Instant::now() < w.end {
        if a_at_start.is_none() && Instant::now() >= w.start {
            a_at_start = Some(snap(&Watched::default()));
        }
        let (d, id) = row_bytes(7, n);
        n += 1;
        let started = Instant::now();
        // Autocommit: one durable transaction per row.
        let r = stmt.execute(rusqlite::params![id, d.as_slice()]);
        let done = Instant::now();
        t.record(&w, started, done, r.is_ok(), 1);
    }
    let b = snap(&Watched::default());
    finish(t, &w, (a_at_start.unwrap_or(b), b), clk_tck())
}

/// The actix-web baseline: the echo server in a child process, driven by
/// the same closed loop as the notary's single submissions.
async fn actix_echo(k: &Knobs) -> PhaseResult {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("NOTARIUM_BENCH_ECHO_SERVER", "1");
    let p = spawn_until_listening(cmd, "echo listening on ");
    let addr = url_addr(&p.url);
    let watched = Watched {
        notary: Some(p.child.id()),
        witnesses: vec![],
    };
    let echo = http_closed_loop(
        addr,
        "/v1/evidence",
        None,
        k.conns,
        k,
        &watched,
        Arc::new(|w, i| (single_body(w, i), 1)),
    )
    .await;
    drop(p);
    println!(
        "  baseline actix-web JSON handler, no storage, {} connections: {:.0}/s, p50 {:.2} ms p99 {:.2} ms, errors {}; {} (\"notary\" = the echo server); \
         server CPU {:.1} us per request",
        k.conns, echo.rate, echo.p50_ms, echo.p99_ms, echo.errors, echo.cpu, echo.server_us
    );
    echo
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EchoItem {
    sha256: String,
    #[serde(default)]
    #[allow(dead_code)]
    metadata: Option<serde_json::Value>,
}

/// The baseline server (run in a child process of this bench): parses the
/// same JSON as POST /v1/evidence and answers 202 with a JSON body of the
/// same shape, storing nothing.
pub(crate) fn run_echo_server() {
    use actix_web::{App, HttpResponse, HttpServer, web};
    static N: AtomicU64 = AtomicU64::new(0);
    async fn echo(body: web::Bytes) -> HttpResponse {
        match serde_json::from_slice::<EchoItem>(&body) {
            Ok(it) if it.sha256.len() == 64 && hex::decode(&it.sha256).is_ok() => {
                let n = N.fetch_add(1, Ordering::Relaxed);
                HttpResponse::Accepted().json(serde_json::json!({
                    "id": format!("{n:032x}"),
                    "status": "pending",
                    "received_at": "2025-01-01T00:00:00.000Z",
                    "receipt": it.sha256,
                    "entry": it.sha256,
                    "salt": it.sha256,
                }))
            }
            _ => HttpResponse::BadRequest().finish(),
        }
    }
    actix_web::rt::System::new().block_on(async {
        let server = HttpServer::new(|| App::new().route("/v1/evidence", web::post().to(echo)))
            .bind("127.0.0.1:0")
            .unwrap()
            .disable_signals();
        println!("echo listening on http://{}", server.addrs()[0]);
        server.run().await.unwrap();
    });
}

/// Runs each SQL text (one `batch_execute` each) on a connection of its
/// own, closed afterwards; returns the seconds it took. Panics on failure.
pub(crate) async fn execute_each(url: &str, statements: &[&str]) -> f64 {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL");
    let h = tokio::spawn(conn);
    let started = Instant::now();
    for sql in statements {
        c.batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let secs = started.elapsed().as_secs_f64();
    drop(c);
    let _ = h.await;
    secs
}
