//! Prometheus text exposition (format 0.0.4), written by hand: a few
//! counters, one histogram and one gauge per log.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the cosign latency histogram.
pub const LATENCY_BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    latest_size: Mutex<BTreeMap<String, u64>>,
}

/// Escapes a label value (backslash, double quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one HTTP request.
    pub fn request(&self, endpoint: &'static str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((endpoint, status)).or_default() += 1;
        }
    }

    /// Records the latency of one successful (durable) cosignature.
    pub fn cosigned(&self, origin: &str, size: u64, latency: Duration) {
        let secs = latency.as_secs_f64();
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
        self.set_latest_size(origin, size);
    }

    /// Sets the latest cosigned size of a log (never lowers it).
    pub fn set_latest_size(&self, origin: &str, size: u64) {
        if let Ok(mut m) = self.latest_size.lock() {
            let e = m.entry(origin.to_string()).or_default();
            *e = (*e).max(size);
        }
    }

    /// The exposition text. `store` is (commits, updates, largest batch).
    pub fn render(&self, store: (u64, u64, u64)) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str(
            "# HELP notarium_witness_requests_total HTTP requests by endpoint and status code.\n\
             # TYPE notarium_witness_requests_total counter\n",
        );
        if let Ok(m) = self.requests.lock() {
            for ((endpoint, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "notarium_witness_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP notarium_witness_cosign_duration_seconds Time from receiving an add-checkpoint request to answering it with a durable cosignature.\n\
             # TYPE notarium_witness_cosign_duration_seconds histogram\n",
        );
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "notarium_witness_cosign_duration_seconds_bucket{{le=\"{le}\"}} {}",
                self.latency_buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "notarium_witness_cosign_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "notarium_witness_cosign_duration_seconds_sum {}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "notarium_witness_cosign_duration_seconds_count {count}"
        );
        out.push_str(
            "# HELP notarium_witness_latest_size Size of the latest checkpoint cosigned, per log.\n\
             # TYPE notarium_witness_latest_size gauge\n",
        );
        if let Ok(m) = self.latest_size.lock() {
            for (origin, size) in m.iter() {
                let _ = writeln!(
                    out,
                    "notarium_witness_latest_size{{origin=\"{}\"}} {size}",
                    label(origin)
                );
            }
        }
        let (commits, updates, largest) = store;
        let _ = write!(
            out,
            "# HELP notarium_witness_store_commits_total Durable commits of the witness state (group commits).\n\
             # TYPE notarium_witness_store_commits_total counter\n\
             notarium_witness_store_commits_total {commits}\n\
             # HELP notarium_witness_store_updates_total Atomic updates applied by those commits.\n\
             # TYPE notarium_witness_store_updates_total counter\n\
             notarium_witness_store_updates_total {updates}\n\
             # HELP notarium_witness_store_largest_batch Most updates committed together so far.\n\
             # TYPE notarium_witness_store_largest_batch gauge\n\
             notarium_witness_store_largest_batch {largest}\n"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_and_gauges() {
        let m = Metrics::new();
        m.request("add-checkpoint", 200);
        m.request("add-checkpoint", 200);
        m.request("add-checkpoint", 409);
        m.cosigned("a\"b", 7, Duration::from_millis(3));
        let text = m.render((1, 2, 2));
        assert!(text.contains(
            "notarium_witness_requests_total{endpoint=\"add-checkpoint\",status=\"200\"} 2\n"
        ));
        assert!(text.contains(
            "notarium_witness_requests_total{endpoint=\"add-checkpoint\",status=\"409\"} 1\n"
        ));
        assert!(
            text.contains("notarium_witness_cosign_duration_seconds_bucket{le=\"0.0025\"} 0\n")
        );
        assert!(text.contains("notarium_witness_cosign_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("notarium_witness_cosign_duration_seconds_count 1\n"));
        assert!(text.contains("notarium_witness_latest_size{origin=\"a\\\"b\"} 7\n"));
        assert!(text.contains("notarium_witness_store_updates_total 2\n"));
    }
}

#[cfg(test)]
mod exposition {
    use super::*;

    /// The whole exposition for a known state, byte for byte.
    #[test]
    fn the_exposition_is_stable() {
        let m = Metrics::new();
        m.request("add-checkpoint", 200);
        m.request("checkpoint", 404);
        m.cosigned("notarium.example/log", 7, Duration::from_micros(700));
        m.cosigned("notarium.example/log", 9, Duration::from_secs(6));
        m.cosigned("other\\log\n", 3, Duration::from_millis(30));
        let text = m.render((4, 5, 3));
        assert_eq!(text, EXPECTED);
    }

    const EXPECTED: &str = r#"# HELP notarium_witness_requests_total HTTP requests by endpoint and status code.
# TYPE notarium_witness_requests_total counter
notarium_witness_requests_total{endpoint="add-checkpoint",status="200"} 1
notarium_witness_requests_total{endpoint="checkpoint",status="404"} 1
# HELP notarium_witness_cosign_duration_seconds Time from receiving an add-checkpoint request to answering it with a durable cosignature.
# TYPE notarium_witness_cosign_duration_seconds histogram
notarium_witness_cosign_duration_seconds_bucket{le="0.0005"} 0
notarium_witness_cosign_duration_seconds_bucket{le="0.001"} 1
notarium_witness_cosign_duration_seconds_bucket{le="0.0025"} 1
notarium_witness_cosign_duration_seconds_bucket{le="0.005"} 1
notarium_witness_cosign_duration_seconds_bucket{le="0.01"} 1
notarium_witness_cosign_duration_seconds_bucket{le="0.025"} 1
notarium_witness_cosign_duration_seconds_bucket{le="0.05"} 2
notarium_witness_cosign_duration_seconds_bucket{le="0.1"} 2
notarium_witness_cosign_duration_seconds_bucket{le="0.25"} 2
notarium_witness_cosign_duration_seconds_bucket{le="0.5"} 2
notarium_witness_cosign_duration_seconds_bucket{le="1"} 2
notarium_witness_cosign_duration_seconds_bucket{le="2.5"} 2
notarium_witness_cosign_duration_seconds_bucket{le="5"} 2
notarium_witness_cosign_duration_seconds_bucket{le="+Inf"} 3
notarium_witness_cosign_duration_seconds_sum 6.0307
notarium_witness_cosign_duration_seconds_count 3
# HELP notarium_witness_latest_size Size of the latest checkpoint cosigned, per log.
# TYPE notarium_witness_latest_size gauge
notarium_witness_latest_size{origin="notarium.example/log"} 9
notarium_witness_latest_size{origin="other\\log\n"} 3
# HELP notarium_witness_store_commits_total Durable commits of the witness state (group commits).
# TYPE notarium_witness_store_commits_total counter
notarium_witness_store_commits_total 4
# HELP notarium_witness_store_updates_total Atomic updates applied by those commits.
# TYPE notarium_witness_store_updates_total counter
notarium_witness_store_updates_total 5
# HELP notarium_witness_store_largest_batch Most updates committed together so far.
# TYPE notarium_witness_store_largest_batch gauge
notarium_witness_store_largest_batch 3
"#;
}
