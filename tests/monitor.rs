//! `notarium monitor` against real notaries and witnesses: a notary that
//! forks its log for one witness, a notary rolled back to an old copy of
//! its store, a tampered tile, a mirror killed with kill -9 mid catch-up.
//! The forks are made honestly: two notaries with the same key over two
//! stores, and a store restored from a copy; tampering is done on a static
//! copy of the tiles (the notary's `[tiles] directory`) served by a small
//! file server in the test.

mod common;

use common::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const ORIGIN: &str = "notarium.example/log";
const COURT: &str = "court.example/witness";
const ARB: &str = "arbitration.example/witness";

fn monitor_cmd(dir: &Path, log: &str, witnesses: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(notarium_bin());
    cmd.arg("monitor")
        .args(["--log", log])
        .arg("--mirror")
        .arg(dir.join("mirror.sqlite"))
        .arg("--trust")
        .arg(cert("root.pem"))
        .arg("--exhibit-dir")
        .arg(dir.join("exhibits"))
        .arg("--metrics-file")
        .arg(dir.join("monitor.prom"));
    for c in ["notary.pem", "court.pem", "arbitration.pem"] {
        cmd.arg("--certs").arg(cert(c));
    }
    for (name, url) in witnesses {
        cmd.arg("--witness").arg(format!("{name}={url}"));
    }
    cmd
}

/// One round of the monitor; its output.
fn monitor_once(dir: &Path, log: &str, witnesses: &[(&str, &str)]) -> Output {
    let out = monitor_cmd(dir, log, witnesses)
        .arg("--once")
        .output()
        .unwrap();
    eprintln!(
        "monitor: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn monitor_check(dir: &Path, cert_file: &Path, witness: &str) -> Output {
    let out = Command::new(notarium_bin())
        .args(["monitor", "check"])
        .arg(cert_file)
        .args(["--witness-name", witness])
        .arg("--mirror")
        .arg(dir.join("mirror.sqlite"))
        .arg("--trust")
        .arg(cert("root.pem"))
        .arg("--certs")
        .arg(cert("notary.pem"))
        .output()
        .unwrap();
    eprintln!("check: {:?} {}{}", out.status, stdout(&out), stderr(&out));
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn exhibit_path(o: &Output) -> PathBuf {
    let s = stdout(o);
    let line = s
        .lines()
        .find_map(|l| l.strip_prefix("exhibit "))
        .unwrap_or_else(|| panic!("no exhibit in {s}"));
    PathBuf::from(line)
}

fn verify_exhibit(path: &Path) -> Output {
    let out = Command::new(verify_bin())
        .arg("--exhibit")
        .arg(path)
        .arg("--trust")
        .arg(cert("root.pem"))
        .env_remove("NOTARIUM_TRUST")
        .env_remove("NOTARIUM_ORIGIN")
        .output()
        .unwrap();
    eprintln!("verify: {:?} {}", out.status, stdout(&out));
    out
}

fn metric(dir: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(dir.join("monitor.prom")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .to_string()
}

/// A notary in `dir` witnessed by one witness, whose role alone makes the
/// policy (so two such notaries can each show their own history to one
/// witness). Same key and origin as every test notary.
fn one_witness_notary(dir: &Path, witness: &str, role: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let cfg = dir.join("notary.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[server]
listen = "127.0.0.1:0"
data_dir = "{data}"
[log]
origin = "{ORIGIN}"
key_file = "{key}"
cert_file = "{cert}"
batch_interval_ms = 100
[trust]
roots = ["{root}"]
policy = "{role}>=1"
[[witness]]
url = "{witness}"
cert_file = "{wcert}"
"#,
            data = dir.join("data").display(),
            key = cert("notary.key").display(),
            cert = cert("notary.pem").display(),
            root = cert("root.pem").display(),
            wcert = cert(&format!("{role}.pem")).display(),
        ),
    )
    .unwrap();
    cfg
}

async fn notarize(http: &reqwest::Client, base: &str, key: &str, texts: &[&str]) {
    for t in texts {
        let id = submit_text(http, base, key, t).await;
        wait_final(http, base, key, &id).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notary_forking_its_log_for_one_witness_is_caught_within_one_checkpoint() {
    let dir = TempDir::new("monitor-fork");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let http = http_client();
    // The history the court sees.
    let cfg_a = one_witness_notary(&dir.path().join("a"), &court.url, "court");
    let key_a = tenant_with_key(&cfg_a, None, "acme-trading");
    let a = start_notary(&cfg_a, None);
    let base_a = a.url.trim_end_matches('/').to_string();
    notarize(&http, &base_a, &key_a, &["a1", "a2", "a3"]).await;
    let witnesses = [(COURT, court.url.as_str()), (ARB, arb.url.as_str())];
    let ok = monitor_once(dir.path(), &base_a, &witnesses);
    assert_eq!(ok.status.code(), Some(0));
    assert!(stdout(&ok).contains("witness court.example/witness: consistent at size 3"));
    assert!(stdout(&ok).contains(
        "witness arbitration.example/witness: not compared: it has cosigned nothing yet"
    ));
    assert_eq!(metric(dir.path(), "notarium_monitor_split_view"), "0");

    // The same notary key, another store: the history the arbitration
    // witness is shown. Its first checkpoint is caught by the next round.
    let cfg_b = one_witness_notary(&dir.path().join("b"), &arb.url, "arbitration");
    let key_b = tenant_with_key(&cfg_b, None, "acme-trading");
    let b = start_notary(&cfg_b, None);
    let base_b = b.url.trim_end_matches('/').to_string();
    notarize(&http, &base_b, &key_b, &["b1", "b2"]).await;
    let caught = monitor_once(dir.path(), &base_a, &witnesses);
    assert_eq!(caught.status.code(), Some(1), "a split view exits 1");
    assert!(stderr(&caught).contains("SPLIT VIEW"));
    assert_eq!(metric(dir.path(), "notarium_monitor_split_view"), "1");
    let path = exhibit_path(&caught);
    let ex: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(ex["type"], "notarium/equivocation/v1");
    assert_eq!(ex["kind"], "split-view");
    assert_eq!(ex["notes"][0]["size"], 3);
    assert_eq!(ex["notes"][1]["size"], 2);
    // Both notes verbatim: the witness's is the checkpoint it serves.
    let served = http
        .get(format!(
            "{}/checkpoint?origin={ORIGIN}",
            arb.url.trim_end_matches('/')
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let body = |n: &str| n.split("\n\n").next().unwrap().to_string();
    assert_eq!(
        body(ex["notes"][1]["note"].as_str().unwrap()),
        body(&served)
    );
    assert_eq!(ex["consistency"]["old_size"], 2);

    let v = verify_exhibit(&path);
    assert_eq!(
        v.status.code(),
        Some(0),
        "the exhibit proves the split view offline"
    );
    assert!(stdout(&v).contains("EQUIVOCATION PROVEN"));
    // An exhibit with one note's root altered proves nothing.
    let mut forged = ex.clone();
    let note = forged["notes"][1]["note"].as_str().unwrap().to_string();
    let lines: Vec<&str> = note.split('\n').collect();
    let zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    forged["notes"][1]["note"] = json!(note.replacen(lines[2], zero, 1));
    let fpath = dir.path().join("forged.json");
    std::fs::write(&fpath, serde_json::to_vec(&forged).unwrap()).unwrap();
    let v = verify_exhibit(&fpath);
    assert_eq!(v.status.code(), Some(1));
    assert!(stdout(&v).contains("NOT PROVEN"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_notary_is_caught() {
    let dir = TempDir::new("monitor-rollback");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let cfg = write_notary_config(dir.path(), &court.url, &arb.url, "");
    let key = tenant_with_key(&cfg, None, "acme-trading");
    let http = http_client();
    let mut notary = start_notary(&cfg, None);
    notarize(&http, notary.url.trim_end_matches('/'), &key, &["r1", "r2"]).await;
    notary.kill9();
    copy_dir(&dir.path().join("data"), &dir.path().join("backup"));
    let mut notary = start_notary(&cfg, None);
    let base = notary.url.trim_end_matches('/').to_string();
    notarize(&http, &base, &key, &["r3"]).await;
    let id = submit_text(&http, &base, &key, "r4").await;
    let (_, cert_json) = final_certificate(&http, &base, &key, &id).await;
    let witnesses = [(COURT, court.url.as_str()), (ARB, arb.url.as_str())];
    let ok = monitor_once(dir.path(), &base, &witnesses);
    assert_eq!(ok.status.code(), Some(0));
    assert!(stdout(&ok).contains("log verified at size 4"));

    // `monitor check`: the mirror holds r4's certificate, cosigned by the
    // court witness; not one the named witness did not cosign.
    let cert_path = dir.path().join("r4.json");
    std::fs::write(&cert_path, &cert_json).unwrap();
    let held = monitor_check(dir.path(), &cert_path, COURT);
    assert_eq!(held.status.code(), Some(0), "{}", stdout(&held));
    assert!(
        stdout(&held).starts_with("HELD: entry 3 of the tree of size 4"),
        "{}",
        stdout(&held)
    );
    let other = monitor_check(dir.path(), &cert_path, "court.example/another");
    assert_eq!(other.status.code(), Some(1));
    assert!(stdout(&other).contains(
        "NOT HELD: its checkpoint carries no cosignature by witness court.example/another"
    ));
    // A certificate whose entry is not the mirror's at its index: the
    // evidence digest changed (the certificate no longer verifies).
    let mut altered: Value = serde_json::from_slice(&cert_json).unwrap();
    altered["evidence"]["sha256"] = json!("00".repeat(32));
    std::fs::write(&cert_path, serde_json::to_vec(&altered).unwrap()).unwrap();
    let bad = monitor_check(dir.path(), &cert_path, COURT);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stdout(&bad).contains("NOT HELD: the certificate does not verify"));
    let usage = monitor_check(dir.path(), &dir.path().join("missing.json"), COURT);
    assert_eq!(usage.status.code(), Some(2));

    // The store restored from the copy: the notary serves its old
    // checkpoint again (genuinely signed, and cosigned back then).
    notary.kill9();
    std::fs::remove_dir_all(dir.path().join("data")).unwrap();
    copy_dir(&dir.path().join("backup"), &dir.path().join("data"));
    let notary = start_notary(&cfg, None);
    let base = notary.url.trim_end_matches('/').to_string();
    let caught = monitor_once(dir.path(), &base, &witnesses);
    assert_eq!(caught.status.code(), Some(1), "a rollback exits 1");
    assert_eq!(metric(dir.path(), "notarium_monitor_split_view"), "1");
    let path = exhibit_path(&caught);
    let ex: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(ex["kind"], "rollback");
    assert_eq!(ex["notes"][0]["size"], 4);
    assert_eq!(ex["notes"][1]["size"], 2);
    // Both notes are genuine and consistent: offline, the verifier can
    // only say so; that the smaller came later is the monitor's record.
    let v = verify_exhibit(&path);
    assert_eq!(v.status.code(), Some(1));
    assert!(
        stdout(&v).contains("the notes are consistent"),
        "{}",
        stdout(&v)
    );
    assert!(stdout(&v).contains("rollback"));
    // The monitor keeps saying so while the notary stays rolled back.
    let again = monitor_once(dir.path(), &base, &witnesses);
    assert_eq!(again.status.code(), Some(1));
}

/// A static file server over a tiles directory, like any CDN; requests for
/// tiles of index `gate` or more wait until the gate is opened.
struct StaticServer {
    url: String,
    open: tokio::sync::watch::Sender<bool>,
}

fn tile_index(path: &str) -> Option<u64> {
    let rest = path
        .strip_prefix("/tile/0/")
        .or_else(|| path.strip_prefix("/tile/entries/"))?;
    let rest = rest.split(".p/").next()?;
    rest.replace(['x', '/'], "").parse().ok()
}

async fn static_server(root: PathBuf, gate: u64) -> StaticServer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (open, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (root, mut rx) = (root.clone(), rx.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let path = head
                    .split(' ')
                    .nth(1)
                    .unwrap_or("/")
                    .split('?')
                    .next()
                    .unwrap()
                    .to_string();
                if tile_index(&path).is_some_and(|i| i >= gate) {
                    let _ = rx.wait_for(|o| *o).await;
                }
                let file = root.join(path.trim_start_matches('/'));
                let resp = match std::fs::read(&file) {
                    Ok(body) => {
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend(body);
                        r
                    }
                    Err(_) => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = sock.write_all(&resp).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    StaticServer { url, open }
}

/// A notary writing its tiles to `public`; returns it with its API key.
fn tiles_notary(dir: &Path, court: &str, arb: &str) -> (Proc, String, PathBuf) {
    let public = dir.join("public");
    let cfg = write_notary_config(
        dir,
        court,
        arb,
        &format!(
            "[limits]\nper_key_rate = 0\n[tiles]\ndirectory = \"{}\"\n",
            public.display()
        ),
    );
    let key = tenant_with_key(&cfg, None, "acme-trading");
    (start_notary(&cfg, None), key, public)
}

async fn directory_at(public: &Path, n: u64) {
    eventually(
        &format!("the tiles directory at size {n}"),
        Duration::from_secs(120),
        || async {
            let t = std::fs::read_to_string(public.join("checkpoint")).ok()?;
            (t.lines().nth(1)? == n.to_string()).then_some(())
        },
    )
    .await;
}

fn mirror_counts(dir: &Path) -> (u64, u64) {
    let db = rusqlite::Connection::open(dir.join("mirror.sqlite")).unwrap();
    let verified: String = db
        .query_row(
            "SELECT value FROM meta WHERE key = 'verified_size'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let leaves: u64 = db
        .query_row("SELECT count(*) FROM leaves", [], |r| r.get(0))
        .unwrap();
    (verified.parse().unwrap(), leaves)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_tile_is_refused_and_nothing_is_stored() {
    let dir = TempDir::new("monitor-tamper");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let (mut notary, key, public) = tiles_notary(dir.path(), &court.url, &arb.url);
    let base = notary.url.trim_end_matches('/').to_string();
    let http = http_client();
    notarize(&http, &base, &key, &["t1", "t2", "t3"]).await;
    directory_at(&public, 3).await;
    let cdn = static_server(public.clone(), u64::MAX).await;
    let ok = monitor_once(dir.path(), &cdn.url, &[]);
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(mirror_counts(dir.path()), (3, 3));

    notarize(&http, &base, &key, &["t4", "t5"]).await;
    directory_at(&public, 5).await;
    notary.kill9();
    // One bit of entry 4's hash in the partial tile of the new checkpoint.
    let tile = public.join("tile/0/000.p/5");
    let honest = std::fs::read(&tile).unwrap();
    let mut bad = honest.clone();
    bad[32 * 4] ^= 1;
    std::fs::write(&tile, &bad).unwrap();
    let refused = monitor_once(dir.path(), &cdn.url, &[]);
    assert_eq!(refused.status.code(), Some(3), "a refused tile exits 3");
    let err = stderr(&refused);
    assert!(
        err.contains("tile 0/000.p/5: hash 4 is not the hash of entry 4"),
        "{err}"
    );
    assert!(err.contains("refused, nothing stored"), "{err}");
    assert_eq!(mirror_counts(dir.path()), (3, 3), "nothing stored");
    assert_eq!(metric(dir.path(), "notarium_monitor_round_ok"), "0");

    // A tile and bundle altered together pass the bundle check but not the
    // checkpoint's root.
    std::fs::write(&tile, &honest).unwrap();
    let bundle = public.join("tile/entries/000.p/5");
    let honest_bundle = std::fs::read(&bundle).unwrap();
    let mut b = honest_bundle.clone();
    let last = b.len() - 2; // a byte of entry 4's text (before its final newline)
    b[last] ^= 1;
    let mut entries = Vec::new();
    let mut rest = &b[..];
    while !rest.is_empty() {
        let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        entries.push(rest[2..2 + n].to_vec());
        rest = &rest[2 + n..];
    }
    let mut t = honest.clone();
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(&entries[4]);
    t[128..160].copy_from_slice(&h.finalize());
    std::fs::write(&bundle, &b).unwrap();
    std::fs::write(&tile, &t).unwrap();
    let refused = monitor_once(dir.path(), &cdn.url, &[]);
    assert_eq!(refused.status.code(), Some(3));
    assert!(
        stderr(&refused).contains("not the checkpoint's"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(mirror_counts(dir.path()), (3, 3), "nothing stored");

    std::fs::write(&bundle, &honest_bundle).unwrap();
    std::fs::write(&tile, &honest).unwrap();
    let ok = monitor_once(dir.path(), &cdn.url, &[]);
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(mirror_counts(dir.path()), (5, 5));
}

/// Submits `n` entries through the batch API (1,000 per request).
async fn bulk(http: &reqwest::Client, base: &str, key: &str, n: u64, tag: &str) {
    let mut sent = 0;
    while sent < n {
        let k = (n - sent).min(1000);
        let items: Vec<Value> = (sent..sent + k)
            .map(|i| json!({"sha256": hex::encode(Sha256::digest(format!("{tag} {i}")))}))
            .collect();
        let r = http
            .post(format!("{base}/v1/evidence:batch"))
            .bearer_auth(key)
            .json(&json!({ "items": items }))
            .send()
            .await
            .unwrap();
        if r.status() == 503 {
            // Back-pressure: the notary asks to come back; wait for it to drain.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        assert_eq!(r.status().as_u16(), 202);
        sent += k;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mirror_killed_mid_catch_up_resumes_without_loss() {
    let dir = TempDir::new("monitor-kill");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let (mut notary, key, public) = tiles_notary(dir.path(), &court.url, &arb.url);
    let base = notary.url.trim_end_matches('/').to_string();
    let http = http_client();
    let n = 30 * 256 + 17;
    bulk(&http, &base, &key, n, "kill").await;
    directory_at(&public, n).await;
    notary.kill9();
    // Tiles 20 and up wait at the gate: the catch-up commits the first
    // 4,096 entries and then blocks, and is killed there.
    let cdn = static_server(public.clone(), 20).await;
    let mut child = monitor_cmd(dir.path(), &cdn.url, &[])
        .arg("--once")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let leaves = std::path::Path::new(&dir.path().join("mirror.sqlite"))
            .exists()
            .then(|| {
                rusqlite::Connection::open(dir.path().join("mirror.sqlite"))
                    .ok()?
                    .query_row("SELECT count(*) FROM leaves", [], |r| r.get::<_, u64>(0))
                    .ok()
            })
            .flatten()
            .unwrap_or(0);
        if leaves >= 4096 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the monitor ended before the gate"
        );
        assert!(
            Instant::now() < end,
            "the catch-up never committed 4,096 entries"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (verified, leaves) = mirror_counts(dir.path());
    assert_eq!(verified, 0, "no checkpoint verified yet");
    assert!(
        (4096..n).contains(&leaves),
        "killed mid catch-up: {leaves} leaves"
    );

    cdn.open.send(true).unwrap();
    let ok = monitor_once(dir.path(), &cdn.url, &[]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(stdout(&ok).contains(&format!("log verified at size {n}")));
    assert_eq!(mirror_counts(dir.path()), (n, n));
}

/// The catch-up rate (a measurement, not a check; ignored by default):
/// NOTARIUM_MONITOR_ENTRIES (default 100,000) entries notarized, then the
/// tiles downloaded bare (no checks, nothing stored) and the monitor's
/// catch-up into an empty mirror, against the same notary.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check: docs/monitor.md"]
async fn monitor_catch_up_rate() {
    let n: u64 = std::env::var("NOTARIUM_MONITOR_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = TempDir::new("monitor-rate");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let (notary, key, public) = tiles_notary(dir.path(), &court.url, &arb.url);
    let base = notary.url.trim_end_matches('/').to_string();
    let http = http_client();
    bulk(&http, &base, &key, n, "rate").await;
    directory_at(&public, n).await;

    // Baseline: every tile and bundle, 8 at a time, bodies read and dropped.
    use futures::StreamExt;
    let started = Instant::now();
    let tiles = n.div_ceil(256);
    let bytes: usize = futures::stream::iter(0..tiles)
        .map(|t| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let w = (n - t * 256).min(256);
                let name = notarium::tiles::encode_index(t);
                let name = if w == 256 {
                    name
                } else {
                    format!("{name}.p/{w}")
                };
                let mut sum = 0;
                for p in [format!("tile/0/{name}"), format!("tile/entries/{name}")] {
                    let b = http
                        .get(format!("{base}/{p}"))
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap();
                    sum += b.len();
                }
                sum
            }
        })
        .buffered(8)
        .fold(0, |a, b| async move { a + b })
        .await;
    let bare = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let out = monitor_once(dir.path(), &base, &[]);
    let caught = started.elapsed().as_secs_f64();
    assert_eq!(out.status.code(), Some(0));
    let size: u64 = ["mirror.sqlite", "mirror.sqlite-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.path().join(f)).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "entries {n}: bare tile download {bare:.2} s ({:.0} entries/s, {bytes} bytes); \
         monitor catch-up {caught:.2} s ({:.0} entries/s, {:.2}x the bare download); \
         mirror {size} bytes, {:.0} B/entry",
        n as f64 / bare,
        n as f64 / caught,
        caught / bare,
        size as f64 / n as f64
    );
}

/// The monitor as a court runs it, without `--once`: it keeps following the
/// log as it grows, round after round, and a witness that goes away is
/// reported as not compared while the monitor keeps running.
#[tokio::test(flavor = "multi_thread")]
async fn the_monitor_keeps_following_a_growing_log() {
    let dir = TempDir::new("monitor-follow");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let cfg = write_notary_config(dir.path(), &court.url, &arb.url, "");
    let key = tenant_with_key(&cfg, None, "acme-trading");
    let notary = start_notary(&cfg, None);
    let http = http_client();
    notarize(&http, &notary.url, &key, &["one", "two"]).await;

    let witnesses = [(COURT, court.url.as_str()), (ARB, arb.url.as_str())];
    let child = monitor_cmd(dir.path(), &notary.url, &witnesses)
        .args(["--interval", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed however the test ends.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut monitor = Running(child);
    let prom = dir.path().join("monitor.prom");
    let at = |size: u64, court_compared: u8| {
        let prom = prom.clone();
        move || {
            let prom = prom.clone();
            async move {
                let text = std::fs::read_to_string(&prom).ok()?;
                let want = [
                    format!("notarium_monitor_verified_size {size}"),
                    "notarium_monitor_round_ok 1".to_string(),
                    format!(
                        "notarium_monitor_witness_compared{{witness=\"{COURT}\"}} {court_compared}"
                    ),
                    format!("notarium_monitor_witness_compared{{witness=\"{ARB}\"}} 1"),
                    "notarium_monitor_split_view 0".to_string(),
                ];
                want.iter()
                    .all(|w| text.lines().any(|l| l == w))
                    .then_some(())
            }
        }
    };
    eventually("the monitor at size 2", Duration::from_secs(60), at(2, 1)).await;

    // The log grows; the same process follows it.
    notarize(&http, &notary.url, &key, &["three", "four", "five"]).await;
    eventually("the monitor at size 5", Duration::from_secs(60), at(5, 1)).await;

    // The court's witness goes away (so the log cannot grow: the policy
    // needs it): the next rounds still verify the log and say the court
    // was not compared; the monitor does not stop.
    drop(court);
    eventually(
        "a round without the court",
        Duration::from_secs(60),
        at(5, 0),
    )
    .await;
    assert!(
        monitor.0.try_wait().unwrap().is_none(),
        "the monitor stopped"
    );
}

/// A witness that has cosigned further than the log the monitor reads (a
/// mirror of the tiles that lags, or a notary that shows the witness more
/// than it publishes): compared once the tiles for its size are there, and
/// until then reported as ahead, with no exhibit and the log still verified.
#[tokio::test(flavor = "multi_thread")]
async fn a_witness_ahead_of_the_published_log_is_compared_once_its_tiles_are_out() {
    let dir = TempDir::new("monitor-ahead");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let (notary, key, public) = tiles_notary(dir.path(), &court.url, &arb.url);
    let base = notary.url.trim_end_matches('/').to_string();
    let http = http_client();
    notarize(&http, &base, &key, &["a1", "a2"]).await;
    directory_at(&public, 2).await;
    // The monitor reads a copy of the tiles frozen at size 2 ...
    let stale = dir.path().join("stale");
    copy_dir(&public, &stale);
    let cdn = static_server(stale.clone(), u64::MAX).await;
    // ... while the witnesses go on to size 5.
    notarize(&http, &base, &key, &["a3", "a4", "a5"]).await;
    directory_at(&public, 5).await;
    let witnesses = [(COURT, court.url.as_str()), (ARB, arb.url.as_str())];

    let out = monitor_once(dir.path(), &cdn.url, &witnesses);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.contains(&format!(
            "witness {COURT}: not compared: it is at size 5, ahead of the log's published tiles (2)"
        )),
        "{said}"
    );
    assert!(said.contains("log verified at size 2"), "{said}");
    assert!(!said.contains("exhibit"), "{said}");
    assert_eq!(metric(dir.path(), "notarium_monitor_verified_size"), "2");
    let court_compared = format!("notarium_monitor_witness_compared{{witness=\"{COURT}\"}}");
    assert_eq!(metric(dir.path(), &court_compared), "0");

    // The tiles for size 5 come out (the copy's checkpoint still says 2):
    // the monitor checks the witnesses' checkpoint against them.
    copy_dir(&public.join("tile"), &stale.join("tile"));
    let out = monitor_once(dir.path(), &cdn.url, &witnesses);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.contains(&format!("witness {COURT}: consistent at size 5")),
        "{said}"
    );
    assert!(
        said.contains(&format!("witness {ARB}: consistent at size 5")),
        "{said}"
    );
    assert_eq!(metric(dir.path(), &court_compared), "1");
    assert_eq!(
        mirror_counts(dir.path()).0,
        5,
        "the mirror verified the witnesses' size"
    );
}
