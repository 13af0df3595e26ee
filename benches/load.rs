//! Load generator for the notary (`cargo bench --bench load`).
//!
//! Starts the real release binaries on loopback (two witnesses and a notary,
//! on PostgreSQL and on the embedded SQLite store), measures baselines in
//! the same run (PostgreSQL and SQLite single-row durable commits,
//! PostgreSQL 100-row commits, an actix-web JSON handler without storage),
//! then drives the notary from this process over many HTTP/1.1 keep-alive
//! connections and prints every figure as a ratio to its baseline, with the
//! CPU each party used. Absolute numbers depend on the machine and on what
//! else runs on it; ratios measured seconds apart are the stable figures.
//!
//! Every phase runs for a fixed time and is bounded; nothing leaves
//! 127.0.0.1. Knobs (environment): see `Knobs::from_env` and
//! docs/benchmarks.md.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{PgDb, Proc, TempDir, notarium_bin, spawn_until_listening};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- knobs

#[derive(Debug, Clone)]
struct Knobs {
    /// Measured seconds per phase.
    secs: f64,
    /// Unmeasured seconds before each phase's window.
    warmup: f64,
    /// Connections for single submissions and the actix baseline.
    conns: usize,
    /// Connections posting batches of `batch` items.
    batch_conns: usize,
    batch: usize,
    /// PostgreSQL baseline clients.
    pg_clients: usize,
    /// Time to final: offered submissions/s, 1 in `sample` is followed.
    ttf_rate: f64,
    ttf_sample: u64,
    ttf_poll_ms: u64,
    /// `postgres`, `sqlite` or both.
    stores: Vec<String>,
    /// The notary's batch interval; unset, the product's default for the
    /// store (100 ms embedded, 500 ms PostgreSQL).
    batch_interval_ms: Option<u64>,
    /// Client runtime threads.
    client_threads: usize,
    /// Bound on waiting for the notary to sequence and finalise a backlog.
    drain_secs: u64,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Knobs {
    fn from_env() -> Self {
        Knobs {
            secs: env_or("NOTARIUM_BENCH_SECS", 5.0f64).clamp(0.5, 120.0),
            warmup: env_or("NOTARIUM_BENCH_WARMUP_SECS", 1.0f64).clamp(0.0, 30.0),
            conns: env_or("NOTARIUM_BENCH_CONNS", 128usize).clamp(1, 1024),
            batch_conns: env_or("NOTARIUM_BENCH_BATCH_CONNS", 8usize).clamp(1, 256),
            batch: env_or("NOTARIUM_BENCH_BATCH", 1000usize).clamp(1, 1000),
            pg_clients: env_or("NOTARIUM_BENCH_PG_CLIENTS", 8usize).clamp(1, 64),
            ttf_rate: env_or("NOTARIUM_BENCH_TTF_RATE", 5000.0f64).clamp(1.0, 100_000.0),
            ttf_sample: env_or("NOTARIUM_BENCH_TTF_SAMPLE", 50u64).max(1),
            ttf_poll_ms: env_or("NOTARIUM_BENCH_TTF_POLL_MS", 20u64).clamp(1, 1000),
            stores: std::env::var("NOTARIUM_BENCH_STORES")
                .unwrap_or_else(|_| "postgres,sqlite".into())
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            batch_interval_ms: std::env::var("NOTARIUM_BENCH_BATCH_INTERVAL_MS")
                .ok()
                .map(|v| {
                    v.parse()
                        .expect("NOTARIUM_BENCH_BATCH_INTERVAL_MS: milliseconds")
                }),
            client_threads: env_or("NOTARIUM_BENCH_CLIENT_THREADS", 2usize).clamp(1, 64),
            drain_secs: env_or("NOTARIUM_BENCH_DRAIN_SECS", 120u64).clamp(1, 600),
        }
    }
}

// ---------------------------------------------------------------- CPU accounting

/// Clock ticks per second of /proc times.
fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process, in ticks, and its command name.
fn proc_ticks(pid: &str) -> Option<(String, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = s[open + 1..close].to_string();
    let f: Vec<&str> = s[close + 2..].split(' ').collect();
    // Fields after the command: state is index 0, utime 11, stime 12.
    let t = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some((comm, t))
}

/// Busy and total ticks of the whole machine.
fn machine_ticks() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = s.lines().next().unwrap_or("");
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
    (busy, busy + get(3) + get(4))
}

/// Milliseconds spent doing I/O and 512-byte sectors written so far by the
/// disk that holds PostgreSQL's data (/var/lib/postgresql, else /), from
/// /proc/diskstats; zeros where that cannot be read.
fn disk_counters() -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let Some(dev) = ["/var/lib/postgresql", "/"]
        .iter()
        .find_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.dev())
    else {
        return (0, 0);
    };
    let (major, minor) = (
        ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff),
        (dev & 0xff) | ((dev >> 12) & !0xff),
    );
    let stats = std::fs::read_to_string("/proc/diskstats").unwrap_or_default();
    for line in stats.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok());
        if num(0) == Some(major) && num(1) == Some(minor) {
            // After major, minor, name: sectors written is the 7th field,
            // milliseconds doing I/O the 10th.
            return (num(12).unwrap_or(0), num(9).unwrap_or(0));
        }
    }
    (0, 0)
}

#[derive(Debug, Clone, Copy, Default)]
struct CpuSnap {
    client: u64,
    notary: u64,
    witnesses: u64,
    postgres: u64,
    busy: u64,
    total: u64,
    disk_io_ms: u64,
    disk_sectors_written: u64,
}

/// Processes whose CPU is reported separately from "other".
#[derive(Debug, Clone, Default)]
struct Watched {
    notary: Option<u32>,
    witnesses: Vec<u32>,
}

fn snap(w: &Watched) -> CpuSnap {
    let mut s = CpuSnap {
        client: proc_ticks("self").map(|x| x.1).unwrap_or(0),
        ..CpuSnap::default()
    };
    if let Some(p) = w.notary {
        s.notary = proc_ticks(&p.to_string()).map(|x| x.1).unwrap_or(0);
    }
    for p in &w.witnesses {
        s.witnesses += proc_ticks(&p.to_string()).map(|x| x.1).unwrap_or(0);
    }
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.bytes().all(|b| b.is_ascii_digit())
                && let Some((comm, t)) = proc_ticks(&name)
                && comm == "postgres"
            {
                s.postgres += t;
            }
        }
    }
    (s.busy, s.total) = machine_ticks();
    (s.disk_io_ms, s.disk_sectors_written) = disk_counters();
    s
}

/// Cores used by each party over a window.
#[derive(Debug, Clone, Copy, Default)]
struct CpuUse {
    client: f64,
    notary: f64,
    witnesses: f64,
    postgres: f64,
    other: f64,
    idle: f64,
    /// Share of the window the data disk was busy, and what it wrote.
    disk_busy: f64,
    disk_write_mb_s: f64,
}

fn cpu_between(a: &CpuSnap, b: &CpuSnap, secs: f64, tck: f64) -> CpuUse {
    let c = |x: u64, y: u64| y.saturating_sub(x) as f64 / tck / secs;
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let busy = c(a.busy, b.busy);
    let total = c(a.total, b.total).max(1e-9);
    let client = c(a.client, b.client);
    let notary = c(a.notary, b.notary);
    let witnesses = c(a.witnesses, b.witnesses);
    let postgres = c(a.postgres, b.postgres);
    CpuUse {
        client,
        notary,
        witnesses,
        postgres,
        other: (busy - client - notary - witnesses - postgres).max(0.0),
        idle: ncpu * (1.0 - busy / total),
        disk_busy: b.disk_io_ms.saturating_sub(a.disk_io_ms) as f64 / 1000.0 / secs,
        disk_write_mb_s: b
            .disk_sectors_written
            .saturating_sub(a.disk_sectors_written) as f64
            * 512.0
            / 1e6
            / secs,
    }
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cores: client {:.2} notary {:.2} witnesses {:.2} postgres {:.2} other {:.2} idle {:.2}; \
             disk busy {:.0}%, writing {:.0} MB/s",
            self.client,
            self.notary,
            self.witnesses,
            self.postgres,
            self.other,
            self.idle,
            self.disk_busy * 100.0,
            self.disk_write_mb_s
        )
    }
}

/// Measures CPU over `[start, end]` in the background.
fn cpu_task(
    watched: Watched,
    start: Instant,
    end: Instant,
) -> tokio::task::JoinHandle<(CpuSnap, CpuSnap)> {
    tokio::spawn(async move {
        tokio::time::sleep_until(start.into()).await;
        let a = tokio::task::spawn_blocking({
            let w = watched.clone();
            move || snap(&w)
        })
        .await
        .unwrap();
        tokio::time::sleep_until(end.into()).await;
        let b = tokio::task::spawn_blocking(move || snap(&watched))
            .await
            .unwrap();
        (a, b)
    })
}

// ---------------------------------------------------------------- HTTP client

/// One HTTP/1.1 keep-alive connection (hyper's connection-level client: no
/// pool, no per-request connector work).
struct Http {
    tx: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    host: HeaderValue,
}

impl Http {
    async fn connect(addr: SocketAddr) -> anyhow::Result<Http> {
        let s = tokio::net::TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let (tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Http {
            tx,
            addr,
            host: HeaderValue::from_str(&addr.to_string())?,
        })
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        auth: Option<&HeaderValue>,
        body: Bytes,
    ) -> anyhow::Result<(u16, Bytes)> {
        if self.tx.is_closed() {
            *self = Http::connect(self.addr).await?;
        }
        self.tx.ready().await?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.host);
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        if !body.is_empty() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        let resp = self.tx.send_request(req.body(Full::new(body))?).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// A 64-hex-character digest, different for every (worker, n).
fn digest_hex(worker: usize, n: u64) -> String {
    let mut x = ((worker as u64) << 40) ^ n ^ 0x5eed_0000_0000_0000;
    let mut out = String::with_capacity(64);
    for _ in 0..4 {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let _ = write!(out, "{z:016x}");
    }
    out
}

fn single_body(worker: usize, n: u64) -> Bytes {
    Bytes::from(format!(r#"{{"sha256":"{}"}}"#, digest_hex(worker, n)))
}

fn batch_body(worker: usize, n: u64, items: usize) -> Bytes {
    let mut s = String::with_capacity(items * 80 + 16);
    s.push_str(r#"{"items":["#);
    for i in 0..items {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            r#"{{"sha256":"{}"}}"#,
            digest_hex(worker, n * items as u64 + i as u64)
        );
    }
    s.push_str("]}");
    Bytes::from(s)
}

/// The measured window of a phase.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    fn after_warmup(k: &Knobs) -> Self {
        let start = Instant::now() + Duration::from_secs_f64(k.warmup);
        Window {
            start,
            end: start + Duration::from_secs_f64(k.secs),
        }
    }
    fn secs(&self) -> f64 {
        (self.end - self.start).as_secs_f64()
    }
}

/// What a phase counted inside its window.
#[derive(Debug, Default)]
struct Tally {
    /// Requests answered as expected.
    ok: u64,
    /// Units they carried (submissions, digests, rows).
    units: u64,
    /// Transport errors and unexpected statuses.
    errors: u64,
    statuses: BTreeMap<u16, u64>,
    lat_us: Vec<u32>,
}

impl Tally {
    fn merge(&mut self, o: Tally) {
        self.ok += o.ok;
        self.units += o.units;
        self.errors += o.errors;
        for (k, v) in o.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        self.lat_us.extend(o.lat_us);
    }
    fn record(&mut self, w: &Window, started: Instant, done: Instant, ok: bool, units: u64) {
        if started < w.start || done > w.end {
            return;
        }
        if ok {
            self.ok += 1;
            self.units += units;
            self.lat_us
                .push((done - started).as_micros().min(u32::MAX as u128) as u32);
        } else {
            self.errors += 1;
        }
    }
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted_us.len() as f64 * p).ceil() as usize).clamp(1, sorted_us.len()) - 1;
    sorted_us[i] as f64 / 1000.0
}

#[derive(Debug, Clone, Default)]
struct PhaseResult {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    statuses: String,
    cpu: CpuUse,
    /// CPU microseconds the server (notary or echo) and PostgreSQL spent
    /// per unit: robust against other load on the machine.
    server_us: f64,
    postgres_us: f64,
}

fn finish(t: Tally, w: &Window, cpu: (CpuSnap, CpuSnap), tck: f64) -> PhaseResult {
    let mut lat = t.lat_us;
    lat.sort_unstable();
    let cpu = cpu_between(&cpu.0, &cpu.1, w.secs(), tck);
    let rate = t.units as f64 / w.secs();
    PhaseResult {
        rate,
        server_us: cpu.notary / rate.max(1e-9) * 1e6,
        postgres_us: cpu.postgres / rate.max(1e-9) * 1e6,
        p50_ms: percentile_ms(&lat, 0.50),
        p99_ms: percentile_ms(&lat, 0.99),
        errors: t.errors,
        statuses: t
            .statuses
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join(" "),
        cpu,
    }
}

/// Makes request `n` of worker `w`: its body and the units it carries.
type MakeBody = Arc<dyn Fn(usize, u64) -> (Bytes, u64) + Send + Sync>;

/// Closed loop: `conns` connections, each sending its next request as soon
/// as the previous one is answered, until the window ends. A 202 counts as
/// success.
async fn http_closed_loop(
    addr: SocketAddr,
    path: &'static str,
    auth: Option<HeaderValue>,
    conns: usize,
    k: &Knobs,
    watched: &Watched,
    make: MakeBody,
) -> PhaseResult {
    let mut http = Vec::with_capacity(conns);
    for _ in 0..conns {
        http.push(Http::connect(addr).await.expect("connect"));
    }
    let w = Window::after_warmup(k);
    let cpu = cpu_task(watched.clone(), w.start, w.end);
    let mut tasks = Vec::new();
    for (i, mut c) in http.into_iter().enumerate() {
        let (auth, make) = (auth.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            let mut n = 0u64;
            while Instant::now() < w.end {
                let (body, units) = make(i, n);
                n += 1;
                let started = Instant::now();
                let r = c.send(Method::POST, path, auth.as_ref(), body).await;
                let done = Instant::now();
                match r {
                    Ok((s, _)) => {
                        if started >= w.start && done <= w.end {
                            *t.statuses.entry(s).or_default() += 1;
                        }
                        t.record(&w, started, done, s == 202, units);
                    }
                    Err(_) => {
                        t.record(&w, started, done, false, 0);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            t
        }));
    }
    let mut total = Tally::default();
    for t in tasks {
        total.merge(t.await.unwrap());
    }
    finish(total, &w, cpu.await.unwrap(), clk_tck())
}

// ---------------------------------------------------------------- baselines

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
    let mut total = Tally::default();
    for t in tasks {
        total.merge(t.await.unwrap());
    }
    finish(total, &w, cpu.await.unwrap(), clk_tck())
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

// ---------------------------------------------------------------- actix baseline server

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
fn run_echo_server() {
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

// ---------------------------------------------------------------- the notary

fn url_addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("a loopback address")
}

/// Builds the release witness binary next to the notary's when missing
/// (the harness would build a debug one).
fn ensure_witness_bin() {
    let bin = notarium_bin().parent().unwrap().join("notarium-witness");
    if bin.exists() {
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "notarium-witness",
            "--bin",
            "notarium-witness",
        ])
        .current_dir(common::repo())
        .status()
        .expect("cargo build --release notarium-witness");
    assert!(
        st.success() && bin.exists(),
        "building notarium-witness failed"
    );
}

struct Notary {
    _dir: TempDir,
    _court: Proc,
    _arbitration: Proc,
    proc: Proc,
    addr: SocketAddr,
    key: HeaderValue,
    watched: Watched,
}

fn start_notary(store: &str, db: Option<&str>, k: &Knobs) -> Notary {
    let dir = TempDir::new(&format!("bench-{store}"));
    let court = common::start_witness(dir.path(), "court");
    let arbitration = common::start_witness(dir.path(), "arbitration");
    let extra = match std::env::var("NOTARIUM_BENCH_INTAKE_WORKERS") {
        Ok(n) => format!("[limits]\nintake_workers = {n}\n"),
        Err(_) => String::new(),
    };
    let cfg = common::write_notary_config(dir.path(), &court.url, &arbitration.url, &extra);
    let key = bench_tenant_with_key(&cfg, db, "bench-tenant");
    let proc = spawn_notary(&cfg, db, k);
    let addr = url_addr(&proc.url);
    let watched = Watched {
        notary: Some(proc.child.id()),
        witnesses: vec![court.child.id(), arbitration.child.id()],
    };
    Notary {
        _dir: dir,
        _court: court,
        _arbitration: arbitration,
        proc,
        addr,
        key: HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
        watched,
    }
}

/// The notary binary under test: this build's, or another build's named
/// by `NOTARIUM_BENCH_NOTARY` (to compare two versions with the same load
/// generator and baselines, alternating runs).
fn notary_bin() -> PathBuf {
    std::env::var_os("NOTARIUM_BENCH_NOTARY").map_or_else(notarium_bin, PathBuf::from)
}

/// Creates the bench's tenant and an API key with `notarium admin` of the
/// binary under test, so that the store is created and migrated by that
/// binary (another build's may have another schema).
fn bench_tenant_with_key(cfg: &Path, db: Option<&str>, name: &str) -> String {
    let admin = |args: &[&str]| {
        let mut cmd = Command::new(notary_bin());
        cmd.arg("admin").arg("--config").arg(cfg).args(args);
        match db {
            Some(url) => cmd.env("DATABASE_URL", url),
            None => cmd.env_remove("DATABASE_URL"),
        };
        let out = cmd.output().expect("notarium admin");
        assert!(
            out.status.success(),
            "notarium admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    admin(&["tenant", "add", name]);
    admin(&["key", "create", name]).trim().to_string()
}

/// Starts `notarium serve` on `cfg`; returns once it listens.
fn spawn_notary(cfg: &Path, db: Option<&str>, k: &Knobs) -> Proc {
    let mut cmd = Command::new(notary_bin());
    cmd.args(["serve", "--config"])
        .arg(cfg)
        .env("RUST_LOG", "warn");
    // The test configuration sets its own interval; the bench measures the
    // product's default for the store unless told otherwise.
    let interval = k
        .batch_interval_ms
        .unwrap_or_else(|| notarium::config::default_interval(db.is_some()));
    cmd.env("NOTARIUM_BATCH_INTERVAL_MS", interval.to_string());
    match db {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    spawn_until_listening(cmd, "notarium listening on ")
}

/// Numeric samples of the notary's /metrics (no labels).
async fn scrape(url: &str) -> BTreeMap<String, f64> {
    let text = match reqwest::get(format!("{url}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, v) = l.rsplit_once(' ')?;
            Some((name.trim_end_matches("{}").to_string(), v.parse().ok()?))
        })
        .collect()
}

fn metric(m: &BTreeMap<String, f64>, name: &str) -> f64 {
    m.get(name).copied().unwrap_or(0.0)
}

/// Group commit figures between two scrapes.
fn commit_summary(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> String {
    let d = |n: &str| metric(b, n) - metric(a, n);
    let entries = d("notarium_committed_entries_total");
    let groups = d("notarium_commit_groups_total");
    let secs = d("notarium_commit_seconds_sum");
    if groups <= 0.0 {
        return "no commits".into();
    }
    let batches = d("notarium_batch_seconds_count");
    format!(
        "{groups:.0} groups, {:.1} entries/group, commit {:.2} ms mean; \
         {batches:.0} sequencer batches, {:.1} ms mean",
        entries / groups,
        secs / groups * 1000.0,
        d("notarium_batch_seconds_sum") / batches.max(1.0) * 1000.0
    )
}

/// Waits until nothing is pending and the log is final up to its size;
/// returns the seconds it took (bounded).
async fn drain(url: &str, k: &Knobs) -> (f64, f64, bool) {
    let started = Instant::now();
    let before = scrape(url).await;
    let final0 = metric(&before, "notarium_final_size");
    loop {
        let m = scrape(url).await;
        let pending = metric(&m, "notarium_pending_entries");
        let size = metric(&m, "notarium_log_size");
        let fin = metric(&m, "notarium_final_size");
        if pending == 0.0 && fin >= size {
            let secs = started.elapsed().as_secs_f64();
            return (secs, fin - final0, true);
        }
        if started.elapsed() > Duration::from_secs(k.drain_secs) {
            return (started.elapsed().as_secs_f64(), fin - final0, false);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_ready(url: &str) {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("{url}/readyz")).await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < end, "the notary did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn id_of(body: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(body).ok()?;
    let at = s.find(r#""id":""#)? + 6;
    Some(s.get(at..at + 32)?.to_string())
}

#[derive(Debug, Clone, Default)]
struct TtfResult {
    offered: f64,
    achieved: f64,
    submit_p99_ms: f64,
    sampled: usize,
    finals: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
    cpu: CpuUse,
}

/// Time to final at a fixed offered rate: submissions are sent on a fixed
/// schedule over `conns` connections; 1 in `sample` accepted ids is
/// followed with GET /v1/evidence/{id} until it says final. The poller asks
/// about the oldest followed id only (then the next ones, as soon as one is
/// final), every `ttf_poll_ms`: cheap for the notary, and an id that became
/// final before an older one is counted when the older one is, so the
/// figures are upper bounds.
async fn time_to_final(n: &Notary, k: &Knobs) -> TtfResult {
    let conns = 64usize;
    let period = Duration::from_secs_f64(conns as f64 / k.ttf_rate);
    let mut http = Vec::new();
    for _ in 0..conns {
        http.push(Http::connect(n.addr).await.expect("connect"));
    }
    let mut poll = Http::connect(n.addr).await.expect("connect");
    let w = Window::after_warmup(&Knobs {
        warmup: 0.2,
        ..k.clone()
    });
    let cpu = cpu_task(n.watched.clone(), w.start, w.end);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    let mut tasks = Vec::new();
    for (i, mut c) in http.into_iter().enumerate() {
        let (key, tx) = (n.key.clone(), tx.clone());
        let sample = k.ttf_sample;
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            let mut next = w.start + period.mul_f64(i as f64 / conns as f64);
            let mut sent = 0u64;
            while next < w.end {
                tokio::time::sleep_until(next.into()).await;
                let started = Instant::now();
                let r = c
                    .send(
                        Method::POST,
                        "/v1/evidence",
                        Some(&key),
                        single_body(i, sent),
                    )
                    .await;
                let done = Instant::now();
                let global = sent * conns as u64 + i as u64;
                sent += 1;
                match r {
                    Ok((202, body)) => {
                        t.ok += 1;
                        t.units += 1;
                        t.lat_us.push((done - started).as_micros() as u32);
                        if global.is_multiple_of(sample)
                            && let Some(id) = id_of(&body)
                        {
                            let _ = tx.send((id, done));
                        }
                    }
                    _ => t.errors += 1,
                }
                next += period;
            }
            t
        }));
    }
    drop(tx);
    let key = n.key.clone();
    let poll_every = Duration::from_millis(k.ttf_poll_ms);
    let poller = tokio::spawn(async move {
        let mut queue: VecDeque<(String, Instant)> = VecDeque::new();
        let mut ttf_us = Vec::new();
        let mut open = true;
        let mut sampled = 0usize;
        let give_up = w.end + Duration::from_secs(30);
        loop {
            while let Ok(x) = rx.try_recv() {
                queue.push_back(x);
                sampled += 1;
            }
            if open && rx.is_closed() && rx.is_empty() {
                open = false;
            }
            while let Some((id, at)) = queue.front() {
                let path = format!("/v1/evidence/{id}");
                match poll
                    .send(Method::GET, &path, Some(&key), Bytes::new())
                    .await
                {
                    Ok((200, body)) if body.windows(16).any(|x| x == br#""status":"final""#) => {
                        ttf_us.push(at.elapsed().as_micros() as u32);
                        queue.pop_front();
                    }
                    _ => break,
                }
            }
            if (!open && queue.is_empty()) || Instant::now() > give_up {
                return (ttf_us, sampled);
            }
            tokio::time::sleep(poll_every).await;
        }
    });
    let mut total = Tally::default();
    for t in tasks {
        total.merge(t.await.unwrap());
    }
    let cpu = cpu.await.unwrap();
    let (mut ttf, sampled) = poller.await.unwrap();
    ttf.sort_unstable();
    let submitted = finish(total, &w, cpu, clk_tck());
    TtfResult {
        offered: k.ttf_rate,
        achieved: submitted.rate,
        submit_p99_ms: submitted.p99_ms,
        sampled,
        finals: ttf.len(),
        p50_ms: percentile_ms(&ttf, 0.5),
        p99_ms: percentile_ms(&ttf, 0.99),
        max_ms: ttf.last().map(|x| *x as f64 / 1000.0).unwrap_or(f64::NAN),
        errors: submitted.errors,
        cpu: submitted.cpu,
    }
}

#[derive(Debug, Default)]
struct StoreFigures {
    single: PhaseResult,
    single_commits: String,
    batch: PhaseResult,
    batch_commits: String,
    ttf: TtfResult,
    drain_rate: f64,
}

async fn bench_notary(store: &str, db: Option<&str>, k: &Knobs) -> StoreFigures {
    let n = start_notary(store, db, k);
    let url = n.proc.url.clone();
    wait_ready(&url).await;
    // d. Time to final first, on an idle notary.
    let mut f = StoreFigures {
        ttf: time_to_final(&n, k).await,
        ..StoreFigures::default()
    };
    println!(
        "  [{store}] time to final at {:.0}/s offered ({:.0}/s achieved, submit p99 {:.1} ms): \
         p50 {:.0} ms p99 {:.0} ms max {:.0} ms over {}/{} sampled ids; errors {}; {}",
        f.ttf.offered,
        f.ttf.achieved,
        f.ttf.submit_p99_ms,
        f.ttf.p50_ms,
        f.ttf.p99_ms,
        f.ttf.max_ms,
        f.ttf.finals,
        f.ttf.sampled,
        f.ttf.errors,
        f.ttf.cpu
    );
    drain(&url, k).await;

    // b. Single submissions, closed loop.
    let a = scrape(&url).await;
    f.single = http_closed_loop(
        n.addr,
        "/v1/evidence",
        Some(n.key.clone()),
        k.conns,
        k,
        &n.watched,
        Arc::new(|w, i| (single_body(w, i), 1)),
    )
    .await;
    let b = scrape(&url).await;
    f.single_commits = commit_summary(&a, &b);
    println!(
        "  [{store}] single: {:.0} submissions/s, p50 {:.2} ms p99 {:.2} ms, errors {} [{}]; {}; {}; \
         CPU per submission: notary {:.1} us, postgres {:.1} us",
        f.single.rate,
        f.single.p50_ms,
        f.single.p99_ms,
        f.single.errors,
        f.single.statuses,
        f.single_commits,
        f.single.cpu,
        f.single.server_us,
        f.single.postgres_us
    );
    let (secs, entries, done) = drain(&url, k).await;
    println!(
        "  [{store}] drained the backlog in {secs:.1} s ({entries:.0} entries finalised{})",
        if done { "" } else { ", NOT finished" }
    );

    // c. Batches.
    let items = k.batch;
    let a = scrape(&url).await;
    f.batch = http_closed_loop(
        n.addr,
        "/v1/evidence:batch",
        Some(n.key.clone()),
        k.batch_conns,
        k,
        &n.watched,
        Arc::new(move |w, i| (batch_body(w, i, items), items as u64)),
    )
    .await;
    let b = scrape(&url).await;
    f.batch_commits = commit_summary(&a, &b);
    println!(
        "  [{store}] batch of {items}: {:.0} digests/s, p50 {:.1} ms p99 {:.1} ms, errors {} [{}]; {}; {}; \
         CPU per digest: notary {:.1} us, postgres {:.1} us",
        f.batch.rate,
        f.batch.p50_ms,
        f.batch.p99_ms,
        f.batch.errors,
        f.batch.statuses,
        f.batch_commits,
        f.batch.cpu,
        f.batch.server_us,
        f.batch.postgres_us
    );
    let (secs, entries, done) = drain(&url, k).await;
    f.drain_rate = entries / secs.max(1e-3);
    println!(
        "  [{store}] sequenced and finalised the backlog: {entries:.0} entries in {secs:.1} s \
         ({:.0}/s){}",
        f.drain_rate,
        if done { "" } else { ", NOT finished (bounded)" }
    );
    f
}

// ---------------------------------------------------------------- report

struct Row {
    figure: String,
    value: String,
    baseline: String,
    ratio: String,
    goal: String,
    met: String,
}

fn yes(b: bool) -> String {
    if b { "met" } else { "NOT met" }.into()
}

fn print_table(rows: &[Row]) {
    let headers = ["figure", "value", "baseline", "ratio", "goal", "met"];
    let cells: Vec<[&str; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.as_str(),
                r.value.as_str(),
                r.baseline.as_str(),
                r.ratio.as_str(),
                r.goal.as_str(),
                r.met.as_str(),
            ]
        })
        .collect();
    let mut width = headers.map(str::len);
    for c in &cells {
        for (i, s) in c.iter().enumerate() {
            width[i] = width[i].max(s.len());
        }
    }
    let line = |c: [&str; 6]| {
        let mut s = String::from("|");
        for (i, x) in c.iter().enumerate() {
            let _ = write!(s, " {x:<w$} |", w = width[i]);
        }
        println!("{s}");
    };
    line(headers);
    let mut sep = String::from("|");
    for w in width {
        let _ = write!(sep, "{}|", "-".repeat(w + 2));
    }
    println!("{sep}");
    for c in cells {
        line(c);
    }
}

fn main() {
    // `cargo test --all-targets` runs bench targets without `--bench`: do
    // nothing then; only `cargo bench` drives load.
    if std::env::var_os("NOTARIUM_BENCH_ECHO_SERVER").is_some() {
        run_echo_server();
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("load: run with `cargo bench --bench load` (see docs/benchmarks.md)");
        return;
    }
    let k = Knobs::from_env();
    ensure_witness_bin();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(k.client_threads)
        .enable_all()
        .build()
        .unwrap();
    match std::env::var("NOTARIUM_BENCH_GROWTH") {
        Ok(sizes) => {
            let sizes: Vec<u64> = sizes
                .split(',')
                .map(|s| {
                    s.trim()
                        .parse()
                        .expect("NOTARIUM_BENCH_GROWTH: sizes, e.g. 1000000,10000000")
                })
                .collect();
            rt.block_on(growth(k, sizes));
        }
        Err(_) => rt.block_on(run(k)),
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
        / 1024;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{} x {cpu}, {mem} GiB RAM, load average {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

async fn run(k: Knobs) {
    let started = Instant::now();
    println!("notarium load bench: {}", machine());
    println!("knobs: {k:?}");

    // a. Baselines.
    let pg = PgDb::new("bench_baseline");
    execute_each(&pg.url, &[BASELINE_DDL]).await;
    let pg1 = pg_baseline(&pg.url, k.pg_clients, 1, &k).await;
    println!(
        "  baseline PostgreSQL 1-row commits, {} clients: {:.0}/s, p50 {:.2} ms p99 {:.2} ms; {}; \
         postgres CPU {:.1} us per commit",
        k.pg_clients, pg1.rate, pg1.p50_ms, pg1.p99_ms, pg1.cpu, pg1.postgres_us
    );
    let pg100 = pg_baseline(&pg.url, k.pg_clients, 100, &k).await;
    println!(
        "  baseline PostgreSQL 100-row commits, {} clients: {:.0} rows/s, p50 {:.2} ms p99 {:.2} ms; {}; \
         postgres CPU {:.1} us per row",
        k.pg_clients, pg100.rate, pg100.p50_ms, pg100.p99_ms, pg100.cpu, pg100.postgres_us
    );
    drop(pg);
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
    let echo = {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.env("NOTARIUM_BENCH_ECHO_SERVER", "1");
        let p = spawn_until_listening(cmd, "echo listening on ");
        let addr = url_addr(&p.url);
        let watched = Watched {
            notary: Some(p.child.id()),
            witnesses: vec![],
        };
        let r = http_closed_loop(
            addr,
            "/v1/evidence",
            None,
            k.conns,
            &k,
            &watched,
            Arc::new(|w, i| (single_body(w, i), 1)),
        )
        .await;
        drop(p);
        r
    };
    println!(
        "  baseline actix-web JSON handler, no storage, {} connections: {:.0}/s, p50 {:.2} ms p99 {:.2} ms, errors {}; {} (\"notary\" = the echo server); \
         server CPU {:.1} us per request",
        k.conns, echo.rate, echo.p50_ms, echo.p99_ms, echo.errors, echo.cpu, echo.server_us
    );

    // b-d. The notary.
    let mut figures: BTreeMap<String, StoreFigures> = BTreeMap::new();
    for store in &k.stores {
        match store.as_str() {
            "postgres" => {
                let db = PgDb::new("bench_notary");
                let f = bench_notary("postgres", Some(&db.url), &k).await;
                figures.insert("postgres".into(), f);
                // Stop the notary before dropping its database.
            }
            "sqlite" => {
                let f = bench_notary("sqlite", None, &k).await;
                figures.insert("sqlite".into(), f);
            }
            other => println!("  unknown store {other:?} skipped"),
        }
    }

    // The table.
    let mut rows = vec![
        Row {
            figure: format!("PostgreSQL 1-row commits/s ({} clients)", k.pg_clients),
            value: format!("{:.0}", pg1.rate),
            baseline: "-".into(),
            ratio: "-".into(),
            goal: "baseline".into(),
            met: "-".into(),
        },
        Row {
            figure: format!(
                "PostgreSQL 100-row commits, rows/s ({} clients)",
                k.pg_clients
            ),
            value: format!("{:.0}", pg100.rate),
            baseline: "-".into(),
            ratio: "-".into(),
            goal: "baseline".into(),
            met: "-".into(),
        },
        Row {
            figure: "SQLite 1-row commits/s (1 writer)".into(),
            value: format!("{:.0}", sq1.rate),
            baseline: "-".into(),
            ratio: "-".into(),
            goal: "baseline".into(),
            met: "-".into(),
        },
        Row {
            figure: format!("actix JSON, no storage, req/s ({} conns)", k.conns),
            value: format!("{:.0}", echo.rate),
            baseline: "-".into(),
            ratio: "-".into(),
            goal: "baseline".into(),
            met: "-".into(),
        },
    ];
    let mut summary = format!(
        "summary: pg1={:.0} pg100={:.0} sqlite1={:.0} actix={:.0}",
        pg1.rate, pg100.rate, sq1.rate, echo.rate
    );
    if let Some(f) = figures.get("postgres") {
        let r = f.single.rate / pg1.rate;
        rows.push(Row {
            figure: "notary/PostgreSQL single submissions/s".into(),
            value: format!("{:.0}", f.single.rate),
            baseline: format!("{:.0} (PG 1-row)", pg1.rate),
            ratio: format!("{r:.2}x"),
            goal: ">= 2.5x and >= 20000/s".into(),
            met: format!(
                "ratio {}, absolute {}",
                yes(r >= 2.5),
                yes(f.single.rate >= 20_000.0)
            ),
        });
        rows.push(Row {
            figure: "  same, vs the HTTP ceiling".into(),
            value: format!("{:.0}", f.single.rate),
            baseline: format!("{:.0} (actix)", echo.rate),
            ratio: format!("{:.2}x", f.single.rate / echo.rate),
            goal: "-".into(),
            met: "-".into(),
        });
        rows.push(Row {
            figure: "  notary CPU per submission (PostgreSQL)".into(),
            value: format!("{:.1} us", f.single.server_us),
            baseline: format!("{:.1} us (actix req)", echo.server_us),
            ratio: format!("{:.2}x", f.single.server_us / echo.server_us),
            goal: "-".into(),
            met: "-".into(),
        });
        rows.push(Row {
            figure: "  postgres CPU per submission".into(),
            value: format!("{:.1} us", f.single.postgres_us),
            baseline: format!("{:.1} us (PG 1-row)", pg1.postgres_us),
            ratio: format!("{:.2}x", f.single.postgres_us / pg1.postgres_us),
            goal: "-".into(),
            met: "-".into(),
        });
        rows.push(Row {
            figure: "notary/PostgreSQL single p50 / p99 latency".into(),
            value: format!("{:.1} / {:.1} ms", f.single.p50_ms, f.single.p99_ms),
            baseline: format!("{:.1} / {:.1} ms (PG 1-row)", pg1.p50_ms, pg1.p99_ms),
            ratio: "-".into(),
            goal: "p99 <= 50 ms".into(),
            met: yes(f.single.p99_ms <= 50.0),
        });
        let rb = f.batch.rate / pg100.rate;
        rows.push(Row {
            figure: format!("notary/PostgreSQL digests/s in batches of {}", k.batch),
            value: format!("{:.0}", f.batch.rate),
            baseline: format!("{:.0} (PG 100-row)", pg100.rate),
            ratio: format!("{rb:.2}x"),
            goal: ">= 150000/s (0.77x)".into(),
            met: format!(
                "ratio {}, absolute {}",
                yes(rb >= 150.0 / 196.0),
                yes(f.batch.rate >= 150_000.0)
            ),
        });
        rows.push(ttf_row("PostgreSQL", &f.ttf));
        rows.push(Row {
            figure: "notary/PostgreSQL backlog sequenced+final/s".into(),
            value: format!("{:.0}", f.drain_rate),
            baseline: "-".into(),
            ratio: "-".into(),
            goal: "-".into(),
            met: "-".into(),
        });
        let _ = write!(
            summary,
            " actix_cpu_us={:.1} pg_single={:.0} pg_single_ratio={r:.2} pg_cpu_us={:.1} pg_p50={:.1} pg_p99={:.1} pg_batch={:.0} pg_batch_ratio={rb:.2} pg_ttf_p50={:.0} pg_ttf_p99={:.0}",
            echo.server_us,
            f.single.rate,
            f.single.server_us,
            f.single.p50_ms,
            f.single.p99_ms,
            f.batch.rate,
            f.ttf.p50_ms,
            f.ttf.p99_ms
        );
    }
    if let Some(f) = figures.get("sqlite") {
        let r = f.single.rate / sq1.rate;
        let rh = f.single.rate / echo.rate;
        rows.push(Row {
            figure: "notary/SQLite single submissions/s".into(),
            value: format!("{:.0}", f.single.rate),
            baseline: format!("{:.0} (SQLite 1-row)", sq1.rate),
            ratio: format!("{r:.2}x"),
            goal: ">= 15000/s (0.27x actix)".into(),
            met: format!(
                "vs actix {}, absolute {}",
                yes(rh >= 15.0 / 56.0),
                yes(f.single.rate >= 15_000.0)
            ),
        });
        rows.push(Row {
            figure: "  same, vs the HTTP ceiling".into(),
            value: format!("{:.0}", f.single.rate),
            baseline: format!("{:.0} (actix)", echo.rate),
            ratio: format!("{rh:.2}x"),
            goal: "-".into(),
            met: "-".into(),
        });
        rows.push(Row {
            figure: "  notary CPU per submission (SQLite)".into(),
            value: format!("{:.1} us", f.single.server_us),
            baseline: format!("{:.1} us (actix req)", echo.server_us),
            ratio: format!("{:.2}x", f.single.server_us / echo.server_us),
            goal: "-".into(),
            met: "-".into(),
        });
        rows.push(Row {
            figure: "notary/SQLite single p50 / p99 latency".into(),
            value: format!("{:.1} / {:.1} ms", f.single.p50_ms, f.single.p99_ms),
            baseline: format!("{:.1} / {:.1} ms (SQLite 1-row)", sq1.p50_ms, sq1.p99_ms),
            ratio: "-".into(),
            goal: "p99 <= 50 ms".into(),
            met: yes(f.single.p99_ms <= 50.0),
        });
        rows.push(Row {
            figure: format!("notary/SQLite digests/s in batches of {}", k.batch),
            value: format!("{:.0}", f.batch.rate),
            baseline: format!("{:.0} (PG 100-row)", pg100.rate),
            ratio: format!("{:.2}x", f.batch.rate / pg100.rate),
            goal: "(>= 150000/s is for PG)".into(),
            met: "-".into(),
        });
        rows.push(ttf_row("SQLite", &f.ttf));
        rows.push(Row {
            figure: "notary/SQLite backlog sequenced+final/s".into(),
            value: format!("{:.0}", f.drain_rate),
            baseline: "-".into(),
            ratio: "-".into(),
            goal: "-".into(),
            met: "-".into(),
        });
        let _ = write!(
            summary,
            " sq_single={:.0} sq_single_vs_actix={rh:.2} sq_cpu_us={:.1} sq_p50={:.1} sq_p99={:.1} sq_batch={:.0} sq_ttf_p50={:.0} sq_ttf_p99={:.0}",
            f.single.rate,
            f.single.server_us,
            f.single.p50_ms,
            f.single.p99_ms,
            f.batch.rate,
            f.ttf.p50_ms,
            f.ttf.p99_ms
        );
    }
    println!();
    print_table(&rows);
    println!();
    println!("{summary}");
    println!(
        "elapsed {:.0} s; absolute figures are noisy on a shared machine, ratios less so",
        started.elapsed().as_secs_f64()
    );
}

fn ttf_row(store: &str, t: &TtfResult) -> Row {
    Row {
        figure: format!(
            "notary/{store} time to final p50 / p99 at {:.0}/s",
            t.offered
        ),
        value: format!("{:.0} / {:.0} ms", t.p50_ms, t.p99_ms),
        baseline: format!("{}/{} ids final", t.finals, t.sampled),
        ratio: "-".into(),
        goal: "p50 <= 1000, p99 <= 2000 ms".into(),
        met: yes(t.p50_ms <= 1000.0
            && t.p99_ms <= 2000.0
            && t.finals == t.sampled
            && t.sampled > 0),
    }
}

// ---------------------------------------------------------------- growth

/// Resident and peak memory of a process, in MB.
fn rss_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Latencies of `count` proof requests made one after another on one
/// connection (no queueing), each for a random position in a log of `size`.
async fn proof_latencies(
    addr: SocketAddr,
    size: u64,
    count: usize,
    consistency: bool,
) -> (f64, f64, u64) {
    let mut c = Http::connect(addr).await.expect("connect");
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ size;
    let mut lat = Vec::with_capacity(count);
    let mut errors = 0;
    for _ in 0..count {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let path = if consistency {
            format!(
                "/v1/proof/consistency?old={}&new={size}",
                1 + x % (size - 1).max(1)
            )
        } else {
            format!("/v1/proof/inclusion?index={}&size={size}", x % size)
        };
        let started = Instant::now();
        match c.send(Method::GET, &path, None, Bytes::new()).await {
            Ok((200, _)) => lat.push(started.elapsed().as_micros().min(u32::MAX as u128) as u32),
            _ => errors += 1,
        }
    }
    lat.sort_unstable();
    (percentile_ms(&lat, 0.50), percentile_ms(&lat, 0.99), errors)
}

struct GrowthRow {
    size: u64,
    load_rate: f64,
    single: PhaseResult,
    rss: (f64, f64),
    inclusion: (f64, f64, u64),
    consistency: (f64, f64, u64),
}

/// Runs each SQL text (one `batch_execute` each) on a connection of its
/// own, closed afterwards; returns the seconds it took. Panics on failure.
async fn execute_each(url: &str, statements: &[&str]) -> f64 {
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

/// Submission rate, proof latency and notary memory at growing log sizes on
/// PostgreSQL: measured on an empty log, then after `admin bulk-load` grew
/// it to each size (the notary restarted on the grown log, as after an
/// upgrade). The rate at size 0 is the baseline.
async fn growth(k: Knobs, sizes: Vec<u64>) {
    println!("notarium growth bench: {}", machine());
    println!("knobs: {k:?}; sizes {sizes:?}");
    let vacuum = env_or("NOTARIUM_BENCH_GROWTH_VACUUM", 0u8) == 1;
    println!("VACUUM after each bulk load: {vacuum}");
    // A variant's change (for example dropping an index) applied before a
    // size is measured a second time: "10000000,10000000" measures the grown
    // log as loaded, then with this SQL applied, in one run.
    let repeat_sql = std::env::var("NOTARIUM_BENCH_GROWTH_SQL").ok();
    let pg = PgDb::new("bench_growth");
    let mut n = start_notary("postgres", Some(&pg.url), &k);
    let cfg = n._dir.path().join("notary.toml");
    let mut rows: Vec<GrowthRow> = Vec::new();
    let mut size = 0u64;
    for target in std::iter::once(0).chain(sizes) {
        let mut load_rate = f64::NAN;
        if target > size {
            n.proc.kill9();
            let started = Instant::now();
            let out = Command::new(notary_bin())
                .args(["admin", "--config"])
                .arg(&cfg)
                .args(["bulk-load", "--tenant", "bench-tenant", "--entries"])
                .arg((target - size).to_string())
                .env("DATABASE_URL", &pg.url)
                .output()
                .expect("notarium admin bulk-load");
            assert!(
                out.status.success(),
                "bulk-load: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            load_rate = (target - size) as f64 / started.elapsed().as_secs_f64();
            println!("  bulk-loaded {} entries: {load_rate:.0}/s", target - size);
            if vacuum {
                // What autovacuum does in a production PostgreSQL (it is off
                // on some test machines), and a checkpoint so that the
                // loader's dirty pages are not written during the window.
                // One statement each: VACUUM cannot run in the implicit
                // transaction of a multi-statement query.
                let secs = execute_each(&pg.url, &["VACUUM (ANALYZE)", "CHECKPOINT"]).await;
                println!("  VACUUM (ANALYZE), CHECKPOINT: {secs:.1} s");
            }
            n.proc = spawn_notary(&cfg, Some(&pg.url), &k);
            n.watched.notary = Some(n.proc.child.id());
            n.addr = url_addr(&n.proc.url);
        }
        if target > 0
            && target <= size
            && let Some(sql) = &repeat_sql
        {
            let secs = execute_each(&pg.url, &[sql.as_str()]).await;
            println!("  applied NOTARIUM_BENCH_GROWTH_SQL ({secs:.1} s): {sql}");
        }
        let url = n.proc.url.clone();
        wait_ready(&url).await;
        drain(&url, &k).await;
        let single = http_closed_loop(
            n.addr,
            "/v1/evidence",
            Some(n.key.clone()),
            k.conns,
            &k,
            &n.watched,
            Arc::new(|w, i| (single_body(w, i), 1)),
        )
        .await;
        drain(&url, &k).await;
        let rss = rss_mb(n.proc.child.id());
        size = metric(&scrape(&url).await, "notarium_log_size") as u64;
        let inclusion = proof_latencies(n.addr, size, 2000, false).await;
        let consistency = proof_latencies(n.addr, size, 2000, true).await;
        println!(
            "  [size {size}] single: {:.0}/s p99 {:.1} ms errors {}; RSS {:.0} MB (peak {:.0}); \
             inclusion p50 {:.2} p99 {:.2} ms; consistency p50 {:.2} p99 {:.2} ms; {}",
            single.rate,
            single.p99_ms,
            single.errors,
            rss.0,
            rss.1,
            inclusion.0,
            inclusion.1,
            consistency.0,
            consistency.1,
            single.cpu
        );
        rows.push(GrowthRow {
            size,
            load_rate,
            single,
            rss,
            inclusion,
            consistency,
        });
    }
    drop(n);
    let base = rows[0].single.rate;
    println!();
    println!(
        "| log size | submissions/s | vs size 0 (goal >= 0.9) | submit p99 ms | notary RSS MB (peak) | inclusion p50/p99 ms | consistency p50/p99 ms | bulk load/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.0} | {:.2} | {:.1} | {:.0} ({:.0}) | {:.2} / {:.2} | {:.2} / {:.2} | {} |",
            r.size,
            r.single.rate,
            r.single.rate / base,
            r.single.p99_ms,
            r.rss.0,
            r.rss.1,
            r.inclusion.0,
            r.inclusion.1,
            r.consistency.0,
            r.consistency.1,
            if r.load_rate.is_nan() {
                "-".into()
            } else {
                format!("{:.0}", r.load_rate)
            },
        );
    }
    let proof_errors: u64 = rows.iter().map(|r| r.inclusion.2 + r.consistency.2).sum();
    println!("proof request errors: {proof_errors}");
}
