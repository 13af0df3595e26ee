//! Bytes of request bodies in flight, bounded: admission control for the
//! notary's memory, shared by every connection. A request holds a share of
//! a [`Budget`] while its body is read, parsed and committed, and gives it
//! back when the share is dropped. Nothing here knows HTTP: the API holds a
//! share while it reads a body.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of submission requests being read, parsed and committed at once,
/// across all connections. Beyond it a submission gets 503 (with
/// Retry-After) before its body is read: a request needs a few times its
/// body size while it is parsed, so without this bound the notary's memory
/// grew with the number of clients sending large batches together (64
/// concurrent 4 MB batches took it past 340 MB, tests/notary_flood.rs).
pub const MAX_INFLIGHT_SUBMISSION_BYTES: usize = 32 << 20;

/// The same for `POST /v1/verify` (public, bodies up to 4 MB), kept apart
/// so that verifications can never crowd out submissions, or the reverse.
pub const MAX_INFLIGHT_VERIFY_BYTES: usize = 16 << 20;

/// Bytes of request bodies in flight, bounded.
#[derive(Debug)]
pub struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    pub fn new(max: usize) -> Self {
        Budget {
            used: AtomicUsize::new(0),
            max,
        }
    }

    /// An empty share; see [`InFlight::hold`].
    pub fn share(&self) -> InFlight<'_> {
        InFlight {
            budget: self,
            held: 0,
        }
    }
}

/// A request's share of a [`Budget`], given back when dropped (when the
/// request is answered).
#[derive(Debug)]
pub struct InFlight<'a> {
    budget: &'a Budget,
    held: usize,
}

impl InFlight<'_> {
    /// Holds at least `bytes` of the budget; false once it is spent (the
    /// bytes stay held until the share is dropped).
    pub fn hold(&mut self, bytes: usize) -> bool {
        if bytes <= self.held {
            return true;
        }
        let more = bytes - self.held;
        let before = self.budget.used.fetch_add(more, Ordering::Relaxed);
        self.held = bytes;
        before + more <= self.budget.max
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_shared_and_given_back() {
        let budget = Budget::new(100);
        let mut a = budget.share();
        assert!(a.hold(60));
        assert!(a.hold(40), "holding less than held asks nothing");
        let mut b = budget.share();
        assert!(b.hold(40));
        assert!(!b.hold(41), "60 + 41 passes 100");
        drop(b);
        assert_eq!(
            budget.used.load(Ordering::Relaxed),
            60,
            "b gave back all it held"
        );
        drop(a);
        assert_eq!(budget.used.load(Ordering::Relaxed), 0);
    }
}
