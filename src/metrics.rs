//! Prometheus metrics, kept with atomics and rendered as text on /metrics.
//! The latency histogram, family headers and label escaping are the
//! witness's too (`notarium_http::metrics`).

use notarium_http::metrics::{Histogram, Kind, Labels, escape_label_value, write_header};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug)]
pub struct WitnessMetrics {
    pub latency: Histogram,
    pub failures: AtomicU64,
    pub cosignatures: AtomicU64,
}

/// One configured RFC 3161 TSA, as the stamping task sees it.
#[derive(Debug, Default)]
pub struct TsaMetrics {
    /// Tokens checked and stored.
    pub tokens: AtomicU64,
    /// No answer, or not an answer (HTTP, timeouts): retried with backoff.
    pub unavailable: AtomicU64,
    /// An answer that failed its checks (imprint, nonce, signature, chain):
    /// never stored.
    pub refused: AtomicU64,
}

impl Default for WitnessMetrics {
    fn default() -> Self {
        WitnessMetrics {
            latency: Histogram::new(&BUCKETS),
            failures: AtomicU64::default(),
            cosignatures: AtomicU64::default(),
        }
    }
}

#[derive(Debug)]
pub struct Metrics {
    pub submissions: AtomicU64,
    rejections: Mutex<BTreeMap<String, u64>>,
    pub commit_latency: Histogram,
    pub committed_entries: AtomicU64,
    pub commit_groups: AtomicU64,
    pub log_size: AtomicU64,
    pub final_size: AtomicU64,
    /// Unix ms of the latest signed checkpoint.
    pub checkpoint_ms: AtomicI64,
    pub time_to_final: Histogram,
    /// The sequencer's batch transactions (appending entries to the log).
    pub batch_latency: Histogram,
    pub leader: AtomicBool,
    /// API key lookups in the store: (found, unknown).
    key_lookups: (AtomicU64, AtomicU64),
    witnesses: Mutex<BTreeMap<String, std::sync::Arc<WitnessMetrics>>>,
    tsas: Mutex<BTreeMap<String, std::sync::Arc<TsaMetrics>>>,
    /// The size of the last final checkpoint known to hold its timestamp
    /// tokens (with `[tsa]`): certificates up to it can be issued.
    pub stamped_size: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            submissions: AtomicU64::default(),
            rejections: Mutex::default(),
            commit_latency: Histogram::new(&BUCKETS),
            committed_entries: AtomicU64::default(),
            commit_groups: AtomicU64::default(),
            log_size: AtomicU64::default(),
            final_size: AtomicU64::default(),
            checkpoint_ms: AtomicI64::default(),
            time_to_final: Histogram::new(&BUCKETS),
            batch_latency: Histogram::new(&BUCKETS),
            leader: AtomicBool::default(),
            key_lookups: Default::default(),
            witnesses: Mutex::default(),
            tsas: Mutex::default(),
            stamped_size: AtomicU64::default(),
        }
    }
}

/// A family of one sample without labels: its header and its value.
fn single(o: &mut String, name: &str, help: &str, kind: Kind, v: impl std::fmt::Display) {
    write_header(o, name, help, kind);
    let _ = writeln!(o, "{name} {v}");
}

impl Metrics {
    pub fn reject(&self, reason: &str) {
        *self
            .rejections
            .lock()
            .expect("metrics lock")
            .entry(reason.to_string())
            .or_default() += 1;
    }

    /// Counts one API key lookup in the store.
    pub fn key_lookup(&self, found: bool) {
        let c = if found {
            &self.key_lookups.0
        } else {
            &self.key_lookups.1
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn observe_commit(&self, entries: usize, d: Duration) {
        self.commit_latency.observe(d);
        self.committed_entries
            .fetch_add(entries as u64, Ordering::Relaxed);
        self.commit_groups.fetch_add(1, Ordering::Relaxed);
    }

    pub fn witness(&self, name: &str) -> std::sync::Arc<WitnessMetrics> {
        self.witnesses
            .lock()
            .expect("metrics lock")
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    /// The counters of the TSA at `url`.
    pub fn tsa(&self, url: &str) -> std::sync::Arc<TsaMetrics> {
        let mut tsas = self.tsas.lock().expect("metrics lock");
        tsas.entry(url.to_string()).or_default().clone()
    }

    /// Prometheus text exposition. `pending` and `log_size` are read from
    /// the store, in that order, so that a scrape showing nothing pending
    /// also shows every entry in the log (without a store, the size this
    /// process last sequenced); `intake` is the intake's (queued,
    /// committing) entries.
    pub fn render(
        &self,
        pending: Option<u64>,
        log_size: Option<u64>,
        intake: (usize, usize),
    ) -> String {
        let mut o = String::new();
        single(
            &mut o,
            "notarium_submissions_total",
            "Entries accepted (durable, receipted).",
            Kind::Counter,
            self.submissions.load(Ordering::Relaxed),
        );
        write_header(
            &mut o,
            "notarium_rejections_total",
            "Requests refused, by reason.",
            Kind::Counter,
        );
        for (reason, n) in self.rejections.lock().expect("metrics lock").iter() {
            let reason = escape_label_value(reason);
            let _ = writeln!(o, "notarium_rejections_total{{reason=\"{reason}\"}} {n}");
        }
        if let Some(p) = pending {
            single(
                &mut o,
                "notarium_pending_entries",
                "Entries stored but not yet in the log.",
                Kind::Gauge,
                p,
            );
        }
        write_header(
            &mut o,
            "notarium_intake_entries",
            "Entries accepted for a group commit and not yet answered: waiting for one, or in one.",
            Kind::Gauge,
        );
        let _ = writeln!(
            o,
            "notarium_intake_entries{{state=\"queued\"}} {}\nnotarium_intake_entries{{state=\"committing\"}} {}",
            intake.0, intake.1
        );
        single(
            &mut o,
            "notarium_log_size",
            "Entries in the log (latest signed checkpoint).",
            Kind::Gauge,
            log_size.unwrap_or_else(|| self.log_size.load(Ordering::Relaxed)),
        );
        single(
            &mut o,
            "notarium_final_size",
            "Tree size of the latest final (witnessed) checkpoint.",
            Kind::Gauge,
            self.final_size.load(Ordering::Relaxed),
        );
        let cp = self.checkpoint_ms.load(Ordering::Relaxed);
        let age = if cp == 0 {
            0.0
        } else {
            (notarium_log::clock::now().millis() - cp).max(0) as f64 / 1000.0
        };
        single(
            &mut o,
            "notarium_checkpoint_age_seconds",
            "Age of the latest signed checkpoint.",
            Kind::Gauge,
            age,
        );
        single(
            &mut o,
            "notarium_sequencer_leader",
            "1 if this process sequences the log.",
            Kind::Gauge,
            u8::from(self.leader.load(Ordering::Relaxed)),
        );
        single(
            &mut o,
            "notarium_committed_entries_total",
            "Entries written by group commits.",
            Kind::Counter,
            self.committed_entries.load(Ordering::Relaxed),
        );
        single(
            &mut o,
            "notarium_commit_groups_total",
            "Group commits.",
            Kind::Counter,
            self.commit_groups.load(Ordering::Relaxed),
        );
        // The notary's unlabelled histograms have always written `_sum{}`
        // and `_count{}`; tests/notary_e2e.rs reads them so.
        self.commit_latency.write(
            &mut o,
            "notarium_commit_seconds",
            "Durable group commit latency.",
            Labels::EmptySet,
        );
        self.time_to_final.write(
            &mut o,
            "notarium_time_to_final_seconds",
            "From receipt to final checkpoint.",
            Labels::EmptySet,
        );
        self.batch_latency.write(
            &mut o,
            "notarium_batch_seconds",
            "Sequencer batch transaction latency.",
            Labels::EmptySet,
        );
        let ws = self.witnesses.lock().expect("metrics lock");
        write_header(
            &mut o,
            "notarium_witness_seconds",
            "add-checkpoint latency per witness.",
            Kind::Histogram,
        );
        for (name, w) in ws.iter() {
            w.latency.write_series(
                &mut o,
                "notarium_witness_seconds",
                Labels::Pairs(&[("witness", name)]),
            );
        }
        write_header(
            &mut o,
            "notarium_witness_failures_total",
            "Failed add-checkpoint requests per witness.",
            Kind::Counter,
        );
        for (name, w) in ws.iter() {
            let _ = writeln!(
                o,
                "notarium_witness_failures_total{{witness=\"{}\"}} {}",
                escape_label_value(name),
                w.failures.load(Ordering::Relaxed)
            );
        }
        write_header(
            &mut o,
            "notarium_witness_cosignatures_total",
            "Verified cosignatures per witness.",
            Kind::Counter,
        );
        for (name, w) in ws.iter() {
            let _ = writeln!(
                o,
                "notarium_witness_cosignatures_total{{witness=\"{}\"}} {}",
                escape_label_value(name),
                w.cosignatures.load(Ordering::Relaxed)
            );
        }
        let tsas = self.tsas.lock().expect("metrics lock");
        write_header(
            &mut o,
            "notarium_tsa_tokens_total",
            "RFC 3161 tokens checked and stored, per TSA.",
            Kind::Counter,
        );
        for (url, t) in tsas.iter() {
            let (url, n) = (escape_label_value(url), t.tokens.load(Ordering::Relaxed));
            let _ = writeln!(o, "notarium_tsa_tokens_total{{tsa=\"{url}\"}} {n}");
        }
        write_header(
            &mut o,
            "notarium_tsa_failures_total",
            "TSA requests that got no token, per TSA: unavailable (retried), or refused (an answer that failed its checks, never stored).",
            Kind::Counter,
        );
        for (url, t) in tsas.iter() {
            let url = escape_label_value(url);
            for (kind, n) in [("unavailable", &t.unavailable), ("refused", &t.refused)] {
                let n = n.load(Ordering::Relaxed);
                let _ = writeln!(
                    o,
                    "notarium_tsa_failures_total{{tsa=\"{url}\",kind=\"{kind}\"}} {n}"
                );
            }
        }
        if !tsas.is_empty() {
            single(
                &mut o,
                "notarium_tsa_stamped_size",
                "The size of the last final checkpoint known to hold its timestamp tokens (behind notarium_final_size: certificates wait).",
                Kind::Gauge,
                self.stamped_size.load(Ordering::Relaxed),
            );
        }
        drop(tsas);
        write_header(
            &mut o,
            "notarium_key_lookups_total",
            "API keys looked up in the store (not in the cache of valid keys), by result.",
            Kind::Counter,
        );
        let _ = writeln!(
            o,
            "notarium_key_lookups_total{{result=\"found\"}} {}\nnotarium_key_lookups_total{{result=\"unknown\"}} {}",
            self.key_lookups.0.load(Ordering::Relaxed),
            self.key_lookups.1.load(Ordering::Relaxed)
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole exposition for a known state, byte for byte: what
    /// scrapers (tests/notary_e2e.rs, the load bench, dashboards) parse.
    #[test]
    fn the_exposition_is_stable() {
        let m = Metrics::default();
        m.submissions.store(5, Ordering::Relaxed);
        m.reject("rate_limited");
        m.reject("rate_limited");
        m.reject("bad_request");
        m.observe_commit(30, Duration::from_millis(3));
        m.time_to_final.observe(Duration::from_millis(700));
        m.batch_latency.observe(Duration::from_millis(20));
        m.final_size.store(9, Ordering::Relaxed);
        m.leader.store(true, Ordering::Relaxed);
        let w = m.witness("court.example/witness");
        w.latency.observe(Duration::from_millis(40));
        w.latency.observe(Duration::from_secs(9));
        w.failures.store(1, Ordering::Relaxed);
        w.cosignatures.store(2, Ordering::Relaxed);
        m.witness("arbitration.example/witness");
        m.key_lookup(true);
        m.key_lookup(false);
        m.key_lookup(false);
        let t = m.tsa("https://tsa.example/tsr");
        t.tokens.store(4, Ordering::Relaxed);
        t.unavailable.store(2, Ordering::Relaxed);
        t.refused.store(1, Ordering::Relaxed);
        m.stamped_size.store(8, Ordering::Relaxed);
        let text = m.render(Some(3), Some(10), (1, 2));
        assert_eq!(text, EXPECTED);
    }

    const EXPECTED: &str = r#"# HELP notarium_submissions_total Entries accepted (durable, receipted).
# TYPE notarium_submissions_total counter
notarium_submissions_total 5
# HELP notarium_rejections_total Requests refused, by reason.
# TYPE notarium_rejections_total counter
notarium_rejections_total{reason="bad_request"} 1
notarium_rejections_total{reason="rate_limited"} 2
# HELP notarium_pending_entries Entries stored but not yet in the log.
# TYPE notarium_pending_entries gauge
notarium_pending_entries 3
# HELP notarium_intake_entries Entries accepted for a group commit and not yet answered: waiting for one, or in one.
# TYPE notarium_intake_entries gauge
notarium_intake_entries{state="queued"} 1
notarium_intake_entries{state="committing"} 2
# HELP notarium_log_size Entries in the log (latest signed checkpoint).
# TYPE notarium_log_size gauge
notarium_log_size 10
# HELP notarium_final_size Tree size of the latest final (witnessed) checkpoint.
# TYPE notarium_final_size gauge
notarium_final_size 9
# HELP notarium_checkpoint_age_seconds Age of the latest signed checkpoint.
# TYPE notarium_checkpoint_age_seconds gauge
notarium_checkpoint_age_seconds 0
# HELP notarium_sequencer_leader 1 if this process sequences the log.
# TYPE notarium_sequencer_leader gauge
notarium_sequencer_leader 1
# HELP notarium_committed_entries_total Entries written by group commits.
# TYPE notarium_committed_entries_total counter
notarium_committed_entries_total 30
# HELP notarium_commit_groups_total Group commits.
# TYPE notarium_commit_groups_total counter
notarium_commit_groups_total 1
# HELP notarium_commit_seconds Durable group commit latency.
# TYPE notarium_commit_seconds histogram
notarium_commit_seconds_bucket{le="0.001"} 0
notarium_commit_seconds_bucket{le="0.0025"} 0
notarium_commit_seconds_bucket{le="0.005"} 1
notarium_commit_seconds_bucket{le="0.01"} 1
notarium_commit_seconds_bucket{le="0.025"} 1
notarium_commit_seconds_bucket{le="0.05"} 1
notarium_commit_seconds_bucket{le="0.1"} 1
notarium_commit_seconds_bucket{le="0.25"} 1
notarium_commit_seconds_bucket{le="0.5"} 1
notarium_commit_seconds_bucket{le="1"} 1
notarium_commit_seconds_bucket{le="2.5"} 1
notarium_commit_seconds_bucket{le="5"} 1
notarium_commit_seconds_bucket{le="+Inf"} 1
notarium_commit_seconds_sum{} 0.003
notarium_commit_seconds_count{} 1
# HELP notarium_time_to_final_seconds From receipt to final checkpoint.
# TYPE notarium_time_to_final_seconds histogram
notarium_time_to_final_seconds_bucket{le="0.001"} 0
notarium_time_to_final_seconds_bucket{le="0.0025"} 0
notarium_time_to_final_seconds_bucket{le="0.005"} 0
notarium_time_to_final_seconds_bucket{le="0.01"} 0
notarium_time_to_final_seconds_bucket{le="0.025"} 0
notarium_time_to_final_seconds_bucket{le="0.05"} 0
notarium_time_to_final_seconds_bucket{le="0.1"} 0
notarium_time_to_final_seconds_bucket{le="0.25"} 0
notarium_time_to_final_seconds_bucket{le="0.5"} 0
notarium_time_to_final_seconds_bucket{le="1"} 1
notarium_time_to_final_seconds_bucket{le="2.5"} 1
notarium_time_to_final_seconds_bucket{le="5"} 1
notarium_time_to_final_seconds_bucket{le="+Inf"} 1
notarium_time_to_final_seconds_sum{} 0.7
notarium_time_to_final_seconds_count{} 1
# HELP notarium_batch_seconds Sequencer batch transaction latency.
# TYPE notarium_batch_seconds histogram
notarium_batch_seconds_bucket{le="0.001"} 0
notarium_batch_seconds_bucket{le="0.0025"} 0
notarium_batch_seconds_bucket{le="0.005"} 0
notarium_batch_seconds_bucket{le="0.01"} 0
notarium_batch_seconds_bucket{le="0.025"} 1
notarium_batch_seconds_bucket{le="0.05"} 1
notarium_batch_seconds_bucket{le="0.1"} 1
notarium_batch_seconds_bucket{le="0.25"} 1
notarium_batch_seconds_bucket{le="0.5"} 1
notarium_batch_seconds_bucket{le="1"} 1
notarium_batch_seconds_bucket{le="2.5"} 1
notarium_batch_seconds_bucket{le="5"} 1
notarium_batch_seconds_bucket{le="+Inf"} 1
notarium_batch_seconds_sum{} 0.02
notarium_batch_seconds_count{} 1
# HELP notarium_witness_seconds add-checkpoint latency per witness.
# TYPE notarium_witness_seconds histogram
notarium_witness_seconds_bucket{witness="arbitration.example/witness",le="0.001"} 0
notarium_witness_seconds_bucket{witness="arbitration.example/witness",le="0.0025"} 0
notarium_witness_seconds_bucket{witness="arbitration.example/witness",le="0.005"} 0
notarium_witness_seconds_bucket{witness="arbitration.example/witness",le="0.01"} 0
notarium_witness_seconds_bucket{witness="arbitration.example/witness",le="0.025"} 0
notarium_witness_seconds_bucket{witness="arbitration.example/witness",le="0.05"} 0
notarium_witness_seconds_bucket{witness="arbitration.example/witness",le="0.1"} 0
notarium_witness_seconds_bucket{witness="arbitration.example/witness",le="0.25"} 0
notarium_witness_seconds_bucket{witness="arbitration.example/witness",le="0.5"} 0
notarium_witness_seconds_bucket{witness="arbitration.example/witness",le="1"} 0
notarium_witness_seconds_bucket{witness="arbitration.example/witness",le="2.5"} 0
notarium_witness_seconds_bucket{witness="arbitration.example/witness",le="5"} 0
notarium_witness_seconds_bucket{witness="arbitration.example/witness",le="+Inf"} 0
notarium_witness_seconds_sum{witness="arbitration.example/witness"} 0
notarium_witness_seconds_count{witness="arbitration.example/witness"} 0
notarium_witness_seconds_bucket{witness="court.example/witness",le="0.001"} 0
notarium_witness_seconds_bucket{witness="court.example/witness",le="0.0025"} 0
notarium_witness_seconds_bucket{witness="court.example/witness",le="0.005"} 0
notarium_witness_seconds_bucket{witness="court.example/witness",le="0.01"} 0
notarium_witness_seconds_bucket{witness="court.example/witness",le="0.025"} 0
notarium_witness_seconds_bucket{witness="court.example/witness",le="0.05"} 1
notarium_witness_seconds_bucket{witness="court.example/witness",le="0.1"} 1
notarium_witness_seconds_bucket{witness="court.example/witness",le="0.25"} 1
notarium_witness_seconds_bucket{witness="court.example/witness",le="0.5"} 1
notarium_witness_seconds_bucket{witness="court.example/witness",le="1"} 1
notarium_witness_seconds_bucket{witness="court.example/witness",le="2.5"} 1
notarium_witness_seconds_bucket{witness="court.example/witness",le="5"} 1
notarium_witness_seconds_bucket{witness="court.example/witness",le="+Inf"} 2
notarium_witness_seconds_sum{witness="court.example/witness"} 9.04
notarium_witness_seconds_count{witness="court.example/witness"} 2
# HELP notarium_witness_failures_total Failed add-checkpoint requests per witness.
# TYPE notarium_witness_failures_total counter
notarium_witness_failures_total{witness="arbitration.example/witness"} 0
notarium_witness_failures_total{witness="court.example/witness"} 1
# HELP notarium_witness_cosignatures_total Verified cosignatures per witness.
# TYPE notarium_witness_cosignatures_total counter
notarium_witness_cosignatures_total{witness="arbitration.example/witness"} 0
notarium_witness_cosignatures_total{witness="court.example/witness"} 2
# HELP notarium_tsa_tokens_total RFC 3161 tokens checked and stored, per TSA.
# TYPE notarium_tsa_tokens_total counter
notarium_tsa_tokens_total{tsa="https://tsa.example/tsr"} 4
# HELP notarium_tsa_failures_total TSA requests that got no token, per TSA: unavailable (retried), or refused (an answer that failed its checks, never stored).
# TYPE notarium_tsa_failures_total counter
notarium_tsa_failures_total{tsa="https://tsa.example/tsr",kind="unavailable"} 2
notarium_tsa_failures_total{tsa="https://tsa.example/tsr",kind="refused"} 1
# HELP notarium_tsa_stamped_size The size of the last final checkpoint known to hold its timestamp tokens (behind notarium_final_size: certificates wait).
# TYPE notarium_tsa_stamped_size gauge
notarium_tsa_stamped_size 8
# HELP notarium_key_lookups_total API keys looked up in the store (not in the cache of valid keys), by result.
# TYPE notarium_key_lookups_total counter
notarium_key_lookups_total{result="found"} 1
notarium_key_lookups_total{result="unknown"} 2
"#;
}
