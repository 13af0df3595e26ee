//! The notary under load, on each store: time to final at a fixed offered
//! rate, single submissions and batches in closed loops, and how fast each
//! backlog is sequenced and finalised.

use crate::client::{Http, batch_body, id_of, single_body};
use crate::common::PgDb;
use crate::counters::{CpuUse, clk_tck, cpu_task};
use crate::knobs::Knobs;
use crate::measure::{
    Latencies, PhaseResult, Tally, Window, finish, http_closed_loop, join_tallies, micros,
};
use crate::notary::{Notary, commit_summary, drain, scrape, start_notary, wait_ready};
use hyper::Method;
use hyper::body::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub(crate) struct TtfResult {
    pub offered: f64,
    pub achieved: f64,
    pub submit_p99_ms: f64,
    pub sampled: usize,
    pub finals: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
    pub cpu: CpuUse,
}

/// What the bench measured of the notary on one store.
#[derive(Debug, Default)]
pub(crate) struct StoreFigures {
    pub single: PhaseResult,
    pub single_commits: String,
    pub batch: PhaseResult,
    pub batch_commits: String,
    pub ttf: TtfResult,
    pub drain_rate: f64,
}

/// Measures the notary on each store named in the knobs, in that order.
pub(crate) async fn measure_stores(k: &Knobs) -> BTreeMap<String, StoreFigures> {
    let mut figures: BTreeMap<String, StoreFigures> = BTreeMap::new();
    for store in &k.stores {
        match store.as_str() {
            "postgres" => {
                let db = PgDb::new("bench_notary");
                let f = bench_notary("postgres", Some(&db.url), k).await;
                figures.insert("postgres".into(), f);
                // Stop the notary before dropping its database.
            }
            "sqlite" => {
                let f = bench_notary("sqlite", None, k).await;
                figures.insert("sqlite".into(), f);
            }
            other => println!("  unknown store {other:?} skipped"),
        }
    }
    figures
}

/// Phases b-d on a fresh notary: time to final first (on an idle
/// notary), then single submissions, then batches, each followed by
/// draining the backlog it left.
async fn bench_notary(store: &str, db: Option<&str>, k: &Knobs) -> StoreFigures {
    let n = start_notary(store, db, k);
    let url = n.proc.url.clone();
    wait_ready(&url).await;
    let mut f = StoreFigures {
        ttf: time_to_final_phase(store, &n, k).await,
        ..StoreFigures::default()
    };
    drain(&url, k).await;
    (f.single, f.single_commits) = single_phase(store, &n, k).await;
    let (secs, entries, done) = drain(&url, k).await;
    println!(
        "  [{store}] drained the backlog in {secs:.1} s ({entries:.0} entries finalised{})",
        if done { "" } else { ", NOT finished" }
    );
    (f.batch, f.batch_commits) = batch_phase(store, &n, k).await;
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

/// d. Time to final, printed.
async fn time_to_final_phase(store: &str, n: &Notary, k: &Knobs) -> TtfResult {
    let t = time_to_final(n, k).await;
    println!(
        "  [{store}] time to final at {:.0}/s offered ({:.0}/s achieved, submit p99 {:.1} ms): \
         p50 {:.0} ms p99 {:.0} ms max {:.0} ms over {}/{} sampled ids; errors {}; {}",
        t.offered,
        t.achieved,
        t.submit_p99_ms,
        t.p50_ms,
        t.p99_ms,
        t.max_ms,
        t.finals,
        t.sampled,
        t.errors,
        t.cpu
    );
    t
}

/// b. Single submissions in a closed loop, with the commit groups they
/// made; printed.
async fn single_phase(store: &str, n: &Notary, k: &Knobs) -> (PhaseResult, String) {
    let a = scrape(&n.proc.url).await;
    let single = single_submissions(n, k).await;
    let b = scrape(&n.proc.url).await;
    let commits = commit_summary(&a, &b);
    println!(
        "  [{store}] single: {:.0} submissions/s, p50 {:.2} ms p99 {:.2} ms, errors {} [{}]; {}; {}; \
         CPU per submission: notary {:.1} us, postgres {:.1} us",
        single.rate,
        single.p50_ms,
        single.p99_ms,
        single.errors,
        single.statuses,
        commits,
        single.cpu,
        single.server_us,
        single.postgres_us
    );
    (single, commits)
}

/// `POST /v1/evidence` in a closed loop on `k.conns` connections.
pub(crate) async fn single_submissions(n: &Notary, k: &Knobs) -> PhaseResult {
    http_closed_loop(
        n.addr,
        "/v1/evidence",
        Some(n.key.clone()),
        k.conns,
        k,
        &n.watched,
        Arc::new(|w, i| (single_body(w, i), 1)),
    )
    .await
}

/// c. Batches of `k.batch` items in a closed loop, with the commit groups
/// they made; printed.
async fn batch_phase(store: &str, n: &Notary, k: &Knobs) -> (PhaseResult, String) {
    let items = k.batch;
    let a = scrape(&n.proc.url).await;
    let batch = http_closed_loop(
        n.addr,
        "/v1/evidence:batch",
        Some(n.key.clone()),
        k.batch_conns,
        k,
        &n.watched,
        Arc::new(move |w, i| (batch_body(w, i, items), items as u64)),
    )
    .await;
    let b = scrape(&n.proc.url).await;
    let commits = commit_summary(&a, &b);
    println!(
        "  [{store}] batch of {items}: {:.0} digests/s, p50 {:.1} ms p99 {:.1} ms, errors {} [{}]; {}; {}; \
         CPU per digest: notary {:.1} us, postgres {:.1} us",
        batch.rate,
        batch.p50_ms,
        batch.p99_ms,
        batch.errors,
        batch.statuses,
        commits,
        batch.cpu,
        batch.server_us,
        batch.postgres_us
    );
    (batch, commits)
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
                        t.lat_us.push(micros(done - started));
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
                        ttf_us.push(micros(at.elapsed()));
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
    let total = join_tallies(tasks).await;
    let cpu = cpu.await.unwrap();
    let (ttf, sampled) = poller.await.unwrap();
    let ttf = Latencies::new(ttf);
    let submitted = finish(total, &w, cpu, clk_tck());
    TtfResult {
        offered: k.ttf_rate,
        achieved: submitted.rate,
        submit_p99_ms: submitted.p99_ms,
        sampled,
        finals: ttf.len(),
        p50_ms: ttf.percentile_ms(0.5),
        p99_ms: ttf.percentile_ms(0.99),
        max_ms: ttf.max_ms(),
        errors: submitted.errors,
        cpu: submitted.cpu,
    }
}
