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
//!
//! Modules, in the order a run uses them:
//! - `knobs`: the settings, from the environment;
//! - `counters`: CPU, disk and memory counters from /proc;
//! - `client`: the HTTP/1.1 client and the request bodies;
//! - `measure`: a phase's window, tally, percentiles and closed loop;
//! - `baselines`: PostgreSQL, SQLite and the actix echo server;
//! - `notary`: starting the notary and its witnesses, admin commands,
//!   /metrics, readiness and draining;
//! - `notary_load`: the notary's phases on each store;
//! - `growth`: the growth benchmark (`NOTARIUM_BENCH_GROWTH`);
//! - `report`: the tables and the summary line.

#[path = "../../tests/common/mod.rs"]
mod common;

mod baselines;
mod client;
mod counters;
mod growth;
mod knobs;
mod measure;
mod notary;
mod notary_load;
mod report;

use knobs::Knobs;
use std::time::Instant;

fn main() {
    // `cargo test --all-targets` runs bench targets without `--bench`: do
    // nothing then; only `cargo bench` drives load.
    if std::env::var_os("NOTARIUM_BENCH_ECHO_SERVER").is_some() {
        baselines::run_echo_server();
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("load: run with `cargo bench --bench load` (see docs/benchmarks.md)");
        return;
    }
    let k = Knobs::from_env();
    notary::ensure_witness_bin();
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
            rt.block_on(growth::growth(k, sizes));
        }
        Err(_) => rt.block_on(run(k)),
    }
}

/// One run: a. the baselines, b-d. the notary on each store, then the
/// report.
async fn run(k: Knobs) {
    let started = Instant::now();
    println!("notarium load bench: {}", counters::machine());
    println!("knobs: {k:?}");
    let base = baselines::measure(&k).await;
    let figures = notary_load::measure_stores(&k).await;
    report::print(&k, &base, &figures, started);
}
