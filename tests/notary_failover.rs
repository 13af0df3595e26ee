//! Failover on PostgreSQL: two `notarium serve` front ends on one database
//! and the same two witnesses, load on both; `kill -9` the one that
//! sequences; the other takes the sequencer lease over within 5 seconds,
//! and the log stays whole: every submission acknowledged by either front
//! end (before or after the kill) ends up final, the indices are exactly
//! 0..n, and every checkpoint is consistent with every later one.
//!
//! The kill moment comes from a seed printed at the start; replay it with
//! `NOTARIUM_FAILOVER_SEED=<seed>`.

mod common;
mod robust;

use common::*;
use robust::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The longest acceptable takeover.
const TAKEOVER: Duration = Duration::from_secs(5);

async fn is_leader(http: &reqwest::Client, url: &str) -> Option<bool> {
    let m = metrics(http, url).await?;
    Some(metric(&m, "notarium_sequencer_leader")? == 1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_survivor_takes_over_and_the_log_stays_whole() {
    let seed = seed("NOTARIUM_FAILOVER_SEED");
    let mut rng = Rng::new(seed);
    let dir = TempDir::new("failover");
    let db = PgDb::new("failover");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    // One configuration file per front end: both listen on a port of their
    // own (port 0) and share the database and the witnesses.
    let dir_a = dir.path().join("a");
    let dir_b = dir.path().join("b");
    std::fs::create_dir_all(&dir_a).unwrap();
    std::fs::create_dir_all(&dir_b).unwrap();
    let cfg_a = write_notary_config(&dir_a, &court.url, &arb.url, "");
    let cfg_b = write_notary_config(&dir_b, &court.url, &arb.url, "");
    let key = tenant_with_key(&cfg_a, Some(&db.url), "failover-test");
    let mut nodes = [
        start_notary(&cfg_a, Some(&db.url)),
        start_notary(&cfg_b, Some(&db.url)),
    ];
    let targets = [Target::new(&nodes[0].url), Target::new(&nodes[1].url)];
    let http = timed_client(Duration::from_secs(5));

    // Exactly one of them sequences.
    let leader = eventually("one sequencer", Duration::from_secs(10), || async {
        let a = is_leader(&http, &nodes[0].url).await?;
        let b = is_leader(&http, &nodes[1].url).await?;
        match (a, b) {
            (true, false) => Some(0usize),
            (false, true) => Some(1usize),
            (true, true) => panic!("both front ends report notarium_sequencer_leader 1"),
            (false, false) => None,
        }
    })
    .await;
    let survivor = 1 - leader;
    println!(
        "leader: front end {leader} ({}), survivor: {survivor} ({})",
        nodes[leader].url, nodes[survivor].url
    );

    // One ledger per front end: what each acknowledged.
    let ledgers = [Arc::new(Ledger::default()), Arc::new(Ledger::default())];
    let seen = Arc::new(Checkpoints::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..4u64 {
        let fe = (i % 2) as usize;
        tasks.push(tokio::spawn(submitter(
            format!("failover-{i}"),
            targets[fe].clone(),
            key.clone(),
            ledgers[fe].clone(),
            stop.clone(),
            rng.next_u64(),
            8,
            Duration::from_millis(15),
        )));
    }
    let watcher = tokio::spawn(watch_checkpoints(
        targets.to_vec(),
        seen.clone(),
        stop.clone(),
    ));
    let snapshots: Vec<_> = ledgers
        .iter()
        .map(|l| {
            tokio::spawn(snapshot_certificates(
                targets.to_vec(),
                l.clone(),
                stop.clone(),
                rng.next_u64(),
            ))
        })
        .collect();
    let acked = || ledgers[0].acked_count() + ledgers[1].acked_count();

    // Load on both for a random while (the kill moment), then kill -9 the
    // sequencer.
    let run_ms = rng.range(1000, 2500);
    tokio::time::sleep(Duration::from_millis(run_ms)).await;
    let before_kill = [ledgers[0].acked_count(), ledgers[1].acked_count()];
    let killed_at = Instant::now();
    nodes[leader].kill9();
    // Only the survivor can finalise anything from now on.
    let size_at_kill = latest_final(&http, &nodes[survivor].url)
        .await
        .map_or(0, |(s, _)| s);
    println!(
        "killed the sequencer after {run_ms} ms of load (acknowledged: {before_kill:?} by front end; final size {size_at_kill})"
    );
    assert!(
        before_kill[0] > 0 && before_kill[1] > 0,
        "both front ends acknowledge before the kill: {before_kill:?}"
    );

    // The survivor leads within the deadline ...
    let survivor_url = nodes[survivor].url.clone();
    eventually("the survivor to lead", TAKEOVER, || async {
        is_leader(&http, &survivor_url).await?.then_some(())
    })
    .await;
    let took_lead = killed_at.elapsed();
    // ... and signs and finalises checkpoints beyond the old head.
    let new_cp = eventually(
        "a new final checkpoint from the survivor",
        TAKEOVER,
        || async {
            let (s, _) = latest_final(&http, &survivor_url).await?;
            (s > size_at_kill).then_some(s)
        },
    )
    .await;
    let first_checkpoint = killed_at.elapsed();
    println!(
        "takeover: leader after {:.0} ms, new final checkpoint (size {new_cp}) after {:.0} ms",
        took_lead.as_secs_f64() * 1e3,
        first_checkpoint.as_secs_f64() * 1e3
    );
    assert!(
        first_checkpoint <= TAKEOVER,
        "no new final checkpoint within {TAKEOVER:?} of the kill: {first_checkpoint:?}"
    );

    // The killed front end comes back as a follower and takes submissions
    // again; the survivor keeps sequencing.
    let cfg = [&cfg_a, &cfg_b][leader].clone();
    let url = db.url.clone();
    nodes[leader] = tokio::task::spawn_blocking(move || start_notary(&cfg, Some(&url)))
        .await
        .unwrap();
    targets[leader].set(&nodes[leader].url);
    let restarted = [ledgers[0].acked_count(), ledgers[1].acked_count()];
    assert_eq!(is_leader(&http, &nodes[leader].url).await, Some(false));
    assert_eq!(is_leader(&http, &survivor_url).await, Some(true));

    // More load on both, then stop and audit.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    watcher.await.unwrap();
    for s in snapshots {
        s.await.unwrap();
    }
    let after = [ledgers[0].acked_count(), ledgers[1].acked_count()];
    println!(
        "acknowledged by front end: {before_kill:?} before the kill, {restarted:?} at the restart, {after:?} in all"
    );
    assert!(
        after[survivor] > before_kill[survivor],
        "the survivor acknowledged nothing after the kill"
    );
    assert!(
        after[leader] > restarted[leader],
        "the restarted front end acknowledged nothing"
    );
    assert_eq!(is_leader(&http, &nodes[leader].url).await, Some(false));
    assert_eq!(is_leader(&http, &survivor_url).await, Some(true));
    let ledger = Ledger::default();
    ledger.absorb(&ledgers[0]);
    ledger.absorb(&ledgers[1]);
    println!("{}", ledger.summary());
    ledger.assert_only_expected_statuses();
    assert_eq!(ledger.acked_count(), acked());

    let audit = audit(&survivor_url, &ledger, &seen).await;
    assert!(audit.acked > before_kill[0] + before_kill[1]);
    assert!(audit.stable_certificates > 0, "{audit:?}");
    drop(nodes);
    drop((court, arb, db));
}
