//! The growth benchmark (`NOTARIUM_BENCH_GROWTH`): submission rate, proof
//! latency and notary memory at growing log sizes on PostgreSQL.

use crate::baselines::execute_each;
use crate::client::Http;
use crate::common::PgDb;
use crate::counters::{machine, rss_mb};
use crate::knobs::{Knobs, env_or};
use crate::measure::{Latencies, PhaseResult, micros};
use crate::notary::{Notary, drain, metric, notary_bin, scrape, start_notary, wait_ready};
use crate::notary_load::single_submissions;
use crate::report::print_growth_table;
use hyper::Method;
use hyper::body::Bytes;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Instant;

/// What was measured at one log size.
pub(crate) struct GrowthRow {
    pub size: u64,
    /// Entries/s of the bulk load that grew the log to this size; NaN
    /// where nothing was loaded.
    pub load_rate: f64,
    pub single: PhaseResult,
    /// Resident and peak memory of the notary, MB.
    pub rss: (f64, f64),
    /// p50 and p99 in ms, and the requests that failed.
    pub inclusion: (f64, f64, u64),
    pub consistency: (f64, f64, u64),
}

/// Submission rate, proof latency and notary memory at growing log sizes on
/// PostgreSQL: measured on an empty log, then after `admin bulk-load` grew
/// it to each size (the notary restarted on the grown log, as after an
/// upgrade). The rate at size 0 is the baseline.
pub(crate) async fn growth(k: Knobs, sizes: Vec<u64>) {
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
    let mut rows: Vec<GrowthRow> = Vec::new();
    let mut size = 0u64;
    for target in std::iter::once(0).chain(sizes) {
        let mut load_rate = f64::NAN;
        if target > size {
            load_rate = grow(&mut n, &pg.url, target - size, vacuum, &k).await;
        }
        if target > 0
            && target <= size
            && let Some(sql) = &repeat_sql
        {
            let secs = execute_each(&pg.url, &[sql.as_str()]).await;
            println!("  applied NOTARIUM_BENCH_GROWTH_SQL ({secs:.1} s): {sql}");
        }
        let row = measure_size(&n, load_rate, &k).await;
        size = row.size;
        rows.push(row);
    }
    drop(n);
    print_growth_table(&rows);
}

/// Stops the notary, appends `entries` with `notarium admin bulk-load`
/// (then VACUUM and CHECKPOINT if asked), and starts the notary on the
/// grown log; returns the loader's entries/s.
async fn grow(n: &mut Notary, db: &str, entries: u64, vacuum: bool, k: &Knobs) -> f64 {
    n.proc.kill9();
    let started = Instant::now();
    let out = Command::new(notary_bin())
        .args(["admin", "--config"])
        .arg(n.dir.path().join("notary.toml"))
        .args(["bulk-load", "--tenant", "bench-tenant", "--entries"])
        .arg(entries.to_string())
        .env("DATABASE_URL", db)
        .output()
        .expect("notarium admin bulk-load");
    assert!(
        out.status.success(),
        "bulk-load: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let load_rate = entries as f64 / started.elapsed().as_secs_f64();
    println!("  bulk-loaded {entries} entries: {load_rate:.0}/s");
    if vacuum {
        // What autovacuum does in a production PostgreSQL (it is off
        // on some test machines), and a checkpoint so that the
        // loader's dirty pages are not written during the window.
        // One statement each: VACUUM cannot run in the implicit
        // transaction of a multi-statement query.
        let secs = execute_each(db, &["VACUUM (ANALYZE)", "CHECKPOINT"]).await;
        println!("  VACUUM (ANALYZE), CHECKPOINT: {secs:.1} s");
    }
    n.restart(Some(db), k);
    load_rate
}

/// Single submissions in a closed loop, the notary's memory, then proof
/// latencies over the whole log; printed.
async fn measure_size(n: &Notary, load_rate: f64, k: &Knobs) -> GrowthRow {
    let url = n.proc.url.clone();
    wait_ready(&url).await;
    drain(&url, k).await;
    let single = single_submissions(n, k).await;
    drain(&url, k).await;
    let rss = rss_mb(n.proc.child.id());
    let size = metric(&scrape(&url).await, "notarium_log_size") as u64;
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
    GrowthRow {
        size,
        load_rate,
        single,
        rss,
        inclusion,
        consistency,
    }
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
            Ok((200, _)) => lat.push(micros(started.elapsed())),
            _ => errors += 1,
        }
    }
    let lat = Latencies::new(lat);
    (lat.percentile_ms(0.50), lat.percentile_ms(0.99), errors)
}
