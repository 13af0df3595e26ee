//! `notarium monitor`: follows a notary's log from its C2SP tlog-tiles into
//! a local SQLite mirror, verifies every checkpoint (the notary's signature,
//! every cosignature, the root recomputed from the tiles), and compares the
//! notary's checkpoint with each witness's (`GET <prefix>/checkpoint?origin=`).
//! Two signed checkpoints that cannot both be true, or a checkpoint smaller
//! than one already served, are written as an equivocation exhibit
//! (docs/monitor.md) that `notarium-verify --exhibit` checks offline.
//!
//! Exit codes: 0 ok, 1 split view or rollback found (for `check`: the
//! mirror does not hold the certificate), 2 usage or configuration error,
//! 3 network or other failure (a refused tile among them).

mod exhibit;
mod mirror;
mod tree;

use anyhow::{Context, anyhow};
use futures::StreamExt;
use mirror::Mirror;
use notarium_core::encoding::b64;
use notarium_core::identity::{CertInfo, certs_from_pem_file};
use notarium_core::merkle::{hashes_equal, leaf_hash};
use notarium_core::{Hash, Policy, TrustRoots, Verifier};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Exit code: split view or rollback found.
pub const EXIT_SPLIT_VIEW: u8 = 1;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: network or other failure.
pub const EXIT_FAILURE: u8 = 3;

const TILE: u64 = 256;

/// What the monitor trusts: the roots, and the notary's and witnesses'
/// certificates (their chains to the roots are checked).
#[derive(clap::Args, Debug, Clone)]
pub struct TrustArgs {
    /// The mirror (a SQLite file, created if missing).
    #[arg(long, default_value = "notarium-mirror.sqlite")]
    pub mirror: PathBuf,
    /// PEM file(s) of trust roots (repeatable).
    #[arg(long = "trust", value_name = "PEM", required = true)]
    pub trust: Vec<PathBuf>,
    /// PEM file(s) of the notary's and the witnesses' certificates and
    /// intermediates (repeatable): every signature on a checkpoint must
    /// verify with one of them.
    #[arg(long = "certs", value_name = "PEM")]
    pub certs: Vec<PathBuf>,
    /// The log origin (default: the CN of the notary certificate in --certs).
    #[arg(long)]
    pub origin: Option<String>,
}

/// `notarium monitor [follow options]`.
#[derive(clap::Args, Debug, Clone)]
pub struct FollowArgs {
    /// The log's tiles prefix: the notary's root URL or a static mirror of
    /// it (serves /checkpoint, /tile/...).
    #[arg(long, value_name = "URL")]
    pub log: Option<String>,
    /// A witness to compare with, NAME=URL (its note key name and its
    /// prefix; repeatable).
    #[arg(long = "witness", value_name = "NAME=URL")]
    pub witness: Vec<String>,
    /// One round, then exit (for cron and tests).
    #[arg(long)]
    pub once: bool,
    /// Seconds between rounds.
    #[arg(long, default_value_t = 10)]
    pub interval: u64,
    /// Where equivocation exhibits are written.
    #[arg(long, default_value = ".")]
    pub exhibit_dir: PathBuf,
    /// Prometheus text file written after every round (for node_exporter's
    /// textfile collector): notarium_monitor_split_view and others.
    #[arg(long)]
    pub metrics_file: Option<PathBuf>,
    /// Tiles fetched at once.
    #[arg(long, default_value_t = 8)]
    pub parallel: usize,
}

/// `notarium monitor check CERT --witness-name NAME`.
#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// The certificate (JSON, or a PDF with certificate.json attached).
    pub cert: PathBuf,
    /// The witness whose cosignature the checkpoint must carry (ours).
    #[arg(long)]
    pub witness_name: String,
    /// The witness policy the certificate must meet.
    #[arg(long)]
    pub policy: Option<String>,
}

/// An error with its exit code.
#[derive(Debug)]
pub enum Fail {
    /// A usage or configuration error: exit 2.
    Usage(String),
    /// A network or other failure: exit 3.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Fail {
    fn from(e: anyhow::Error) -> Self {
        Fail::Other(e)
    }
}

fn report(r: Result<u8, Fail>) -> ExitCode {
    match r {
        Ok(code) => ExitCode::from(code),
        Err(Fail::Usage(m)) => {
            eprintln!("notarium monitor: {m}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Fail::Other(e)) => {
            eprintln!("notarium monitor: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

struct Trusted {
    verifier: Verifier,
    certs: Vec<CertInfo>,
    pems: Vec<String>,
    origin: String,
}

fn load_trust(t: &TrustArgs, policy: Option<&str>) -> Result<Trusted, Fail> {
    let read = |p: &Path, what: &str| -> Result<(String, Vec<CertInfo>), Fail> {
        let text = std::fs::read_to_string(p)
            .map_err(|e| Fail::Usage(format!("{what} {}: {e}", p.display())))?;
        let certs = certs_from_pem_file(&text)
            .map_err(|e| Fail::Usage(format!("{what} {}: {e}", p.display())))?;
        if certs.is_empty() {
            return Err(Fail::Usage(format!(
                "{what} {} holds no CERTIFICATE",
                p.display()
            )));
        }
        Ok((text, certs))
    };
    let mut roots = Vec::new();
    for p in &t.trust {
        roots.extend(read(p, "--trust")?.1);
    }
    let (mut certs, mut pems) = (Vec::new(), Vec::new());
    for p in &t.certs {
        let (text, c) = read(p, "--certs")?;
        certs.extend(c);
        pems.extend(pem_blocks(&text));
    }
    let origin = match &t.origin {
        Some(o) => o.clone(),
        None => certs
            .iter()
            .find(|c| notarium_core::Role::of(c) == Some(notarium_core::Role::Notary))
            .and_then(|c| c.common_name.clone())
            .ok_or_else(|| {
                Fail::Usage(
                    "no --origin and no notary certificate in --certs to take it from".into(),
                )
            })?,
    };
    let roots = TrustRoots::new(roots).map_err(|e| Fail::Usage(format!("--trust: {e}")))?;
    let policy = match policy {
        Some(p) => Policy::parse(p).map_err(|e| Fail::Usage(format!("--policy: {e}")))?,
        None => Policy::default(),
    };
    Ok(Trusted {
        verifier: Verifier::new(roots, Some(origin.clone()), policy),
        certs,
        pems,
        origin,
    })
}

/// The PEM blocks of a file, each as its own string.
fn pem_blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("-----BEGIN CERTIFICATE-----") {
            cur = Some(String::new());
        }
        if let Some(c) = cur.as_mut() {
            c.push_str(line.trim_end());
            c.push('\n');
        }
        if line.starts_with("-----END CERTIFICATE-----") {
            out.extend(cur.take());
        }
    }
    out
}

/// `notarium monitor` (follow).
pub fn follow_main(rt: &tokio::runtime::Runtime, t: TrustArgs, f: FollowArgs) -> ExitCode {
    report(rt.block_on(follow(t, f)))
}

/// `notarium monitor check`.
pub fn check_main(t: TrustArgs, c: CheckArgs) -> ExitCode {
    report(check(t, c))
}

struct Witness {
    name: String,
    url: String,
}

struct Monitor {
    http: reqwest::Client,
    log: String,
    witnesses: Vec<Witness>,
    trusted: Trusted,
    mirror: Mirror,
    parallel: usize,
    exhibit_dir: PathBuf,
}

/// A tile or checkpoint that is not there (404).
#[derive(Debug)]
struct Missing(String);
impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not published (404)", self.0)
    }
}
impl std::error::Error for Missing {}

/// What a round found.
struct Round {
    size: u64,
    /// Per witness: compared (true) or why not.
    witnesses: Vec<(String, Result<u64, String>)>,
    exhibit: Option<PathBuf>,
}

async fn follow(t: TrustArgs, f: FollowArgs) -> Result<u8, Fail> {
    let log = f
        .log
        .clone()
        .ok_or_else(|| Fail::Usage("--log URL is required (the notary's tiles prefix)".into()))?;
    let mut witnesses = Vec::new();
    for w in &f.witness {
        let (name, url) = w
            .split_once('=')
            .filter(|(n, u)| !n.is_empty() && u.starts_with("http"))
            .ok_or_else(|| Fail::Usage(format!("--witness {w}: expected NAME=http(s)://...")))?;
        witnesses.push(Witness {
            name: name.to_string(),
            url: url.trim_end_matches('/').to_string(),
        });
    }
    if !log.starts_with("http://") && !log.starts_with("https://") {
        return Err(Fail::Usage(format!("--log {log}: not an http(s) URL")));
    }
    if f.parallel == 0 {
        return Err(Fail::Usage("--parallel must be at least 1".into()));
    }
    let trusted = load_trust(&t, None)?;
    let mirror = Mirror::open(&t.mirror, &trusted.origin)
        .map_err(|e| Fail::Usage(format!("--mirror {}: {e:#}", t.mirror.display())))?;
    notarium_http::tls::install_default_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| Fail::Other(e.into()))?;
    let mut m = Monitor {
        http,
        log: log.trim_end_matches('/').to_string(),
        witnesses,
        trusted,
        mirror,
        parallel: f.parallel,
        exhibit_dir: f.exhibit_dir.clone(),
    };
    loop {
        let r = m.round().await;
        if let Some(p) = &f.metrics_file
            && let Err(e) = write_metrics(p, &m, &r)
        {
            eprintln!("notarium monitor: cannot write {}: {e}", p.display());
        }
        match r {
            Ok(r) => {
                for (name, w) in &r.witnesses {
                    match w {
                        Ok(size) => println!("witness {name}: consistent at size {size}"),
                        Err(why) => println!("witness {name}: not compared: {why}"),
                    }
                }
                if let Some(p) = r.exhibit {
                    eprintln!(
                        "notarium monitor: SPLIT VIEW: exhibit written to {}",
                        p.display()
                    );
                    println!("exhibit {}", p.display());
                    return Ok(EXIT_SPLIT_VIEW);
                }
                println!("log verified at size {}", r.size);
            }
            Err(e) if f.once => return Err(Fail::Other(e)),
            Err(e) => eprintln!("notarium monitor: {e:#} (retrying)"),
        }
        if f.once {
            return Ok(0);
        }
        tokio::time::sleep(Duration::from_secs(f.interval)).await;
    }
}

fn write_metrics(path: &Path, m: &Monitor, r: &anyhow::Result<Round>) -> std::io::Result<()> {
    let mut s = String::new();
    let split = matches!(
        r,
        Ok(Round {
            exhibit: Some(_),
            ..
        })
    );
    s.push_str("# HELP notarium_monitor_split_view 1 once a split view or rollback was found (an exhibit was written).\n");
    s.push_str("# TYPE notarium_monitor_split_view gauge\n");
    s.push_str(&format!("notarium_monitor_split_view {}\n", split as u8));
    s.push_str(
        "# HELP notarium_monitor_verified_size The tree size whose root the mirror verified.\n",
    );
    s.push_str("# TYPE notarium_monitor_verified_size gauge\n");
    s.push_str(&format!(
        "notarium_monitor_verified_size {}\n",
        m.mirror.verified()
    ));
    s.push_str("# HELP notarium_monitor_round_ok 1 if the last round completed, 0 if it failed.\n");
    s.push_str("# TYPE notarium_monitor_round_ok gauge\n");
    s.push_str(&format!("notarium_monitor_round_ok {}\n", r.is_ok() as u8));
    if let Ok(r) = r {
        s.push_str("# HELP notarium_monitor_witness_compared 1 if the witness's checkpoint was compared with the mirror.\n");
        s.push_str("# TYPE notarium_monitor_witness_compared gauge\n");
        for (name, w) in &r.witnesses {
            s.push_str(&format!(
                "notarium_monitor_witness_compared{{witness=\"{}\"}} {}\n",
                name.replace(['\\', '"', '\n'], "_"),
                w.is_ok() as u8
            ));
        }
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, s)?;
    std::fs::rename(&tmp, path)
}

/// A verified note: its text, size and root.
struct Checked {
    note: String,
    size: u64,
    root: Hash,
    cosigners: Vec<String>,
}

impl Monitor {
    async fn get(&self, url: &str) -> anyhow::Result<Vec<u8>> {
        get(&self.http, url).await
    }

    fn check_note(&self, note: &str, whose: &str) -> anyhow::Result<Checked> {
        let (cp, cosigners) = self
            .trusted
            .verifier
            .check_checkpoint(note, &self.trusted.certs)
            .map_err(|e| anyhow!("{whose} checkpoint does not verify: {e}"))?;
        Ok(Checked {
            note: note.to_string(),
            size: cp.size(),
            root: *cp.root(),
            cosigners,
        })
    }

    async fn round(&mut self) -> anyhow::Result<Round> {
        let url = format!("{}/checkpoint", self.log);
        let note = match self.get(&url).await {
            Ok(b) => String::from_utf8(b).map_err(|_| anyhow!("{url}: not UTF-8"))?,
            Err(e) if e.is::<Missing>() => {
                return Ok(Round {
                    size: self.mirror.verified(),
                    witnesses: Vec::new(),
                    exhibit: None,
                });
            }
            Err(e) => return Err(e),
        };
        let cp = self.check_note(&note, "the notary's")?;
        let log_source = format!("log {url}");
        // Rollback: smaller than a checkpoint the notary served before.
        if let Some(prev) = self.mirror.largest("notary")?
            && (cp.size < prev.size
                || (cp.size == prev.size && !hashes_equal(&cp.root, &prev.root)))
        {
            let kind = if cp.size < prev.size {
                "rollback"
            } else {
                "split-view"
            };
            let prev_checked = self.check_note(&prev.note, "the mirror's")?;
            let p = self.exhibit(kind, (&prev_checked, "log (earlier)"), (&cp, &log_source))?;
            return Ok(Round {
                size: self.mirror.verified(),
                witnesses: Vec::new(),
                exhibit: Some(p),
            });
        }
        self.catch_up(cp.size, &cp.root).await?;
        self.mirror
            .record("notary", cp.size, &cp.root, &note, true)?;

        let mut witnesses = Vec::new();
        for i in 0..self.witnesses.len() {
            let (name, wurl) = (
                self.witnesses[i].name.clone(),
                self.witnesses[i].url.clone(),
            );
            match self.compare(&name, &wurl, &cp, &log_source).await? {
                Compared::Same(s) => witnesses.push((name, Ok(s))),
                Compared::Not(why) => witnesses.push((name, Err(why))),
                Compared::Exhibit(p) => {
                    witnesses.push((name, Err("split view".into())));
                    return Ok(Round {
                        size: cp.size,
                        witnesses,
                        exhibit: Some(p),
                    });
                }
            }
        }
        Ok(Round {
            size: cp.size,
            witnesses,
            exhibit: None,
        })
    }

    async fn compare(
        &mut self,
        name: &str,
        wurl: &str,
        cp: &Checked,
        log_source: &str,
    ) -> anyhow::Result<Compared> {
        let url = format!("{wurl}/checkpoint?origin={}", percent(&self.trusted.origin));
        let note = match self.get(&url).await {
            Ok(b) => String::from_utf8(b).map_err(|_| anyhow!("{url}: not UTF-8"))?,
            Err(e) if e.is::<Missing>() => {
                return Ok(Compared::Not("it has cosigned nothing yet".into()));
            }
            // One witness down does not stop the others from being compared.
            Err(e) => return Ok(Compared::Not(format!("{e:#}"))),
        };
        let w = self.check_note(&note, &format!("witness {name}'s"))?;
        if !w.cosigners.iter().any(|c| c == name) {
            return Ok(Compared::Not(format!(
                "its checkpoint carries no cosignature by {name}"
            )));
        }
        let source = format!("witness {name} {url}");
        if w.size > self.mirror.verified() {
            // Ahead of the notary's checkpoint: check it against the tiles
            // if they are published already.
            match self.catch_up(w.size, &w.root).await {
                Ok(()) => {}
                Err(e) if e.is::<Missing>() => {
                    return Ok(Compared::Not(format!(
                        "it is at size {}, ahead of the log's published tiles ({})",
                        w.size,
                        self.mirror.verified()
                    )));
                }
                Err(e) => return Err(e),
            }
            self.mirror
                .record(&format!("witness:{name}"), w.size, &w.root, &note, true)?;
            return Ok(Compared::Same(w.size));
        }
        let ours = self.mirror.tree.root(w.size);
        if hashes_equal(&ours, &w.root) {
            self.mirror
                .record(&format!("witness:{name}"), w.size, &w.root, &note, false)?;
            return Ok(Compared::Same(w.size));
        }
        let p = self.exhibit("split-view", (cp, log_source), (&w, &source))?;
        Ok(Compared::Exhibit(p))
    }

    /// Fetches the tiles up to `size`, checks each against its bundle and
    /// the whole tree against `root`; on any failure nothing new is kept.
    async fn catch_up(&mut self, size: u64, root: &Hash) -> anyhow::Result<()> {
        let verified = self.mirror.verified();
        if size <= verified {
            anyhow::ensure!(
                hashes_equal(&self.mirror.tree.root(size), root),
                "the checkpoint of size {size} does not match the mirror's verified tree"
            );
            return Ok(());
        }
        let r = self.fetch_to(size).await;
        let r = r.and_then(|()| {
            let got = self.mirror.tree.root(size);
            anyhow::ensure!(
                hashes_equal(&got, root),
                "the tiles of entries {verified}..{size} give the root {}, not the checkpoint's {}: refused, nothing stored",
                b64(&got),
                b64(root)
            );
            Ok(())
        });
        if r.is_err() {
            self.mirror.drop_unverified()?;
        }
        r
    }

    async fn fetch_to(&mut self, size: u64) -> anyhow::Result<()> {
        let have = self.mirror.tree.len();
        if have >= size {
            return Ok(());
        }
        let first = have / TILE;
        let last = (size - 1) / TILE;
        let tiles = (first..=last).map(|t| (t, (size - t * TILE).min(TILE)));
        let (http, log) = (self.http.clone(), self.log.clone());
        let mut stream = futures::stream::iter(tiles)
            .map(move |(t, w)| fetch_tile(http.clone(), log.clone(), t, w))
            .buffered(self.parallel);
        let mut batch: Vec<(Hash, Vec<u8>)> = Vec::new();
        while let Some(r) = stream.next().await {
            let (t, leaves) = r?;
            for (i, leaf) in leaves.into_iter().enumerate() {
                let idx = t * TILE + i as u64;
                let held = self.mirror.tree.len();
                if idx < held {
                    let mine = *self.mirror.tree.leaf(idx).expect("held");
                    anyhow::ensure!(
                        hashes_equal(&mine, &leaf.0),
                        "tile 0/{} changes entry {idx}, which the mirror holds with another hash: refused",
                        tile_name(t, TILE)
                    );
                    continue;
                }
                batch.push(leaf);
            }
            // One transaction per 16 tiles: an interrupted catch-up keeps
            // what it committed and refetches the rest.
            if batch.len() >= 4096 {
                self.mirror.append(&batch)?;
                batch.clear();
            }
        }
        if !batch.is_empty() {
            self.mirror.append(&batch)?;
        }
        Ok(())
    }

    /// Writes an exhibit: `a` is the note whose tree the mirror verified
    /// (the larger, or the same size), `b` the one that contradicts it.
    fn exhibit(
        &self,
        kind: &str,
        a: (&Checked, &str),
        b: (&Checked, &str),
    ) -> anyhow::Result<PathBuf> {
        let ex = exhibit::build(
            kind,
            &self.trusted.origin,
            a,
            b,
            &self.mirror.tree,
            &self.trusted.pems,
        );
        std::fs::create_dir_all(&self.exhibit_dir)
            .with_context(|| format!("creating {}", self.exhibit_dir.display()))?;
        let path = self.exhibit_dir.join(format!(
            "equivocation-{}-{}-{}.json",
            notarium_log::clock::now().millis(),
            a.0.size,
            b.0.size
        ));
        std::fs::write(&path, serde_json::to_vec_pretty(&ex)?)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

/// Level-0 tile `t` of width `w` and its entry bundle, each entry
/// checked against its hash.
async fn fetch_tile(
    http: reqwest::Client,
    log: String,
    t: u64,
    w: u64,
) -> anyhow::Result<(u64, Vec<(Hash, Vec<u8>)>)> {
    let name = tile_name(t, w);
    let (tile_url, bundle_url) = (
        format!("{log}/tile/0/{name}"),
        format!("{log}/tile/entries/{name}"),
    );
    let (tile, bundle) = futures::try_join!(get(&http, &tile_url), get(&http, &bundle_url))?;
    anyhow::ensure!(
        tile.len() as u64 == 32 * w,
        "tile 0/{name} is {} bytes, not {}: refused",
        tile.len(),
        32 * w
    );
    let mut out = Vec::with_capacity(w as usize);
    let mut rest = &bundle[..];
    for i in 0..w as usize {
        anyhow::ensure!(
            rest.len() >= 2,
            "entry bundle {name} ends after {i} entries: refused"
        );
        let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        anyhow::ensure!(
            rest.len() >= 2 + n,
            "entry bundle {name}: entry {i} is cut short: refused"
        );
        let text = &rest[2..2 + n];
        rest = &rest[2 + n..];
        let h: Hash = tile[32 * i..32 * i + 32].try_into().expect("32 bytes");
        anyhow::ensure!(
            hashes_equal(&leaf_hash(text), &h),
            "tile 0/{name}: hash {i} is not the hash of entry {} of its bundle: the tile or the bundle was altered; refused, nothing stored",
            t * TILE + i as u64
        );
        out.push((h, text.to_vec()));
    }
    anyhow::ensure!(
        rest.is_empty(),
        "entry bundle {name} has more than {w} entries: refused"
    );
    Ok((t, out))
}

async fn get(http: &reqwest::Client, url: &str) -> anyhow::Result<Vec<u8>> {
    let r = http
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    if r.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(Missing(url.to_string()).into());
    }
    anyhow::ensure!(r.status().is_success(), "GET {url}: {}", r.status());
    Ok(r.bytes()
        .await
        .with_context(|| format!("GET {url}"))?
        .to_vec())
}

enum Compared {
    Same(u64),
    Not(String),
    Exhibit(PathBuf),
}

fn tile_name(t: u64, w: u64) -> String {
    let n = crate::tiles::encode_index(t);
    if w == TILE { n } else { format!("{n}.p/{w}") }
}

/// Percent-encodes a query value (origins are key names: no spaces or '+').
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn check(t: TrustArgs, c: CheckArgs) -> Result<u8, Fail> {
    let trusted = load_trust(&t, c.policy.as_deref())?;
    let bytes = std::fs::read(&c.cert)
        .map_err(|e| Fail::Usage(format!("certificate {}: {e}", c.cert.display())))?;
    let json = if bytes.starts_with(b"%PDF-") {
        notarium_pdf::extract_certificate_json(&bytes)
            .map_err(|e| Fail::Usage(format!("{}: {e}", c.cert.display())))?
    } else {
        bytes
    };
    let parsed = notarium_core::CertificateJson::from_json(&json)
        .map_err(|e| Fail::Usage(format!("{}: {e}", c.cert.display())))?;
    if !t.mirror.exists() {
        return Err(Fail::Usage(format!(
            "no mirror at {}: run `notarium monitor --log URL` first",
            t.mirror.display()
        )));
    }
    let mirror = Mirror::open(&t.mirror, &trusted.origin)
        .map_err(|e| Fail::Usage(format!("--mirror {}: {e:#}", t.mirror.display())))?;
    let r = trusted.verifier.verify_certificate(&json, None);
    let no = |why: String| {
        println!("NOT HELD: {why}");
        Ok(EXIT_SPLIT_VIEW)
    };
    if !r.valid {
        let why = r
            .first_failure()
            .map(|c| format!("{}: {}", c.id, c.detail))
            .unwrap_or_default();
        return no(format!("the certificate does not verify ({why})"));
    }
    let Some(w) = r.witnesses.iter().find(|w| w.name == c.witness_name) else {
        return no(format!(
            "its checkpoint carries no cosignature by witness {}",
            c.witness_name
        ));
    };
    let pos = r
        .log
        .as_ref()
        .expect("a valid certificate has a log position");
    if mirror.verified() < pos.tree_size {
        return no(format!(
            "the mirror has verified the log up to size {}, not the certificate's {}: run the monitor until it has",
            mirror.verified(),
            pos.tree_size
        ));
    }
    let ours = mirror.tree.root(pos.tree_size);
    if b64(&ours) != pos.root_hash {
        return no(format!(
            "the mirror's tree of size {} has root {}, the certificate's checkpoint {}: a split view",
            pos.tree_size,
            b64(&ours),
            pos.root_hash
        ));
    }
    let want = leaf_hash(parsed.entry.as_bytes());
    let held = mirror.entry(pos.index)?;
    if held.as_deref() != Some(parsed.entry.as_bytes())
        || mirror
            .tree
            .leaf(pos.index)
            .is_none_or(|h| !hashes_equal(h, &want))
    {
        return no(format!(
            "the mirror's entry {} is not the certificate's",
            pos.index
        ));
    }
    println!(
        "HELD: entry {} of the tree of size {} (root {}), cosigned by witness {} at {}; \
         the mirror holds this tree and this entry (same leaf hash {})",
        pos.index,
        pos.tree_size,
        pos.root_hash,
        w.name,
        w.time,
        hex::encode(want)
    );
    Ok(0)
}
