//! A measurement, not a check (ignored by default): where the notary's TSA
//! stamping task finds its place after a restart, on a log of many final
//! checkpoints that all hold their tokens. Before, it walked them from
//! size 0 with two queries each (`first_final_covering`, then
//! `timestamp_tokens`); now `latest_final` and one
//! `first_final_lacking_tokens`. Both are timed on the same store in the
//! same run and reported as a ratio.
//!
//!   cargo nextest run -p notarium-store --test conformance \
//!     --run-ignored only --no-capture stamping

use crate::fixture::*;
use notarium_store::{Store, TimestampToken};
use std::time::Instant;

const CHECKPOINTS: u64 = 3_000;

async fn measure(kind: &str, s: &dyn Store) {
    put(s, (0..CHECKPOINTS).map(|n| entry(TENANT, n)).collect()).await;
    let lease = s.acquire_sequencer("seq").await.unwrap().unwrap();
    let mut seq = Seq::new();
    for size in 1..=CHECKPOINTS {
        seq.sequence(s, &lease, 1).await;
        s.finalize(&final_cp(size, "f")).await.unwrap();
        let token = TimestampToken {
            size,
            tsa: "http://tsa.example/".into(),
            token: vec![0x30; 1270],
            gen_time: 1_764_000_000,
            stored_ms: 1_764_000_000_000 + size as i64,
        };
        s.add_timestamp_token(&token).await.unwrap();
    }

    let t = Instant::now();
    let (mut stamped, mut queries) = (0u64, 0u64);
    while let Some(fin) = s.first_final_covering(stamped).await.unwrap() {
        assert_eq!(s.timestamp_tokens(fin.size).await.unwrap().len(), 1);
        stamped = fin.size;
        queries += 2;
    }
    let walk = t.elapsed();
    assert_eq!(stamped, CHECKPOINTS);

    // Twice: the first also prepares its statements; the second is a
    // restart on a warm store. The slower of the two is reported.
    let mut one = std::time::Duration::ZERO;
    for _ in 0..2 {
        let t = Instant::now();
        let latest = s.latest_final().await.unwrap().unwrap();
        let lacking = s.first_final_lacking_tokens(0, latest.size, 1);
        assert!(lacking.await.unwrap().is_none());
        one = one.max(t.elapsed());
    }
    println!(
        "{kind}: finding the stamping task's place among {CHECKPOINTS} stamped final checkpoints: \
         the walk {walk:?} ({queries} queries), now {one:?} (2 queries): {:.0} x faster",
        walk.as_secs_f64() / one.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn stamping_resume_sqlite() {
    let (_dir, _path, store) = sqlite_store_with_tenants().await;
    measure("SQLite", &store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn stamping_resume_postgres() {
    let (_db, store, _raw) = pg_store_with_tenants().await;
    measure("PostgreSQL", &store).await;
}
