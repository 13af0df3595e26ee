//! Overload: a flood of submissions at several times the configured
//! capacity (a per-key rate limit and a small intake queue, set in the
//! `[limits]` section). The notary answers every request quickly, with 202,
//! 429 (with Retry-After) or 503 (with Retry-After) and nothing else; it
//! never hangs; nothing it acknowledged is lost; its memory stays bounded
//! (also when many clients send the largest batches at once) and does not
//! grow from one wave to the next; and it serves normally once the flood
//! stops. The flood is bounded in requests and time and targets only
//! 127.0.0.1.

mod common;
mod robust;

use common::*;
use robust::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Entries per second per API key, and burst.
const RATE: u64 = 100;
const BURST: u64 = 50;
/// A batch larger than the burst (with 1 KiB of metadata per item).
const BIG_BATCH: u64 = 200;
/// Jobs waiting for their durable commit before 503.
const QUEUE: u64 = 4;
const KEYS: usize = 4;
/// Concurrent flooding connections, requests and seconds per wave.
const CONCURRENCY: usize = 48;
const WAVE_REQUESTS: u64 = 20000;
const WAVE_SECONDS: u64 = 4;
/// Heavy waves: connections each posting the largest batches (1000 items
/// with 4000 bytes of metadata each, about 4 MB per request).
const HEAVY_CONCURRENCY: usize = 64;
const HEAVY_ITEMS: usize = 1000;
const HEAVY_PAD: usize = 4000;
const HEAVY_SECONDS: u64 = 2;
/// Generous bound on the notary's resident memory.
const RSS_LIMIT_KB: u64 = 300 * 1024;

struct Wave {
    requests: u64,
    entries: u64,
    elapsed: Duration,
    peak_rss_kb: u64,
}

/// What the flooding workers post.
#[derive(Clone, Copy)]
enum Kind {
    /// Singles, batches of 10 and batches of `BIG_BATCH`, round robin over
    /// the keys.
    Mixed,
    /// The same prepared largest batch, over and over, with the last key.
    Heavy,
}

/// One wave of `kind` until its request count or time is reached, while
/// the notary's RSS is sampled every 50 ms.
async fn wave(
    n: u32,
    kind: Kind,
    url: &str,
    keys: &[String],
    pid: u32,
    ledger: &Arc<Ledger>,
) -> Wave {
    let sent = Arc::new(AtomicU64::new(0));
    let entries = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kb(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let (workers_n, seconds) = match kind {
        Kind::Mixed => (CONCURRENCY, WAVE_SECONDS),
        Kind::Heavy => (HEAVY_CONCURRENCY, HEAVY_SECONDS),
    };
    let heavy = Arc::new(match kind {
        Kind::Mixed => (Vec::new(), String::new()),
        Kind::Heavy => {
            let digests: Vec<String> = (0..HEAVY_ITEMS)
                .map(|j| hex_digest(format!("heavy/{n}/{j}").as_bytes()))
                .collect();
            let body = submission_body(&digests, HEAVY_PAD);
            (digests, body)
        }
    });
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for w in 0..workers_n {
        let key = match kind {
            Kind::Mixed => keys[w % (keys.len() - 1)].clone(),
            Kind::Heavy => keys[keys.len() - 1].clone(),
        };
        let url = url.to_string();
        let (sent, entries, ledger, heavy) =
            (sent.clone(), entries.clone(), ledger.clone(), heavy.clone());
        workers.push(tokio::spawn(async move {
            let http = timed_client(Duration::from_secs(10));
            let mut i = 0u64;
            while Instant::now() < end && sent.fetch_add(1, Ordering::Relaxed) < WAVE_REQUESTS {
                i += 1;
                let outcome = match kind {
                    Kind::Mixed => {
                        let (k, pad) = if i.is_multiple_of(8) {
                            (BIG_BATCH, 1000)
                        } else if i.is_multiple_of(4) {
                            (10, 0)
                        } else {
                            (1, 0)
                        };
                        let digests: Vec<String> = (0..k)
                            .map(|j| hex_digest(format!("flood/{n}/{w}/{i}/{j}").as_bytes()))
                            .collect();
                        entries.fetch_add(k, Ordering::Relaxed);
                        let body = submission_body(&digests, pad);
                        submit_body(&http, &url, &key, &body, &digests, &ledger).await
                    }
                    Kind::Heavy => {
                        entries.fetch_add(HEAVY_ITEMS as u64, Ordering::Relaxed);
                        submit_body(&http, &url, &key, &heavy.1, &heavy.0, &ledger).await
                    }
                };
                match outcome {
                    Outcome::Accepted(_) | Outcome::Status(_) => {}
                    o => panic!("the notary did not answer: {o:?}"),
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    let requests = sent.load(Ordering::Relaxed).min(WAVE_REQUESTS);
    Wave {
        requests,
        entries: entries.load(Ordering::Relaxed),
        elapsed,
        peak_rss_kb: peak.load(Ordering::Relaxed).max(rss_kb(pid)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_refused_politely_and_loses_nothing() {
    let dir = TempDir::new("flood");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let cfg = write_notary_config(
        dir.path(),
        &court.url,
        &arb.url,
        &format!(
            "[limits]\nper_key_rate = {RATE}\nper_key_burst = {BURST}\nintake_queue = {QUEUE}\n"
        ),
    );
    // KEYS flooding tenants, and one more for the heavy waves.
    let keys: Vec<String> = (0..=KEYS)
        .map(|i| tenant_with_key(&cfg, None, &format!("flood-{i}")))
        .collect();
    let notary = start_notary(&cfg, None);
    let pid = notary.child.id();
    let url = notary.url.clone();
    let http = timed_client(Duration::from_secs(10));

    // Warm up (one normal submission per key), then the baseline RSS.
    let ledger = Arc::new(Ledger::default());
    let flood_started = Instant::now();
    for k in &keys {
        let d = hex_digest(format!("warm-up {k}").as_bytes());
        let o = submit(&http, &url, k, &[d], &ledger).await;
        assert!(matches!(o, Outcome::Accepted(_)), "{o:?}");
    }
    let rss_before = rss_kb(pid);

    let w1 = wave(1, Kind::Mixed, &url, &keys, pid, &ledger).await;
    let w2 = wave(2, Kind::Mixed, &url, &keys, pid, &ledger).await;
    let flood_secs = flood_started.elapsed().as_secs_f64();
    let flood_acked = ledger.acked_count() as f64;
    let mixed_latency = ledger.max_latency_ms.load(Ordering::Relaxed);
    let h1 = wave(3, Kind::Heavy, &url, &keys, pid, &ledger).await;
    let h2 = wave(4, Kind::Heavy, &url, &keys, pid, &ledger).await;
    let rss_after = rss_kb(pid);
    let capacity = RATE * KEYS as u64;
    for (i, w) in [&w1, &w2, &h1, &h2].iter().enumerate() {
        let secs = w.elapsed.as_secs_f64();
        println!(
            "wave {}{}: {} requests ({} entries) in {secs:.1} s = {:.0} entries/s offered vs {capacity}/s allowed; peak RSS {} kB",
            i + 1,
            if i >= 2 { " (heavy)" } else { "" },
            w.requests,
            w.entries,
            w.entries as f64 / secs,
            w.peak_rss_kb
        );
        assert!(
            w.entries as f64 / secs >= 3.0 * capacity as f64,
            "the flood is not several times the capacity"
        );
    }
    println!(
        "RSS before {rss_before} kB, after {rss_after} kB; {}",
        ledger.summary()
    );

    // Every request was answered, quickly, with an expected status.
    ledger.assert_only_expected_statuses();
    assert_eq!(ledger.refused.load(Ordering::Relaxed), 0);
    assert_eq!(ledger.broken.load(Ordering::Relaxed), 0);
    assert!(
        ledger.status_count(429) > 0,
        "the rate limit never applied: {}",
        ledger.summary()
    );
    // The rate limit held: no key got more than its burst, its rate and
    // one oversized batch's debt.
    let allowed = KEYS as f64 * ((BURST + BIG_BATCH) as f64 + RATE as f64 * flood_secs);
    assert!(
        flood_acked <= allowed,
        "{flood_acked} entries accepted in {flood_secs:.1} s; the limits allow {allowed:.0}"
    );
    // Quick answers (uploading 4 MB bodies over 64 connections at once
    // takes longer, but still well within the client's 10 s timeout).
    let max_latency = ledger.max_latency_ms.load(Ordering::Relaxed);
    assert!(
        mixed_latency < 3000,
        "slowest answer in the mixed waves {mixed_latency} ms"
    );
    assert!(max_latency < 8000, "slowest answer {max_latency} ms");

    // Memory: bounded, and a second wave of a kind does not need more
    // than the first.
    for w in [&w1, &w2, &h1, &h2] {
        assert!(
            w.peak_rss_kb < RSS_LIMIT_KB,
            "peak RSS {} kB (limit {RSS_LIMIT_KB} kB)",
            w.peak_rss_kb
        );
    }
    for (a, b) in [(&w1, &w2), (&h1, &h2)] {
        assert!(
            b.peak_rss_kb <= a.peak_rss_kb + a.peak_rss_kb / 2 + 32 * 1024,
            "RSS keeps growing: first wave peak {} kB, second {} kB",
            a.peak_rss_kb,
            b.peak_rss_kb
        );
    }

    // Throughput returns: a normal submission is accepted once the client
    // honours Retry-After (polled with a deadline).
    let flood_ended = Instant::now();
    let d = hex_digest(b"after the flood");
    let calm = Ledger::default();
    eventually(
        "a normal submission after the flood",
        Duration::from_secs(10),
        || async {
            match submit(&http, &url, &keys[0], std::slice::from_ref(&d), &calm).await {
                Outcome::Accepted(ids) => Some(ids),
                _ => None,
            }
        },
    )
    .await;
    println!(
        "normal submission accepted {:.0} ms after the flood",
        flood_ended.elapsed().as_secs_f64() * 1e3
    );
    // And so does a batch larger than the burst: the client that honours
    // Retry-After gets it through (it cannot wait for more tokens than the
    // burst).
    let big: Vec<String> = (0..BIG_BATCH)
        .map(|i| hex_digest(format!("big batch after the flood {i}").as_bytes()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut tries = 0;
    loop {
        tries += 1;
        let resp = http
            .post(format!("{url}/v1/evidence:batch"))
            .bearer_auth(&keys[1])
            .json(&serde_json::json!({"items": big.iter().map(|d| serde_json::json!({"sha256": d})).collect::<Vec<_>>()}))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        if status == 202 {
            let v: serde_json::Value = resp.json().await.unwrap();
            let mut acked = calm.acked.lock().unwrap();
            for (item, d) in v["items"].as_array().unwrap().iter().zip(&big) {
                acked.push(Acked {
                    id: item["id"].as_str().unwrap().to_string(),
                    sha256: d.clone(),
                    key: keys[1].clone(),
                });
            }
            break;
        }
        assert!(matches!(status, 429 | 503), "big batch answered {status}");
        let wait: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            Instant::now() + Duration::from_secs(wait) < deadline,
            "a batch of {BIG_BATCH} (burst {BURST}) was still refused after {tries} tries honouring Retry-After (next: {wait} s)"
        );
        // Honour the server's Retry-After: this is the client's back-off.
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    println!("a batch of {BIG_BATCH} (burst {BURST}) accepted after {tries} tries");
    calm.assert_only_expected_statuses();
    ledger
        .acked
        .lock()
        .unwrap()
        .extend(calm.acked.lock().unwrap().drain(..));

    // Nothing acknowledged is lost: everything final, verified, gapless.
    let seen = Checkpoints::default();
    let audit = audit(&url, &ledger, &seen).await;
    assert_eq!(audit.uncertain_stored, 0);
    assert_eq!(
        audit.log_size, audit.acked as u64,
        "only acknowledged entries are in the log"
    );
    drop(notary);
    drop((court, arb));
}
