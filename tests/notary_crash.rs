//! Crash safety: `kill -9` the notary at random moments while several
//! clients submit, restart it (the witnesses keep running), and show that
//! every acknowledged submission is in the log and final with a verifying
//! certificate, that the log indices are exactly 0..n, and that every
//! checkpoint seen is consistent with every later one.
//!
//! The kill moments come from a seed printed at the start; replay one with
//! `NOTARIUM_CRASH_SEED=<seed>`.

mod common;
mod robust;

use common::*;
use robust::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Kill/restart rounds per run.
const ROUNDS: usize = 6;
/// Concurrent submitters.
const SUBMITTERS: u64 = 3;

/// The two backends share the machine's two cores: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn crash_rounds(pg: bool) {
    let _serial = SERIAL.lock().await;
    let seed = seed("NOTARIUM_CRASH_SEED");
    let mut rng = Rng::new(seed);
    let dir = TempDir::new(if pg { "crash-pg" } else { "crash-sqlite" });
    let db = pg.then(|| PgDb::new("crash"));
    let dbu = db.as_ref().map(|d| d.url.clone());
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let cfg = write_notary_config(dir.path(), &court.url, &arb.url, "");
    let key = tenant_with_key(&cfg, dbu.as_deref(), "crash-test");
    let mut notary = start_notary(&cfg, dbu.as_deref());
    let target = Target::new(&notary.url);

    let ledger = Arc::new(Ledger::default());
    let seen = Arc::new(Checkpoints::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..SUBMITTERS {
        tasks.push(tokio::spawn(submitter(
            format!("crash-{i}"),
            target.clone(),
            key.clone(),
            ledger.clone(),
            stop.clone(),
            rng.next_u64(),
            8,
            Duration::from_millis(15),
        )));
    }
    let watcher = tokio::spawn(watch_checkpoints(
        vec![target.clone()],
        seen.clone(),
        stop.clone(),
    ));
    let snapshots = tokio::spawn(snapshot_certificates(
        vec![target.clone()],
        ledger.clone(),
        stop.clone(),
        rng.next_u64(),
    ));

    let started = Instant::now();
    for round in 0..ROUNDS {
        // Let the load run for a random while (this is the kill moment,
        // not a wait for any condition), then kill -9 and restart.
        // Sometimes very early, while the restarted notary resumes.
        let run_ms = if rng.range(0, 4) == 0 {
            rng.range(10, 300)
        } else {
            rng.range(300, 1500)
        };
        let down_ms = rng.range(0, 300);
        let before = ledger.acked_count();
        tokio::time::sleep(Duration::from_millis(run_ms)).await;
        let pid = notary.child.id();
        notary.kill9();
        let acked = ledger.acked_count();
        println!(
            "round {round}: killed pid {pid} after {run_ms} ms ({} acknowledged this round, {acked} in all); down {down_ms} ms",
            acked - before
        );
        assert!(
            acked > before || run_ms < 300,
            "round {round}: nothing was acknowledged in {run_ms} ms"
        );
        tokio::time::sleep(Duration::from_millis(down_ms)).await;
        // A blocking wait for the "listening" line: off the runtime.
        let (c, d) = (cfg.clone(), dbu.clone());
        notary = tokio::task::spawn_blocking(move || start_notary(&c, d.as_deref()))
            .await
            .unwrap();
        target.set(&notary.url);
    }
    // Some load after the last restart too, then stop and audit.
    let before = ledger.acked_count();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    watcher.await.unwrap();
    snapshots.await.unwrap();
    assert!(
        ledger.acked_count() > before,
        "nothing was acknowledged after the last restart"
    );
    println!(
        "load and {ROUNDS} kills took {:.1} s; {}",
        started.elapsed().as_secs_f64(),
        ledger.summary()
    );
    ledger.assert_only_expected_statuses();
    assert_eq!(
        ledger.status_count(503) + ledger.status_count(429),
        0,
        "no admission limit is configured: {}",
        ledger.summary()
    );

    let audit = audit(&notary.url, &ledger, &seen).await;
    assert!(audit.log_size >= audit.acked as u64);
    assert!(
        audit.checkpoints >= 2,
        "at least two checkpoints to compare: {audit:?}"
    );
    assert!(
        audit.stable_certificates > 0,
        "no certificate was fetched during the load: {audit:?}"
    );
    drop(notary);
    drop((court, arb, db));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_load_loses_nothing_on_the_embedded_store() {
    crash_rounds(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_load_loses_nothing_on_postgresql() {
    crash_rounds(true).await;
}
