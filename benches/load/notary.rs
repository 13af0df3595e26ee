//! Controlling the notary under test: building the release witness,
//! starting two witnesses and the notary, `notarium admin` commands,
//! reading /metrics, waiting until it is ready and until a backlog is
//! sequenced and final.

use crate::common::{self, Proc, TempDir, notarium_bin, spawn_until_listening};
use crate::counters::Watched;
use crate::knobs::Knobs;
use hyper::header::HeaderValue;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub(crate) fn url_addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("a loopback address")
}

/// Builds the release witness binary next to the notary's when missing
/// (the harness would build a debug one).
pub(crate) fn ensure_witness_bin() {
    let bin = notarium_bin().parent().unwrap().join("notarium-witness");
    if bin.exists() {
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "notarium-witness",
            "--bin",
            "notarium-witness",
        ])
        .current_dir(common::repo())
        .status()
        .expect("cargo build --release notarium-witness");
    assert!(
        st.success() && bin.exists(),
        "building notarium-witness failed"
    );
}

/// A running notary with its two witnesses, its directory and the bench
/// tenant's API key; everything stops when it is dropped.
pub(crate) struct Notary {
    pub dir: TempDir,
    _court: Proc,
    _arbitration: Proc,
    pub proc: Proc,
    pub addr: SocketAddr,
    pub key: HeaderValue,
    pub watched: Watched,
}

pub(crate) fn start_notary(store: &str, db: Option<&str>, k: &Knobs) -> Notary {
    let dir = TempDir::new(&format!("bench-{store}"));
    let court = common::start_witness(dir.path(), "court");
    let arbitration = common::start_witness(dir.path(), "arbitration");
    // The bench measures the notary's own capacity: no per-key limit.
    let mut extra = "[limits]\nper_key_rate = 0\n".to_string();
    if let Ok(n) = std::env::var("NOTARIUM_BENCH_INTAKE_WORKERS") {
        extra.push_str(&format!("intake_workers = {n}\n"));
    }
    let cfg = common::write_notary_config(dir.path(), &court.url, &arbitration.url, &extra);
    let key = bench_tenant_with_key(&cfg, db, "bench-tenant");
    let proc = spawn_notary(&cfg, db, k);
    let addr = url_addr(&proc.url);
    let watched = Watched {
        notary: Some(proc.child.id()),
        witnesses: vec![court.child.id(), arbitration.child.id()],
    };
    Notary {
        dir,
        _court: court,
        _arbitration: arbitration,
        proc,
        addr,
        key: HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
        watched,
    }
}

impl Notary {
    /// Starts `notarium serve` again on the same configuration (after
    /// the previous process was stopped).
    pub(crate) fn restart(&mut self, db: Option<&str>, k: &Knobs) {
        self.proc = spawn_notary(&self.dir.path().join("notary.toml"), db, k);
        self.watched.notary = Some(self.proc.child.id());
        self.addr = url_addr(&self.proc.url);
    }
}

/// The notary binary under test: this build's, or another build's named
/// by `NOTARIUM_BENCH_NOTARY` (to compare two versions with the same load
/// generator and baselines, alternating runs).
pub(crate) fn notary_bin() -> PathBuf {
    std::env::var_os("NOTARIUM_BENCH_NOTARY").map_or_else(notarium_bin, PathBuf::from)
}

/// Creates the bench's tenant and an API key with `notarium admin` of the
/// binary under test, so that the store is created and migrated by that
/// binary (another build's may have another schema).
fn bench_tenant_with_key(cfg: &Path, db: Option<&str>, name: &str) -> String {
    let admin = |args: &[&str]| {
        let mut cmd = Command::new(notary_bin());
        cmd.arg("admin").arg("--config").arg(cfg).args(args);
        match db {
            Some(url) => cmd.env("DATABASE_URL", url),
            None => cmd.env_remove("DATABASE_URL"),
        };
        let out = cmd.output().expect("notarium admin");
        assert!(
            out.status.success(),
            "notarium admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    admin(&["tenant", "add", name]);
    admin(&["key", "create", name]).trim().to_string()
}

/// Starts `notarium serve` on `cfg`; returns once it listens.
fn spawn_notary(cfg: &Path, db: Option<&str>, k: &Knobs) -> Proc {
    let mut cmd = Command::new(notary_bin());
    cmd.args(["serve", "--config"])
        .arg(cfg)
        .env("RUST_LOG", "warn");
    // The test configuration sets its own interval; the bench measures the
    // product's default for the store unless told otherwise.
    let interval = k
        .batch_interval_ms
        .unwrap_or_else(|| notarium::config::default_interval(db.is_some()));
    cmd.env("NOTARIUM_BATCH_INTERVAL_MS", interval.to_string());
    match db {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    spawn_until_listening(cmd, "notarium listening on ")
}

/// Numeric samples of the notary's /metrics (no labels).
pub(crate) async fn scrape(url: &str) -> BTreeMap<String, f64> {
    let text = match common::http_client()
        .get(format!("{url}/metrics"))
        .bearer_auth(common::METRICS_TOKEN)
        .send()
        .await
    {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, v) = l.rsplit_once(' ')?;
            Some((name.trim_end_matches("{}").to_string(), v.parse().ok()?))
        })
        .collect()
}

pub(crate) fn metric(m: &BTreeMap<String, f64>, name: &str) -> f64 {
    m.get(name).copied().unwrap_or(0.0)
}

/// Group commit figures between two scrapes.
pub(crate) fn commit_summary(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> String {
    let d = |n: &str| metric(b, n) - metric(a, n);
    let entries = d("notarium_committed_entries_total");
    let groups = d("notarium_commit_groups_total");
    let secs = d("notarium_commit_seconds_sum");
    if groups <= 0.0 {
        return "no commits".into();
    }
    let batches = d("notarium_batch_seconds_count");
    format!(
        "{groups:.0} groups, {:.1} entries/group, commit {:.2} ms mean; \
         {batches:.0} sequencer batches, {:.1} ms mean",
        entries / groups,
        secs / groups * 1000.0,
        d("notarium_batch_seconds_sum") / batches.max(1.0) * 1000.0
    )
}

/// Waits until nothing is pending and the log is final up to its size;
/// returns the seconds it took, the entries finalised meanwhile and
/// whether it finished within the bound.
pub(crate) async fn drain(url: &str, k: &Knobs) -> (f64, f64, bool) {
    let started = Instant::now();
    let before = scrape(url).await;
    let final0 = metric(&before, "notarium_final_size");
    loop {
        let m = scrape(url).await;
        let pending = metric(&m, "notarium_pending_entries");
        let size = metric(&m, "notarium_log_size");
        let fin = metric(&m, "notarium_final_size");
        if pending == 0.0 && fin >= size {
            let secs = started.elapsed().as_secs_f64();
            return (secs, fin - final0, true);
        }
        if started.elapsed() > Duration::from_secs(k.drain_secs) {
            return (started.elapsed().as_secs_f64(), fin - final0, false);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (at most 60 s) until /readyz answers 2xx.
pub(crate) async fn wait_ready(url: &str) {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = common::http_client()
            .get(format!("{url}/readyz"))
            .send()
            .await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < end, "the notary did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
