//! Concurrency: many add-checkpoint requests for one log at once, with
//! interleaved sizes, against the real binary. The witness must behave as if
//! it handled them one at a time: never a cosignature for a size smaller
//! than one already cosigned, and the latest stored size is the largest.

mod common;

use common::*;
use notarium_core::cosignature::Cosignature;
use notarium_core::note::{Note, NoteSignature};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};

const THREADS: u64 = 16;
const LEAVES: u64 = 320;

/// A cosignature handed out: (size, line, largest size acknowledged before
/// the request was sent).
type Acked = (u64, String, u64);

#[test]
fn interleaved_concurrent_requests_never_roll_back() {
    let log = Arc::new(Log::new(LEAVES, "race"));
    let s = Setup::new();
    let w = s.start();
    let url = Arc::new(w.url.clone());
    let max_acked = Arc::new(AtomicU64::new(0));
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let start = Arc::new(Barrier::new(THREADS as usize));
    let mut threads = Vec::new();
    for t in 0..THREADS {
        let (log, url, max_acked, acked, start) = (
            log.clone(),
            url.clone(),
            max_acked.clone(),
            acked.clone(),
            start.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let c = client();
            // Thread t wants sizes t+1, t+1+THREADS, ...: interleaved with
            // every other thread's.
            let targets: Vec<u64> = (t + 1..=LEAVES).step_by(THREADS as usize).collect();
            let mut known = 0u64;
            let (mut ok, mut conflicts) = (0u32, 0u32);
            start.wait();
            for target in targets {
                while known < target {
                    let before = max_acked.load(Ordering::SeqCst);
                    let r = resp(
                        c.post(format!("{url}/add-checkpoint"))
                            .body(log.body(known, target))
                            .send()
                            .unwrap(),
                    );
                    match r.status {
                        200 => {
                            // No cosignature for a size below one already
                            // acknowledged when this request was sent.
                            assert!(
                                target >= before,
                                "cosigned {target} after {before} was cosigned"
                            );
                            max_acked.fetch_max(target, Ordering::SeqCst);
                            acked.lock().unwrap().push((target, r.body, before));
                            known = target;
                            ok += 1;
                        }
                        409 => {
                            assert_eq!(r.content_type, "text/x.tlog.size");
                            let latest: u64 = r.body.trim_end().parse().unwrap();
                            assert!(latest >= before, "409 says {latest} after {before}");
                            known = latest;
                            conflicts += 1;
                        }
                        _ => panic!("unexpected answer {r:?}"),
                    }
                }
            }
            (ok, conflicts)
        }));
    }
    let mut conflicts = 0;
    for t in threads {
        conflicts += t.join().unwrap().1;
    }
    assert!(conflicts > 0, "the test did not make requests race");

    // The stored size is the largest.
    let c = client();
    let latest = w.latest(&c, ORIGIN);
    assert_eq!(latest.status, 200);
    let note = Note::parse(&latest.body).unwrap();
    assert_eq!(
        notarium_core::checkpoint::Checkpoint::parse(note.text()).unwrap(),
        log.checkpoint(LEAVES)
    );

    // What was kept is what was handed out, in an order that never goes back.
    let acked = acked.lock().unwrap();
    let court = cert(&certs("court.pem"));
    let history = s.cosigned();
    assert_eq!(history.len(), acked.len());
    let mut last = 0;
    let mut kept_lines = BTreeSet::new();
    for v in &history {
        let size = v["size"].as_u64().unwrap();
        assert!(size > last, "history goes from {last} to {size}");
        last = size;
        let n = Note::parse(v["note"].as_str().unwrap()).unwrap();
        let cp = notarium_core::checkpoint::Checkpoint::parse(n.text()).unwrap();
        assert_eq!(
            cp,
            log.checkpoint(size),
            "kept a checkpoint of another tree"
        );
        let line = n.signatures().last().unwrap();
        Cosignature::from_note_signature(line)
            .unwrap()
            .verify(&cp, &court.key)
            .unwrap();
        kept_lines.insert(line.to_line());
    }
    let handed: BTreeSet<String> = acked.iter().map(|a| a.1.clone()).collect();
    assert_eq!(
        handed, kept_lines,
        "a cosignature was handed out but not kept"
    );
    for (size, line, _) in acked.iter() {
        let sig = NoteSignature::parse_line(line.trim_end()).unwrap();
        Cosignature::from_note_signature(&sig)
            .unwrap()
            .verify(&log.checkpoint(*size), &court.key)
            .unwrap();
    }
}

#[test]
fn of_simultaneous_requests_from_the_same_old_size_exactly_one_wins() {
    // The race of tlog-witness: request A (size N) and request B (size N+K)
    // both from the same old size. Exactly one is cosigned; every other gets
    // 409 with the winner's size.
    let log = Arc::new(Log::new(12 * THREADS * 3, "race"));
    let s = Setup::new();
    let w = s.start();
    let url = Arc::new(w.url.clone());
    let mut old = 0;
    for round in 0..12u64 {
        let start = Arc::new(Barrier::new(THREADS as usize));
        let threads: Vec<_> = (1..=THREADS)
            .map(|k| {
                let (log, url, start) = (log.clone(), url.clone(), start.clone());
                // Interleave: in odd rounds the larger sizes come first.
                let step = if round % 2 == 0 { k } else { THREADS + 1 - k };
                let size = old + step * (1 + round % 3);
                std::thread::spawn(move || {
                    let c = client();
                    let b = log.body(old, size);
                    start.wait();
                    let r = resp(
                        c.post(format!("{url}/add-checkpoint"))
                            .body(b)
                            .send()
                            .unwrap(),
                    );
                    (size, r)
                })
            })
            .collect();
        let results: Vec<(u64, Resp)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let winners: Vec<u64> = results
            .iter()
            .filter(|(_, r)| r.status == 200)
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let winner = winners[0];
        for (size, r) in &results {
            if *size != winner {
                assert_eq!(r.status, 409, "{r:?}");
                assert_eq!(r.body, format!("{winner}\n"));
            }
        }
        old = winner;
    }
    assert_eq!(s.cosigned().len(), 12);
}
