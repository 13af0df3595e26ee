//! The witness's `add-checkpoint`: the request body parser and the whole
//! tlog-witness decision (trusted notary signatures, old size, consistency
//! proof, fork evidence, cosigning) on an in-memory state, without HTTP.
//! An input is a sequence of request bodies separated by NUL bytes, sent
//! in turn to one witness, so that a body can build on what an earlier one
//! got cosigned. The seeds carry real notary signatures (the fuzzer cannot
//! forge one) over a growing log; it mutates sizes, proofs and notes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notarium_core::identity::Role;
use notarium_fuzz::{COURT_KEY, COURT_PEM, NOTARY_PEM, ORIGIN, T0, cert};
use notarium_log::SigningKey;
use notarium_witness::protocol::AddCheckpoint;
use notarium_witness::state::MemoryState;
use notarium_witness::witness::{Clock, Identity, LogKeys, TrustedKey, Witness};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

/// A clock the target sets.
#[derive(Debug)]
struct FixedClock(AtomicU64);

impl Clock for FixedClock {
    fn now(&self) -> Option<u64> {
        Some(self.0.load(Ordering::Relaxed))
    }
}

/// The result of a future that never waits (the in-memory state answers
/// at once).
fn now<T>(f: impl Future<Output = T>) -> T {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the in-memory witness state never waits"),
    }
}

/// The court witness of the development PKI (certs/court.*).
fn identity() -> Identity {
    let court = cert(COURT_PEM);
    Identity {
        name: court.common_name.clone().expect("court CN"),
        role: Role::Court,
        key: SigningKey::from_pkcs8_pem(COURT_KEY).expect("court key"),
        certificate: court,
    }
}

fuzz_target!(|data: &[u8]| {
    let clock = Arc::new(FixedClock(AtomicU64::new(T0)));
    let logs = vec![LogKeys {
        origin: ORIGIN.to_string(),
        keys: vec![TrustedKey::from_cert(&cert(NOTARY_PEM))],
    }];
    let witness = Witness::new(identity(), logs, MemoryState::new(), clock.clone());
    let mut cosigned_size = None;
    for (i, body) in data.split(|&b| b == 0).take(16).enumerate() {
        clock.0.store(T0 + i as u64, Ordering::Relaxed);
        let parsed = AddCheckpoint::parse(body);
        match now(witness.add_checkpoint(body)) {
            Ok(a) => {
                let req = parsed.expect("an accepted body parses");
                assert_eq!((a.origin.as_str(), a.size), (ORIGIN, req.checkpoint.size()));
                assert_eq!(
                    req.old_size,
                    cosigned_size.unwrap_or(0),
                    "old size is the latest"
                );
                assert!(
                    cosigned_size.is_none_or(|s| s <= a.size),
                    "the log never shrinks"
                );
                assert_eq!(a.cosigned_at, T0 + i as u64);
                let latest = witness.latest(ORIGIN).expect("latest after a cosignature");
                assert_eq!((latest.size, latest.cosigned_at), (a.size, a.cosigned_at));
                assert!(latest.cosigned_note().ends_with(&a.line));
                cosigned_size = Some(a.size);
            }
            Err(r) => {
                // A client's mistake, never the witness's failure.
                let status = r.status();
                assert!((400..500).contains(&status), "{status} for {r}");
                if parsed.is_err() {
                    assert!(matches!(r, notarium_witness::Refusal::Malformed(_)), "{r}");
                }
            }
        }
    }
});
