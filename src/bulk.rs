//! `notarium admin bulk-load`: grows the log by N synthetic entries, for
//! growth measurements (10 million entries in minutes, not hours of HTTP).
//!
//! It uses the notary's own paths, only with larger groups: entries are
//! built exactly as the intake builds them, inserted with the store's
//! durable `insert_entries`, and sequenced by the real sequencer (leaf
//! hashes, stored subtree nodes, one signed checkpoint per batch, lease and
//! epoch fencing). So the resulting log is indistinguishable from one grown
//! through the API, and a notary started afterwards gets it witnessed.
//! It refuses to run while another process holds the sequencer lease.

use crate::intake::{RANDOM_PER_ENTRY, build_entries};
use crate::metrics::Metrics;
use crate::sequencer::Sequencer;
use notarium_core::entry::{Metadata, SubmitterId};
use notarium_log::SigningKey;
use notarium_store::{Store, StoreError};
use ring::rand::{SecureRandom, SystemRandom};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Entries inserted per transaction and sequenced per batch, by default.
pub const CHUNK: usize = 50_000;

/// The tenant does not exist (nothing was appended).
#[derive(Debug, thiserror::Error)]
#[error("no tenant {0}: add it first with `notarium admin tenant add`")]
pub struct NoTenant(pub SubmitterId);

/// What one run did.
#[derive(Debug, Clone, Copy)]
pub struct Loaded {
    pub entries: u64,
    pub log_size: u64,
    pub seconds: f64,
}

/// Appends `count` synthetic entries of `tenant` (which must exist) and
/// sequences them, `chunk` at a time (one insert transaction and one
/// checkpoint each); `progress` is called after each chunk with the log size.
pub async fn load(
    store: Arc<dyn Store>,
    key: Arc<SigningKey>,
    origin: String,
    tenant: &SubmitterId,
    count: u64,
    chunk: usize,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Loaded> {
    let chunk = chunk.clamp(1, 100_000);
    let started = Instant::now();
    let sequencer = Sequencer {
        store: store.clone(),
        key,
        origin,
        interval: Duration::ZERO,
        batch_size: chunk as u32,
        metrics: Arc::new(Metrics::default()),
        holder: format!("bulk-load:{}", std::process::id()),
        checkpoints: tokio::sync::watch::channel(0).0,
    };
    // Anything already pending goes first, so the lease is known to be free
    // before we insert.
    sequencer.drain().await?;
    let rng = SystemRandom::new();
    let mut done = 0u64;
    while done < count {
        let n = (count - done).min(chunk as u64) as usize;
        let mut random = vec![0u8; n * (RANDOM_PER_ENTRY + 32)];
        rng.fill(&mut random)
            .map_err(|_| anyhow::anyhow!("system randomness failed"))?;
        let (digests, random) = random.split_at(n * 32);
        let items = digests
            .chunks_exact(32)
            .enumerate()
            .map(|(i, d)| {
                let name = format!(r#"{{"file_name":"bulk-{:010}.bin"}}"#, done + i as u64);
                let metadata = Metadata::from_text(&name).expect("valid metadata");
                (d.try_into().expect("32 bytes"), Some(metadata))
            })
            .collect();
        let mut rows: Vec<_> = build_entries(tenant, items, notarium_log::clock::now(), random)
            .into_iter()
            .map(|(row, _)| row)
            .collect();
        store.insert_entries(&mut rows).await.map_err(|e| match e {
            StoreError::NotFound(_) => anyhow::Error::new(NoTenant(tenant.clone())),
            e => anyhow::Error::new(e),
        })?;
        sequencer.drain().await?;
        done += n as u64;
        progress(store.log_state().await?.size);
    }
    Ok(Loaded {
        entries: done,
        log_size: store.log_state().await?.size,
        seconds: started.elapsed().as_secs_f64(),
    })
}
