//! Prometheus text exposition (format 0.0.4), written by hand: a few
//! counters, one histogram and one gauge per log. The histogram, the
//! family headers and label escaping are the notary's too
//! (`notarium_http::metrics`).

use notarium_http::metrics::{Histogram, Kind, Labels, escape_label_value, write_header};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the cosign latency histogram.
pub const LATENCY_BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    latency: Histogram,
    latest_size: Mutex<BTreeMap<String, u64>>,
    /// Seconds the clock was behind the last cosignature at the latest
    /// add-checkpoint that reached the clock check (0 once it cosigns).
    clock_behind: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Mutex::default(),
            latency: Histogram::new(&LATENCY_BUCKETS),
            latest_size: Mutex::default(),
            clock_behind: AtomicU64::default(),
        }
    }
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
        self.latency.observe(latency);
        self.set_latest_size(origin, size);
    }

    /// Records how far the clock is behind the last cosignature (0: not).
    pub fn clock_behind(&self, seconds: u64) {
        self.clock_behind.store(seconds, Ordering::Relaxed);
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
        write_header(
            &mut out,
            "notarium_witness_requests_total",
            "HTTP requests by endpoint and status code.",
            Kind::Counter,
        );
        if let Ok(m) = self.requests.lock() {
            for ((endpoint, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "notarium_witness_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}"
                );
            }
        }
        self.latency.write(
            &mut out,
            "notarium_witness_cosign_duration_seconds",
            "Time from receiving an add-checkpoint request to answering it with a durable cosignature.",
            Labels::None,
        );
        write_header(
            &mut out,
            "notarium_witness_latest_size",
            "Size of the latest checkpoint cosigned, per log.",
            Kind::Gauge,
        );
        if let Ok(m) = self.latest_size.lock() {
            for (origin, size) in m.iter() {
                let _ = writeln!(
                    out,
                    "notarium_witness_latest_size{{origin=\"{}\"}} {size}",
                    escape_label_value(origin)
                );
            }
        }
        let (commits, updates, largest) = store;
        for (name, help, kind, value) in [
            (
                "notarium_witness_store_commits_total",
                "Durable commits of the witness state (group commits).",
                Kind::Counter,
                commits,
            ),
            (
                "notarium_witness_store_updates_total",
                "Atomic updates applied by those commits.",
                Kind::Counter,
                updates,
            ),
            (
                "notarium_witness_store_largest_batch",
                "Most updates committed together so far.",
                Kind::Gauge,
                largest,
            ),
        ] {
            write_header(&mut out, name, help, kind);
            let _ = writeln!(out, "{name} {value}");
        }
        let name = "notarium_witness_clock_behind_seconds";
        write_header(
            &mut out,
            name,
            "How far the clock is behind the last cosignature: above 0, add-checkpoint answers 503 until the clock catches up or `notarium-witness reset-clock` is run.",
            Kind::Gauge,
        );
        let _ = writeln!(out, "{name} {}", self.clock_behind.load(Ordering::Relaxed));
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
# HELP notarium_witness_clock_behind_seconds How far the clock is behind the last cosignature: above 0, add-checkpoint answers 503 until the clock catches up or `notarium-witness reset-clock` is run.
# TYPE notarium_witness_clock_behind_seconds gauge
notarium_witness_clock_behind_seconds 0
"#;
}
