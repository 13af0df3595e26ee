//! Prometheus text exposition (format 0.0.4), written by hand: family
//! headers, label values and the latency histogram both servers keep.
//!
//! Each server renders its own families into a `String` and serves it as
//! `text/plain; version=0.0.4`; this module writes the lines whose shape
//! must not differ between them.

use std::borrow::Cow;
use std::fmt::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The type of a metric family, as written on its `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (restarts at 0 with the process).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Cumulative buckets, a sum and a count.
    Histogram,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        })
    }
}

/// Writes a family's `# HELP` and `# TYPE` lines. `help` is escaped as the
/// format requires (backslash and line feed).
pub fn write_header(out: &mut String, name: &str, help: &str, kind: Kind) {
    let help = escape(help, false);
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
}

/// A label value escaped for the exposition: backslash, double quote and
/// line feed.
pub fn escape_label_value(v: &str) -> Cow<'_, str> {
    escape(v, true)
}

fn escape(v: &str, quote: bool) -> Cow<'_, str> {
    let special = |c: char| c == '\\' || c == '\n' || (quote && c == '"');
    if !v.contains(special) {
        return Cow::Borrowed(v);
    }
    let mut s = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '"' if quote => s.push_str("\\\""),
            c => s.push(c),
        }
    }
    Cow::Owned(s)
}

/// The labels of one histogram series.
#[derive(Debug, Clone, Copy)]
pub enum Labels<'a> {
    /// No labels: `name_sum 1.5`.
    None,
    /// No labels, written as an empty label set on the `_sum` and `_count`
    /// lines: `name_sum{} 1.5`. The notary's exposition has always had this
    /// form, and its scrapers (tests/notary_e2e.rs, the load bench) read it;
    /// Prometheus parses both.
    EmptySet,
    /// `name="value"` pairs in this order; values are escaped when written.
    Pairs(&'a [(&'a str, &'a str)]),
}

impl Labels<'_> {
    /// The pairs as written inside braces (`a="x",b="y"`), without braces.
    fn inner(&self) -> String {
        let mut s = String::new();
        if let Labels::Pairs(pairs) = self {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let _ = write!(s, "{k}=\"{}\"", escape_label_value(v));
            }
        }
        s
    }
}

/// A latency histogram: bucket upper bounds (seconds) fixed at
/// construction, lock-free observations (one relaxed atomic add per bucket
/// and one for the sum), rendered as a Prometheus histogram.
///
/// Each observation is counted in one bucket (the first whose bound it does
/// not exceed, or the overflow one) and the exposition adds them up, so the
/// cumulative buckets never decrease and `+Inf` equals `_count` in every
/// scrape, even while observations are being made.
#[derive(Debug)]
pub struct Histogram {
    bounds: Box<[f64]>,
    /// One per bound, then the overflow (above the largest bound).
    buckets: Box<[AtomicU64]>,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// A histogram with these bucket upper bounds, in seconds.
    ///
    /// # Panics
    /// If `bounds` is empty, or not finite, positive and strictly
    /// increasing: the bounds are constants of the program.
    pub fn new(bounds: &[f64]) -> Self {
        assert!(!bounds.is_empty(), "a histogram needs at least one bucket");
        assert!(
            bounds.iter().all(|b| b.is_finite() && *b > 0.0)
                && bounds.windows(2).all(|w| w[0] < w[1]),
            "histogram bounds must be finite, positive and increasing: {bounds:?}"
        );
        Histogram {
            bounds: bounds.into(),
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// The bucket upper bounds, in seconds.
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Counts one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = self.bounds.partition_point(|b| *b < s);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Writes the family: its `# HELP` and `# TYPE` lines, then this
    /// histogram as its one series.
    pub fn write(&self, out: &mut String, name: &str, help: &str, labels: Labels<'_>) {
        write_header(out, name, help, Kind::Histogram);
        self.write_series(out, name, labels);
    }

    /// Writes this histogram as one series of family `name` (whose header
    /// the caller wrote): a `_bucket` line per bound and `+Inf`, `_sum` (in
    /// seconds) and `_count`.
    pub fn write_series(&self, out: &mut String, name: &str, labels: Labels<'_>) {
        let inner = labels.inner();
        let sep = if inner.is_empty() { "" } else { "," };
        let mut cumulative = 0u64;
        for (b, n) in self.bounds.iter().zip(self.buckets.iter()) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{inner}{sep}le=\"{b}\"}} {cumulative}");
        }
        let count = cumulative + self.buckets[self.bounds.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{inner}{sep}le=\"+Inf\"}} {count}");
        let braces = if inner.is_empty() && !matches!(labels, Labels::EmptySet) {
            String::new()
        } else {
            format!("{{{inner}}}")
        };
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = write!(
            out,
            "{name}_sum{braces} {sum}\n{name}_count{braces} {count}\n"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: [f64; 3] = [0.001, 0.01, 1.0];

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn writes_header_buckets_sum_and_count_without_labels() {
        let h = Histogram::new(&B);
        for d in [ms(1), ms(5), ms(5), ms(2000)] {
            h.observe(d);
        }
        let mut out = String::new();
        h.write(&mut out, "x_seconds", "Latency.", Labels::None);
        assert_eq!(
            out,
            "# HELP x_seconds Latency.\n\
             # TYPE x_seconds histogram\n\
             x_seconds_bucket{le=\"0.001\"} 1\n\
             x_seconds_bucket{le=\"0.01\"} 3\n\
             x_seconds_bucket{le=\"1\"} 3\n\
             x_seconds_bucket{le=\"+Inf\"} 4\n\
             x_seconds_sum 2.011\n\
             x_seconds_count 4\n"
        );
        assert_eq!(h.count(), 4);
    }

    #[test]
    fn an_observation_on_a_bound_falls_in_that_bucket() {
        let h = Histogram::new(&B);
        h.observe(ms(10));
        let mut out = String::new();
        h.write_series(&mut out, "x", Labels::None);
        assert!(out.contains("x_bucket{le=\"0.001\"} 0\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.01\"} 1\n"), "{out}");
    }

    #[test]
    fn the_empty_label_set_braces_only_sum_and_count() {
        let h = Histogram::new(&B);
        let mut out = String::new();
        h.write_series(&mut out, "x", Labels::EmptySet);
        assert_eq!(
            out,
            "x_bucket{le=\"0.001\"} 0\nx_bucket{le=\"0.01\"} 0\nx_bucket{le=\"1\"} 0\n\
             x_bucket{le=\"+Inf\"} 0\nx_sum{} 0\nx_count{} 0\n"
        );
    }

    #[test]
    fn labels_come_before_le_and_are_escaped() {
        let h = Histogram::new(&B);
        h.observe(ms(3));
        let mut out = String::new();
        h.write_series(
            &mut out,
            "x",
            Labels::Pairs(&[("witness", "a\"b\\c\nd"), ("role", "court")]),
        );
        let l = r#"witness="a\"b\\c\nd",role="court""#;
        assert_eq!(
            out,
            format!(
                "x_bucket{{{l},le=\"0.001\"}} 0\nx_bucket{{{l},le=\"0.01\"}} 1\n\
                 x_bucket{{{l},le=\"1\"}} 1\nx_bucket{{{l},le=\"+Inf\"}} 1\n\
                 x_sum{{{l}}} 0.003\nx_count{{{l}}} 1\n"
            )
        );
    }

    #[test]
    fn header_help_is_escaped() {
        let mut out = String::new();
        write_header(&mut out, "y", "a\\b\nc \"q\"", Kind::Gauge);
        assert_eq!(out, "# HELP y a\\\\b\\nc \"q\"\n# TYPE y gauge\n");
        assert_eq!(escape_label_value("plain"), Cow::Borrowed("plain"));
    }

    #[test]
    fn observations_from_many_threads_are_all_counted() {
        let h = Histogram::new(&B);
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let h = &h;
                s.spawn(move || {
                    for i in 0..1000 {
                        h.observe(Duration::from_micros(t * 400 + i));
                    }
                });
            }
        });
        assert_eq!(h.count(), 4000);
        let mut out = String::new();
        h.write_series(&mut out, "x", Labels::None);
        assert!(out.contains("x_bucket{le=\"+Inf\"} 4000\n"), "{out}");
        assert!(out.contains("x_count 4000\n"), "{out}");
    }

    #[test]
    #[should_panic(expected = "increasing")]
    fn bounds_must_increase() {
        let _ = Histogram::new(&[0.1, 0.1]);
    }

    #[test]
    #[should_panic(expected = "at least one bucket")]
    fn bounds_must_not_be_empty() {
        let _ = Histogram::new(&[]);
    }
}
