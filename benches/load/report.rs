//! What the bench prints at the end: the table of figures against their
//! baselines and goals with the one-line `summary:`, and the growth table.

use crate::baselines::Baselines;
use crate::growth::GrowthRow;
use crate::knobs::Knobs;
use crate::measure::PhaseResult;
use crate::notary_load::{StoreFigures, TtfResult};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

struct Row {
    figure: String,
    value: String,
    baseline: String,
    ratio: String,
    goal: String,
    met: String,
}

impl Row {
    /// A row with a value only (no baseline, ratio, goal).
    fn plain(figure: impl Into<String>, value: String, goal: &str) -> Row {
        Row {
            figure: figure.into(),
            value,
            baseline: "-".into(),
            ratio: "-".into(),
            goal: goal.into(),
            met: "-".into(),
        }
    }

    /// A row compared with a baseline, without a goal.
    fn versus(figure: &str, value: String, baseline: String, ratio: f64) -> Row {
        Row {
            figure: figure.into(),
            value,
            baseline,
            ratio: format!("{ratio:.2}x"),
            goal: "-".into(),
            met: "-".into(),
        }
    }
}

fn yes(b: bool) -> String {
    if b { "met" } else { "NOT met" }.into()
}

/// The table of a run, then its summary line and elapsed time.
pub(crate) fn print(
    k: &Knobs,
    base: &Baselines,
    figures: &BTreeMap<String, StoreFigures>,
    started: Instant,
) {
    let mut rows = baseline_rows(k, base);
    let Baselines {
        pg1,
        pg100,
        sq1,
        echo,
    } = base;
    let mut summary = format!(
        "summary: pg1={:.0} pg100={:.0} sqlite1={:.0} actix={:.0}",
        pg1.rate, pg100.rate, sq1.rate, echo.rate
    );
    if let Some(f) = figures.get("postgres") {
        postgres_rows(k, base, f, &mut rows, &mut summary);
    }
    if let Some(f) = figures.get("sqlite") {
        sqlite_rows(k, base, f, &mut rows, &mut summary);
    }
    println!();
    print_table(&rows);
    println!();
    println!("{summary}");
    println!(
        "elapsed {:.0} s; absolute figures are noisy on a shared machine, ratios less so",
        started.elapsed().as_secs_f64()
    );
}

fn baseline_rows(k: &Knobs, b: &Baselines) -> Vec<Row> {
    vec![
        Row::plain(
            format!("PostgreSQL 1-row commits/s ({} clients)", k.pg_clients),
            format!("{:.0}", b.pg1.rate),
            "baseline",
        ),
        Row::plain(
            format!(
                "PostgreSQL 100-row commits, rows/s ({} clients)",
                k.pg_clients
            ),
            format!("{:.0}", b.pg100.rate),
            "baseline",
        ),
        Row::plain(
            "SQLite 1-row commits/s (1 writer)",
            format!("{:.0}", b.sq1.rate),
            "baseline",
        ),
        Row::plain(
            format!("actix JSON, no storage, req/s ({} conns)", k.conns),
            format!("{:.0}", b.echo.rate),
            "baseline",
        ),
    ]
}

fn postgres_rows(
    k: &Knobs,
    b: &Baselines,
    f: &StoreFigures,
    rows: &mut Vec<Row>,
    summary: &mut String,
) {
    let Baselines {
        pg1, pg100, echo, ..
    } = b;
    let r = f.single.rate / pg1.rate;
    rows.push(Row {
        figure: "notary/PostgreSQL single submissions/s".into(),
        value: format!("{:.0}", f.single.rate),
        baseline: format!("{:.0} (PG 1-row)", pg1.rate),
        ratio: format!("{r:.2}x"),
        goal: ">= 2.5x and >= 20000/s".into(),
        met: format!(
            "ratio {}, absolute {}",
            yes(r >= 2.5),
            yes(f.single.rate >= 20_000.0)
        ),
    });
    rows.push(ceiling_row(f, echo));
    rows.push(notary_cpu_row("PostgreSQL", f, echo));
    rows.push(Row::versus(
        "  postgres CPU per submission",
        format!("{:.1} us", f.single.postgres_us),
        format!("{:.1} us (PG 1-row)", pg1.postgres_us),
        f.single.postgres_us / pg1.postgres_us,
    ));
    rows.push(latency_row("PostgreSQL", f, "PG 1-row", pg1));
    let rb = f.batch.rate / pg100.rate;
    rows.push(Row {
        figure: format!("notary/PostgreSQL digests/s in batches of {}", k.batch),
        value: format!("{:.0}", f.batch.rate),
        baseline: format!("{:.0} (PG 100-row)", pg100.rate),
        ratio: format!("{rb:.2}x"),
        goal: ">= 150000/s (0.77x)".into(),
        met: format!(
            "ratio {}, absolute {}",
            yes(rb >= 150.0 / 196.0),
            yes(f.batch.rate >= 150_000.0)
        ),
    });
    rows.push(ttf_row("PostgreSQL", &f.ttf));
    rows.push(backlog_row("PostgreSQL", f));
    let _ = write!(
        summary,
        " actix_cpu_us={:.1} pg_single={:.0} pg_single_ratio={r:.2} pg_cpu_us={:.1} pg_p50={:.1} pg_p99={:.1} pg_batch={:.0} pg_batch_ratio={rb:.2} pg_ttf_p50={:.0} pg_ttf_p99={:.0}",
        echo.server_us,
        f.single.rate,
        f.single.server_us,
        f.single.p50_ms,
        f.single.p99_ms,
        f.batch.rate,
        f.ttf.p50_ms,
        f.ttf.p99_ms
    );
}

fn sqlite_rows(
    k: &Knobs,
    b: &Baselines,
    f: &StoreFigures,
    rows: &mut Vec<Row>,
    summary: &mut String,
) {
    let Baselines {
        pg100, sq1, echo, ..
    } = b;
    let r = f.single.rate / sq1.rate;
    let rh = f.single.rate / echo.rate;
    rows.push(Row {
        figure: "notary/SQLite single submissions/s".into(),
        value: format!("{:.0}", f.single.rate),
        baseline: format!("{:.0} (SQLite 1-row)", sq1.rate),
        ratio: format!("{r:.2}x"),
        goal: ">= 15000/s (0.27x actix)".into(),
        met: format!(
            "vs actix {}, absolute {}",
            yes(rh >= 15.0 / 56.0),
            yes(f.single.rate >= 15_000.0)
        ),
    });
    rows.push(ceiling_row(f, echo));
    rows.push(notary_cpu_row("SQLite", f, echo));
    rows.push(latency_row("SQLite", f, "SQLite 1-row", sq1));
    rows.push(Row {
        figure: format!("notary/SQLite digests/s in batches of {}", k.batch),
        value: format!("{:.0}", f.batch.rate),
        baseline: format!("{:.0} (PG 100-row)", pg100.rate),
        ratio: format!("{:.2}x", f.batch.rate / pg100.rate),
        goal: "(>= 150000/s is for PG)".into(),
        met: "-".into(),
    });
    rows.push(ttf_row("SQLite", &f.ttf));
    rows.push(backlog_row("SQLite", f));
    let _ = write!(
        summary,
        " sq_single={:.0} sq_single_vs_actix={rh:.2} sq_cpu_us={:.1} sq_p50={:.1} sq_p99={:.1} sq_batch={:.0} sq_ttf_p50={:.0} sq_ttf_p99={:.0}",
        f.single.rate,
        f.single.server_us,
        f.single.p50_ms,
        f.single.p99_ms,
        f.batch.rate,
        f.ttf.p50_ms,
        f.ttf.p99_ms
    );
}

/// Single submissions against the bare actix handler.
fn ceiling_row(f: &StoreFigures, echo: &PhaseResult) -> Row {
    Row::versus(
        "  same, vs the HTTP ceiling",
        format!("{:.0}", f.single.rate),
        format!("{:.0} (actix)", echo.rate),
        f.single.rate / echo.rate,
    )
}

/// The notary's CPU per single submission against the echo server's per
/// request.
fn notary_cpu_row(store: &str, f: &StoreFigures, echo: &PhaseResult) -> Row {
    Row::versus(
        &format!("  notary CPU per submission ({store})"),
        format!("{:.1} us", f.single.server_us),
        format!("{:.1} us (actix req)", echo.server_us),
        f.single.server_us / echo.server_us,
    )
}

/// Single submissions' p50 / p99 against the store's 1-row commits.
fn latency_row(store: &str, f: &StoreFigures, base_name: &str, base: &PhaseResult) -> Row {
    Row {
        figure: format!("notary/{store} single p50 / p99 latency"),
        value: format!("{:.1} / {:.1} ms", f.single.p50_ms, f.single.p99_ms),
        baseline: format!("{:.1} / {:.1} ms ({base_name})", base.p50_ms, base.p99_ms),
        ratio: "-".into(),
        goal: "p99 <= 50 ms".into(),
        met: yes(f.single.p99_ms <= 50.0),
    }
}

fn backlog_row(store: &str, f: &StoreFigures) -> Row {
    Row::plain(
        format!("notary/{store} backlog sequenced+final/s"),
        format!("{:.0}", f.drain_rate),
        "-",
    )
}

fn ttf_row(store: &str, t: &TtfResult) -> Row {
    Row {
        figure: format!(
            "notary/{store} time to final p50 / p99 at {:.0}/s",
            t.offered
        ),
        value: format!("{:.0} / {:.0} ms", t.p50_ms, t.p99_ms),
        baseline: format!("{}/{} ids final", t.finals, t.sampled),
        ratio: "-".into(),
        goal: "p50 <= 1000, p99 <= 2000 ms".into(),
        met: yes(t.p50_ms <= 1000.0
            && t.p99_ms <= 2000.0
            && t.finals == t.sampled
            && t.sampled > 0),
    }
}

fn print_table(rows: &[Row]) {
    let headers = ["figure", "value", "baseline", "ratio", "goal", "met"];
    let cells: Vec<[&str; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.as_str(),
                r.value.as_str(),
                r.baseline.as_str(),
                r.ratio.as_str(),
                r.goal.as_str(),
                r.met.as_str(),
            ]
        })
        .collect();
    let mut width = headers.map(str::len);
    for c in &cells {
        for (i, s) in c.iter().enumerate() {
            width[i] = width[i].max(s.len());
        }
    }
    let line = |c: [&str; 6]| {
        let mut s = String::from("|");
        for (i, x) in c.iter().enumerate() {
            let _ = write!(s, " {x:<w$} |", w = width[i]);
        }
        println!("{s}");
    };
    line(headers);
    let mut sep = String::from("|");
    for w in width {
        let _ = write!(sep, "{}|", "-".repeat(w + 2));
    }
    println!("{sep}");
    for c in cells {
        line(c);
    }
}

/// The growth table: one row per log size, the first (size 0) the
/// baseline of the rate; then the proof requests that failed.
pub(crate) fn print_growth_table(rows: &[GrowthRow]) {
    let base = rows[0].single.rate;
    println!();
    println!(
        "| log size | submissions/s | vs size 0 (goal >= 0.9) | submit p99 ms | notary RSS MB (peak) | inclusion p50/p99 ms | consistency p50/p99 ms | bulk load/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {:.0} | {:.2} | {:.1} | {:.0} ({:.0}) | {:.2} / {:.2} | {:.2} / {:.2} | {} |",
            r.size,
            r.single.rate,
            r.single.rate / base,
            r.single.p99_ms,
            r.rss.0,
            r.rss.1,
            r.inclusion.0,
            r.inclusion.1,
            r.consistency.0,
            r.consistency.1,
            if r.load_rate.is_nan() {
                "-".into()
            } else {
                format!("{:.0}", r.load_rate)
            },
        );
    }
    let proof_errors: u64 = rows.iter().map(|r| r.inclusion.2 + r.consistency.2).sum();
    println!("proof request errors: {proof_errors}");
}
