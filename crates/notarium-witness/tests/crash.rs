//! Crash safety: the real witness is killed with SIGKILL at random points
//! while clients push checkpoints (and forks and stale requests) at it. After
//! every restart it must still hold every cosignature it handed out, and it
//! must never cosign a rollback or a fork of anything it cosigned before.

mod common;

use common::*;
use notarium_core::checkpoint::Checkpoint;
use notarium_core::note::Note;
use std::collections::BTreeSet;
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

const ROUNDS: u32 = 8;
const CLIENTS: usize = 6;
const LEAVES: u64 = 4000;

/// xorshift64*, seeded per run (printed, to replay a failure).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Default)]
struct Shared {
    /// The running witness; the client whose 200 reaches `kill_at` kills it
    /// with SIGKILL at once, while the other clients' requests are in flight.
    child: Mutex<Option<Child>>,
    kill_at: AtomicUsize,
    /// Every cosignature line received with a 200, and its size.
    acked: Mutex<Vec<(u64, String)>>,
    /// Signalled at every 200 (the killer waits on it).
    progress: Condvar,
    max_acked: AtomicU64,
    violations: Mutex<Vec<String>>,
}

/// One client: extends the log by 1..4 leaves at a time, and now and then
/// tries a fork (same size, other root; or a longer fork with its proof) or
/// a stale old size. Stops at the first transport error (the kill).
fn client_loop(
    url: String,
    log: Arc<Log>,
    fork: Arc<Log>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let c = client();
    let mut rng = Rng(seed | 1);
    let mut known = shared.max_acked.load(Ordering::SeqCst);
    while !stop.load(Ordering::SeqCst) {
        let before = shared.max_acked.load(Ordering::SeqCst);
        let kind = rng.below(10);
        let (body, honest_size) = match kind {
            0 if known > 0 => (fork.body(known, known), None),
            1 if known > 0 => {
                let n = (known + 1 + rng.below(4)).min(LEAVES);
                (fork.body(known, n), None)
            }
            2 if known > 1 => {
                let old = known - 1 - rng.below(known - 1);
                let n = (known + 1 + rng.below(4)).min(LEAVES);
                (log.body(old, n), None)
            }
            _ => {
                let n = (known + 1 + rng.below(4)).min(LEAVES);
                (log.body(known, n), Some(n))
            }
        };
        let Ok(r) = c
            .post(format!("{url}/add-checkpoint"))
            .body(body.clone())
            .send()
        else {
            return;
        };
        let status = r.status().as_u16();
        let Ok(text) = r.text() else { return };
        match (status, honest_size) {
            (200, Some(n)) => {
                if n < before {
                    shared
                        .violations
                        .lock()
                        .unwrap()
                        .push(format!("cosigned {n} after {before} was cosigned"));
                }
                shared.max_acked.fetch_max(n, Ordering::SeqCst);
                let count = {
                    let mut acked = shared.acked.lock().unwrap();
                    acked.push((n, text));
                    acked.len()
                };
                if count == shared.kill_at.load(Ordering::SeqCst)
                    && let Some(child) = shared.child.lock().unwrap().as_mut()
                {
                    child.kill().unwrap();
                }
                shared.progress.notify_all();
                known = n;
            }
            (200, None) => shared
                .violations
                .lock()
                .unwrap()
                .push(format!("cosigned a fork or a stale request: {body:?}")),
            (409, _) => {
                let latest: u64 = text.trim_end().parse().unwrap();
                if latest < before {
                    shared.violations.lock().unwrap().push(format!(
                        "409 says latest {latest} after {before} was cosigned"
                    ));
                }
                known = latest;
            }
            (422, None) => {}
            (s, _) => shared
                .violations
                .lock()
                .unwrap()
                .push(format!("unexpected {s} {text:?} for {body:?}")),
        }
    }
}

#[test]
fn kill_9_under_load_never_loses_a_cosignature_nor_cosigns_a_rollback_or_fork() {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash test seed: CRASH_SEED={seed}");
    let mut rng = Rng(seed | 1);
    let log = Arc::new(Log::new(LEAVES, "honest"));
    let fork = Arc::new(Log::new(LEAVES, "fork"));
    let s = Setup::new();
    let shared = Arc::new(Shared::default());
    let c = client();

    for round in 0..ROUNDS {
        let w = s.start();
        // After a restart the witness holds at least what it acknowledged.
        let max = shared.max_acked.load(Ordering::SeqCst);
        if max > 0 {
            check_after_restart(&w, &c, &log, &fork, max);
        }
        // Killed right after a random number of cosignatures in this round
        // (by the client that receives the last of them), while the other
        // clients' requests are in flight.
        let target = {
            let n = shared.acked.lock().unwrap().len();
            n + 5 + rng.below(120) as usize
        };
        shared.kill_at.store(target, Ordering::SeqCst);
        let url = w.url.clone();
        *shared.child.lock().unwrap() = Some(w.into_child());
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let (url, log, fork, shared, stop) = (
                    url.clone(),
                    log.clone(),
                    fork.clone(),
                    shared.clone(),
                    stop.clone(),
                );
                let seed = rng.next() ^ i as u64;
                std::thread::spawn(move || client_loop(url, log, fork, shared, stop, seed))
            })
            .collect();
        {
            let mut acked = shared.acked.lock().unwrap();
            while acked.len() < target {
                let (guard, timeout) = shared
                    .progress
                    .wait_timeout(acked, std::time::Duration::from_secs(60))
                    .unwrap();
                acked = guard;
                assert!(!timeout.timed_out(), "no progress in round {round}");
            }
        }
        let mut child = shared.child.lock().unwrap().take().unwrap();
        child.kill().unwrap(); // already killed by the client; harmless
        child.wait().unwrap();
        stop.store(true, Ordering::SeqCst);
        for t in threads {
            t.join().unwrap();
        }
        let v = shared.violations.lock().unwrap();
        assert!(v.is_empty(), "round {round}: {v:?}");
    }

    // Final restart: every cosignature ever handed out is kept, the history
    // never goes back and holds only the honest tree.
    let w = s.start();
    let max = shared.max_acked.load(Ordering::SeqCst);
    check_after_restart(&w, &c, &log, &fork, max);
    drop(w);
    let history = s.cosigned();
    let mut kept = BTreeSet::new();
    let mut last = 0;
    for v in &history {
        let size = v["size"].as_u64().unwrap();
        assert!(size >= last, "history goes back from {last} to {size}");
        last = size;
        let n = Note::parse(v["note"].as_str().unwrap()).unwrap();
        assert_eq!(Checkpoint::parse(n.text()).unwrap(), log.checkpoint(size));
        kept.insert(n.signatures().last().unwrap().to_line());
    }
    let acked = shared.acked.lock().unwrap();
    assert!(acked.len() >= ROUNDS as usize * 5);
    for (size, line) in acked.iter() {
        assert!(
            kept.contains(line),
            "cosignature for {size} was handed out but lost"
        );
    }
    eprintln!(
        "crash test: {} rounds, {} cosignatures acknowledged, {} kept, final size {max}",
        ROUNDS,
        acked.len(),
        history.len()
    );
}

/// The restarted witness's latest is at least `max`, of the honest tree, and
/// it refuses a rollback and forks of it.
fn check_after_restart(
    w: &Witness,
    c: &reqwest::blocking::Client,
    log: &Log,
    fork: &Log,
    max: u64,
) {
    let r = w.latest(c, ORIGIN);
    assert_eq!(r.status, 200, "{r:?}");
    let note = Note::parse(&r.body).unwrap();
    let cp = Checkpoint::parse(note.text()).unwrap();
    let latest = cp.size();
    assert!(
        latest >= max,
        "rolled back: latest {latest} < acknowledged {max}"
    );
    assert_eq!(cp, log.checkpoint(latest), "latest is not the honest tree");
    // Rollback: a smaller checkpoint from an older size.
    let r = w.add(c, log.body(max / 2, max / 2 + 1));
    assert_eq!(r.status, 409, "rollback: {r:?}");
    assert_eq!(r.body, format!("{latest}\n"));
    // Fork at the same size, and a longer fork.
    let r = w.add(c, fork.body(latest, latest));
    assert_eq!(r.status, 409, "fork: {r:?}");
    if latest < LEAVES {
        let r = w.add(c, fork.body(latest, LEAVES));
        assert_eq!(r.status, 422, "longer fork: {r:?}");
    }
}
