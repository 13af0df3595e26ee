//! An in-memory [`WitnessState`] for the unit tests of the witness rules
//! and the fuzz target `witness_add_checkpoint`. Not durable: never for a
//! witness that runs.

use super::{Cosigned, Decision, Evidence, StoreError, View, WitnessState};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

#[derive(Debug, Default)]
struct Inner {
    history: HashMap<String, Vec<Cosigned>>,
    evidence: Vec<Evidence>,
    last_cosigned_at: Option<u64>,
}

/// Every update runs under one lock.
#[derive(Debug, Default)]
pub struct MemoryState {
    inner: Mutex<Inner>,
}

impl MemoryState {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn history(&self, origin: &str) -> Vec<Cosigned> {
        let inner = self.inner.lock().expect("state lock");
        inner.history.get(origin).cloned().unwrap_or_default()
    }

    pub fn evidence(&self) -> Vec<Evidence> {
        self.inner.lock().expect("state lock").evidence.clone()
    }
}

impl WitnessState for MemoryState {
    fn update<R, F>(&self, origin: &str, f: F) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: for<'a> FnOnce(View<'a>) -> Decision<R> + Send + 'static,
    {
        let result = (|| {
            let mut inner = self
                .inner
                .lock()
                .map_err(|_| StoreError::Panicked("state lock poisoned".into()))?;
            let inner = &mut *inner;
            let view = View {
                latest: inner.history.get(origin).and_then(|h| h.last()),
                last_cosigned_at: inner.last_cosigned_at,
            };
            Ok(match f(view) {
                Decision::Commit { next, reply } => {
                    inner.last_cosigned_at = inner.last_cosigned_at.max(Some(next.cosigned_at));
                    inner
                        .history
                        .entry(origin.to_string())
                        .or_default()
                        .push(next);
                    reply
                }
                Decision::Refuse { evidence, reply } => {
                    inner.evidence.extend(evidence);
                    reply
                }
            })
        })();
        std::future::ready(result)
    }

    fn latest(&self, origin: &str) -> Result<Option<Cosigned>, StoreError> {
        Ok(self
            .inner
            .lock()
            .expect("state lock")
            .history
            .get(origin)
            .and_then(|h| h.last())
            .cloned())
    }
}
