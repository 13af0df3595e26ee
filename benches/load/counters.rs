//! What the machine and its processes did, read from /proc: CPU ticks per
//! party, the data disk's busy time and writes, a process's memory, and a
//! one-line description of the machine.

use std::process::Command;
use std::time::Instant;

/// Clock ticks per second of /proc times.
pub(crate) fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process, in ticks, and its command name.
fn proc_ticks(pid: &str) -> Option<(String, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = s[open + 1..close].to_string();
    let f: Vec<&str> = s[close + 2..].split(' ').collect();
    // Fields after the command: state is index 0, utime 11, stime 12.
    let t = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some((comm, t))
}

/// Busy and total ticks of the whole machine.
fn machine_ticks() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = s.lines().next().unwrap_or("");
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
    (busy, busy + get(3) + get(4))
}

/// Milliseconds spent doing I/O and 512-byte sectors written so far by the
/// disk that holds PostgreSQL's data (/var/lib/postgresql, else /), from
/// /proc/diskstats; zeros where that cannot be read.
fn disk_counters() -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let Some(dev) = ["/var/lib/postgresql", "/"]
        .iter()
        .find_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.dev())
    else {
        return (0, 0);
    };
    let (major, minor) = (
        ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff),
        (dev & 0xff) | ((dev >> 12) & !0xff),
    );
    let stats = std::fs::read_to_string("/proc/diskstats").unwrap_or_default();
    for line in stats.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok());
        if num(0) == Some(major) && num(1) == Some(minor) {
            // After major, minor, name: sectors written is the 7th field,
            // milliseconds doing I/O the 10th.
            return (num(12).unwrap_or(0), num(9).unwrap_or(0));
        }
    }
    (0, 0)
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CpuSnap {
    client: u64,
    notary: u64,
    witnesses: u64,
    postgres: u64,
    busy: u64,
    total: u64,
    disk_io_ms: u64,
    disk_sectors_written: u64,
}

/// Processes whose CPU is reported separately from "other".
#[derive(Debug, Clone, Default)]
pub(crate) struct Watched {
    pub notary: Option<u32>,
    pub witnesses: Vec<u32>,
}

pub(crate) fn snap(w: &Watched) -> CpuSnap {
    let mut s = CpuSnap {
        client: proc_ticks("self").map(|x| x.1).unwrap_or(0),
        ..CpuSnap::default()
    };
    if let Some(p) = w.notary {
        s.notary = proc_ticks(&p.to_string()).map(|x| x.1).unwrap_or(0);
    }
    for p in &w.witnesses {
        s.witnesses += proc_ticks(&p.to_string()).map(|x| x.1).unwrap_or(0);
    }
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.bytes().all(|b| b.is_ascii_digit())
                && let Some((comm, t)) = proc_ticks(&name)
                && comm == "postgres"
            {
                s.postgres += t;
            }
        }
    }
    (s.busy, s.total) = machine_ticks();
    (s.disk_io_ms, s.disk_sectors_written) = disk_counters();
    s
}

/// Cores used by each party over a window.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CpuUse {
    pub client: f64,
    pub notary: f64,
    pub witnesses: f64,
    pub postgres: f64,
    pub other: f64,
    pub idle: f64,
    /// Share of the window the data disk was busy, and what it wrote.
    pub disk_busy: f64,
    pub disk_write_mb_s: f64,
}

pub(crate) fn cpu_between(a: &CpuSnap, b: &CpuSnap, secs: f64, tck: f64) -> CpuUse {
    let c = |x: u64, y: u64| y.saturating_sub(x) as f64 / tck / secs;
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let busy = c(a.busy, b.busy);
    let total = c(a.total, b.total).max(1e-9);
    let client = c(a.client, b.client);
    let notary = c(a.notary, b.notary);
    let witnesses = c(a.witnesses, b.witnesses);
    let postgres = c(a.postgres, b.postgres);
    CpuUse {
        client,
        notary,
        witnesses,
        postgres,
        other: (busy - client - notary - witnesses - postgres).max(0.0),
        idle: ncpu * (1.0 - busy / total),
        disk_busy: b.disk_io_ms.saturating_sub(a.disk_io_ms) as f64 / 1000.0 / secs,
        disk_write_mb_s: b
            .disk_sectors_written
            .saturating_sub(a.disk_sectors_written) as f64
            * 512.0
            / 1e6
            / secs,
    }
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cores: client {:.2} notary {:.2} witnesses {:.2} postgres {:.2} other {:.2} idle {:.2}; \
             disk busy {:.0}%, writing {:.0} MB/s",
            self.client,
            self.notary,
            self.witnesses,
            self.postgres,
            self.other,
            self.idle,
            self.disk_busy * 100.0,
            self.disk_write_mb_s
        )
    }
}

/// Measures CPU over `[start, end]` in the background.
pub(crate) fn cpu_task(
    watched: Watched,
    start: Instant,
    end: Instant,
) -> tokio::task::JoinHandle<(CpuSnap, CpuSnap)> {
    tokio::spawn(async move {
        tokio::time::sleep_until(start.into()).await;
        let a = tokio::task::spawn_blocking({
            let w = watched.clone();
            move || snap(&w)
        })
        .await
        .unwrap();
        tokio::time::sleep_until(end.into()).await;
        let b = tokio::task::spawn_blocking(move || snap(&watched))
            .await
            .unwrap();
        (a, b)
    })
}

/// Resident and peak memory of a process, in MB.
pub(crate) fn rss_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Cores, CPU model, memory and load average, for the report's first line.
pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
        / 1024;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{} x {cpu}, {mem} GiB RAM, load average {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}
