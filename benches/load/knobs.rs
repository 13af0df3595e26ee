//! The bench's settings, read once from the environment
//! (docs/benchmarks.md lists them with their defaults).

#[derive(Debug, Clone)]
pub(crate) struct Knobs {
    /// Measured seconds per phase.
    pub secs: f64,
    /// Unmeasured seconds before each phase's window.
    pub warmup: f64,
    /// Connections for single submissions and the actix baseline.
    pub conns: usize,
    /// Connections posting batches of `batch` items.
    pub batch_conns: usize,
    pub batch: usize,
    /// PostgreSQL baseline clients.
    pub pg_clients: usize,
    /// Time to final: offered submissions/s, 1 in `sample` is followed.
    pub ttf_rate: f64,
    pub ttf_sample: u64,
    pub ttf_poll_ms: u64,
    /// `postgres`, `sqlite` or both.
    pub stores: Vec<String>,
    /// The notary's batch interval; unset, the product's default for the
    /// store (100 ms embedded, 500 ms PostgreSQL).
    pub batch_interval_ms: Option<u64>,
    /// Client runtime threads.
    pub client_threads: usize,
    /// Bound on waiting for the notary to sequence and finalise a backlog.
    pub drain_secs: u64,
}

pub(crate) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Knobs {
    pub(crate) fn from_env() -> Self {
        Knobs {
            secs: env_or("NOTARIUM_BENCH_SECS", 5.0f64).clamp(0.5, 120.0),
            warmup: env_or("NOTARIUM_BENCH_WARMUP_SECS", 1.0f64).clamp(0.0, 30.0),
            conns: env_or("NOTARIUM_BENCH_CONNS", 128usize).clamp(1, 1024),
            batch_conns: env_or("NOTARIUM_BENCH_BATCH_CONNS", 8usize).clamp(1, 256),
            batch: env_or("NOTARIUM_BENCH_BATCH", 1000usize).clamp(1, 1000),
            pg_clients: env_or("NOTARIUM_BENCH_PG_CLIENTS", 8usize).clamp(1, 64),
            ttf_rate: env_or("NOTARIUM_BENCH_TTF_RATE", 5000.0f64).clamp(1.0, 100_000.0),
            ttf_sample: env_or("NOTARIUM_BENCH_TTF_SAMPLE", 50u64).max(1),
            ttf_poll_ms: env_or("NOTARIUM_BENCH_TTF_POLL_MS", 20u64).clamp(1, 1000),
            stores: std::env::var("NOTARIUM_BENCH_STORES")
                .unwrap_or_else(|_| "postgres,sqlite".into())
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            batch_interval_ms: std::env::var("NOTARIUM_BENCH_BATCH_INTERVAL_MS")
                .ok()
                .map(|v| {
                    v.parse()
                        .expect("NOTARIUM_BENCH_BATCH_INTERVAL_MS: milliseconds")
                }),
            client_threads: env_or("NOTARIUM_BENCH_CLIENT_THREADS", 2usize).clamp(1, 64),
            drain_secs: env_or("NOTARIUM_BENCH_DRAIN_SECS", 120u64).clamp(1, 600),
        }
    }
}
