//! A measured phase: its window after the warm-up, what it counted, its
//! latency percentiles, and the closed loop that drives an HTTP server.

use crate::client::Http;
use crate::counters::{CpuSnap, CpuUse, Watched, clk_tck, cpu_between, cpu_task};
use crate::knobs::Knobs;
use hyper::Method;
use hyper::body::Bytes;
use hyper::header::HeaderValue;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The measured window of a phase.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub start: Instant,
    pub end: Instant,
}

impl Window {
    pub(crate) fn after_warmup(k: &Knobs) -> Self {
        let start = Instant::now() + Duration::from_secs_f64(k.warmup);
        Window {
            start,
            end: start + Duration::from_secs_f64(k.secs),
        }
    }
    pub(crate) fn secs(&self) -> f64 {
        (self.end - self.start).as_secs_f64()
    }
}

/// A latency sample in microseconds (saturating at about 71 minutes).
pub(crate) fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

/// Latency samples, sorted once: every percentile the bench prints comes
/// from here.
pub(crate) struct Latencies(Vec<u32>);

impl Latencies {
    pub(crate) fn new(mut us: Vec<u32>) -> Self {
        us.sort_unstable();
        Latencies(us)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The `p` quantile (0 to 1, nearest rank) in milliseconds; NaN
    /// without samples.
    pub(crate) fn percentile_ms(&self, p: f64) -> f64 {
        let s = &self.0;
        if s.is_empty() {
            return f64::NAN;
        }
        let i = ((s.len() as f64 * p).ceil() as usize).clamp(1, s.len()) - 1;
        s[i] as f64 / 1000.0
    }

    /// The largest sample in milliseconds; NaN without samples.
    pub(crate) fn max_ms(&self) -> f64 {
        self.0
            .last()
            .map(|x| *x as f64 / 1000.0)
            .unwrap_or(f64::NAN)
    }
}

/// What a phase counted inside its window.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Requests answered as expected.
    pub ok: u64,
    /// Units they carried (submissions, digests, rows).
    pub units: u64,
    /// Transport errors and unexpected statuses.
    pub errors: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub lat_us: Vec<u32>,
}

impl Tally {
    pub(crate) fn merge(&mut self, o: Tally) {
        self.ok += o.ok;
        self.units += o.units;
        self.errors += o.errors;
        for (k, v) in o.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        self.lat_us.extend(o.lat_us);
    }
    pub(crate) fn record(
        &mut self,
        w: &Window,
        started: Instant,
        done: Instant,
        ok: bool,
        units: u64,
    ) {
        if started < w.start || done > w.end {
            return;
        }
        if ok {
            self.ok += 1;
            self.units += units;
            self.lat_us.push(micros(done - started));
        } else {
            self.errors += 1;
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PhaseResult {
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
    pub statuses: String,
    pub cpu: CpuUse,
    /// CPU microseconds the server (notary or echo) and PostgreSQL spent
    /// per unit: robust against other load on the machine.
    pub server_us: f64,
    pub postgres_us: f64,
}

pub(crate) fn finish(t: Tally, w: &Window, cpu: (CpuSnap, CpuSnap), tck: f64) -> PhaseResult {
    let lat = Latencies::new(t.lat_us);
    let cpu = cpu_between(&cpu.0, &cpu.1, w.secs(), tck);
    let rate = t.units as f64 / w.secs();
    PhaseResult {
        rate,
        server_us: cpu.notary / rate.max(1e-9) * 1e6,
        postgres_us: cpu.postgres / rate.max(1e-9) * 1e6,
        p50_ms: lat.percentile_ms(0.50),
        p99_ms: lat.percentile_ms(0.99),
        errors: t.errors,
        statuses: t
            .statuses
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join(" "),
        cpu,
    }
}

/// Sums the tallies of a phase's tasks.
pub(crate) async fn join_tallies(tasks: Vec<tokio::task::JoinHandle<Tally>>) -> Tally {
    let mut total = Tally::default();
    for t in tasks {
        total.merge(t.await.unwrap());
    }
    total
}

/// Makes request `n` of worker `w`: its body and the units it carries.
pub(crate) type MakeBody = Arc<dyn Fn(usize, u64) -> (Bytes, u64) + Send + Sync>;

/// Closed loop: `conns` connections, each sending its next request as soon
/// as the previous one is answered, until the window ends. A 202 counts as
/// success.
pub(crate) async fn http_closed_loop(
    addr: SocketAddr,
    path: &'static str,
    auth: Option<HeaderValue>,
    conns: usize,
    k: &Knobs,
    watched: &Watched,
    make: MakeBody,
) -> PhaseResult {
    let mut http = Vec::with_capacity(conns);
    for _ in 0..conns {
        http.push(Http::connect(addr).await.expect("connect"));
    }
    let w = Window::after_warmup(k);
    let cpu = cpu_task(watched.clone(), w.start, w.end);
    let mut tasks = Vec::new();
    for (i, mut c) in http.into_iter().enumerate() {
        let (auth, make) = (auth.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            let mut n = 0u64;
            while Instant::now() < w.end {
                let (body, units) = make(i, n);
                n += 1;
                let started = Instant::now();
                let r = c.send(Method::POST, path, auth.as_ref(), body).await;
                let done = Instant::now();
                match r {
                    Ok((s, _)) => {
                        if started >= w.start && done <= w.end {
                            *t.statuses.entry(s).or_default() += 1;
                        }
                        t.record(&w, started, done, s == 202, units);
                    }
                    Err(_) => {
                        t.record(&w, started, done, false, 0);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            t
        }));
    }
    let total = join_tallies(tasks).await;
    finish(total, &w, cpu.await.unwrap(), clk_tck())
}
