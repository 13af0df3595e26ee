//! RFC 3161 timestamps over checkpoints, the notary's side (issue 21,
//! contract §9), with real processes on SQLite and PostgreSQL: a TSA that
//! is down keeps the witnessed checkpoint pending until it is up, then the
//! certificate carries its token and `notarium-verify --tsa-trust` counts
//! it; wrong answers (garbage, a wrong imprint, a wrong nonce, an untrusted
//! signer) are refused, logged and never issued; tokens of an OpenSSL TSA
//! (`openssl ts -reply` behind a few lines of HTTP) are accepted and
//! verified. A restarted notary stamps only the checkpoints that lack
//! tokens, and serves the same sealed PDF, its seal's token kept in the store.

mod common;

use common::{
    PgDb, Proc, TempDir, cert, eventually, get_json, http_client, notarium_bin,
    spawn_until_listening, spawn_until_listening_to, start_witness, submit_text, tenant_with_key,
    verify_bin, write_notary_config,
};
use notarium_timestamp::tsa::DevTsa;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const POLICY: &str = "court>=1 arbitration>=1 tsa>=1";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `notarium tsa` (the development TSA) on `listen`.
fn start_dev_tsa(listen: &str) -> Proc {
    let mut cmd = Command::new(notarium_bin());
    cmd.args(["tsa", "--listen", listen, "--key"])
        .arg(cert("tsa.key"))
        .arg("--cert")
        .arg(cert("tsa.pem"));
    spawn_until_listening(cmd, "notarium tsa listening on ")
}

/// `[tsa]` for `urls`, trusting `trust`, with the policy that needs a token.
fn tsa_section(urls: &[String], trust: &Path) -> String {
    let urls: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        "[tsa]\nurls = [{}]\ntrust = [\"{}\"]\n",
        urls.join(", "),
        trust.display()
    )
}

/// A notary with both witnesses, `[tsa]` as given and `policy`.
struct Notary {
    _witnesses: (Proc, Proc),
    proc: Proc,
    key: String,
    log: PathBuf,
    dir: TempDir,
    cfg: PathBuf,
    policy: String,
}

fn start_notary_with(tag: &str, db: Option<&PgDb>, tsa: &str, policy: &str) -> Notary {
    let dir = TempDir::new(tag);
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    // The policy goes through the environment (NOTARIUM_POLICY).
    let cfg = write_notary_config(dir.path(), &court.url, &arb.url, tsa);
    let db_url = db.map(|d| d.url.as_str());
    let key = tenant_with_key(&cfg, db_url, "acme");
    let log = dir.path().join("notary.log");
    let proc = serve(&cfg, db, policy, &log);
    let policy = policy.to_string();
    Notary {
        _witnesses: (court, arb),
        proc,
        key,
        log,
        dir,
        cfg,
        policy,
    }
}

/// `notarium serve` with `cfg`, logging JSON to `log`.
fn serve(cfg: &Path, db: Option<&PgDb>, policy: &str, log: &Path) -> Proc {
    let mut cmd = Command::new(notarium_bin());
    cmd.args(["serve", "--config"])
        .arg(cfg)
        .env("RUST_LOG", "warn,notarium::tsa=info")
        .env("NOTARIUM_POLICY", policy)
        .env("NOTARIUM_LOG_FORMAT", "json");
    match db {
        Some(d) => cmd.env("DATABASE_URL", &d.url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let file = std::fs::File::create(log).unwrap();
    spawn_until_listening_to(cmd, "notarium listening on ", Stdio::from(file))
}

fn log_text(n: &Notary) -> String {
    std::fs::read_to_string(&n.log).unwrap_or_default()
}

/// The size of the notary's latest final (witnessed) checkpoint.
async fn final_size(http: &reqwest::Client, base: &str) -> u64 {
    let r = http.get(format!("{base}/checkpoint")).send().await.unwrap();
    if !r.status().is_success() {
        return 0;
    }
    let text = r.text().await.unwrap();
    text.lines().nth(1).unwrap_or("0").parse().unwrap_or(0)
}

/// One sample of the notary's /metrics (0 when absent).
async fn metric(base: &str, series: &str) -> u64 {
    common::sample(&common::notary_metrics(base).await, series).unwrap_or(0)
}

/// Writes `json` and runs notarium-verify on it with `args`; (exit code, output).
fn run_verify(dir: &Path, json: &[u8], args: &[&str]) -> (i32, String) {
    let bin = verify_bin();
    let path = dir.join("certificate.json");
    std::fs::write(&path, json).unwrap();
    let out = Command::new(bin)
        .arg(&path)
        .arg("--trust")
        .arg(cert("root.pem"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

async fn certificate_status(http: &reqwest::Client, base: &str, key: &str, id: &str) -> u16 {
    http.get(format!("{base}/v1/evidence/{id}/certificate.json"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Waits until `id`'s certificate is issued; returns its bytes.
async fn issued(http: &reqwest::Client, base: &str, key: &str, id: &str) -> Vec<u8> {
    let url = format!("{base}/v1/evidence/{id}/certificate.json");
    eventually("the certificate", Duration::from_secs(60), || async {
        let r = http.get(&url).bearer_auth(key).send().await.unwrap();
        if r.status().is_success() {
            Some(r.bytes().await.unwrap().to_vec())
        } else {
            None
        }
    })
    .await
}

// ---------------------------------------------------------------------
// TSA down, then up.

async fn tsa_down_then_up(db: Option<&PgDb>) {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let n = start_notary_with(
        "tsa-down-up",
        db,
        &tsa_section(std::slice::from_ref(&url), &cert("root.pem")),
        POLICY,
    );
    let http = http_client();
    let base = n.proc.url.clone();
    let id = submit_text(&http, &base, &n.key, "filed while the TSA is down").await;
    // Witnessing goes on: the checkpoint becomes final (witnessed) ...
    eventually(
        "a witnessed checkpoint",
        Duration::from_secs(60),
        || async { (final_size(&http, &base).await >= 1).then_some(()) },
    )
    .await;
    // ... and the TSA's absence is logged as a warning, with retries.
    eventually("two warnings", Duration::from_secs(30), || async {
        let log = log_text(&n);
        (log.matches("TSA unavailable").count() >= 2).then_some(())
    })
    .await;
    let log = log_text(&n);
    assert!(log.contains(r#""level":"WARN""#), "{log}");
    assert!(log.contains(&url), "{log}");
    // ... and counted on /metrics, where the stamped size stays behind.
    let down = format!("notarium_tsa_failures_total{{tsa=\"{url}\",kind=\"unavailable\"}}");
    assert!(metric(&base, &down).await >= 2);
    assert_eq!(metric(&base, "notarium_tsa_stamped_size").await, 0);
    // ... but the entry waits for its certificate.
    let status = get_json(&http, &format!("{base}/v1/evidence/{id}"), &n.key).await;
    assert_ne!(status["status"], "final", "{status}");
    assert_eq!(certificate_status(&http, &base, &n.key, &id).await, 409);
    // A second submission is witnessed too while the TSA is still down.
    let id2 = submit_text(&http, &base, &n.key, "filed later, still down").await;
    let before = final_size(&http, &base).await;
    eventually(
        "a second witnessed checkpoint",
        Duration::from_secs(60),
        || async { (final_size(&http, &base).await > before).then_some(()) },
    )
    .await;

    let _tsa = start_dev_tsa(&format!("127.0.0.1:{port}"));
    for id in [&id, &id2] {
        let json = issued(&http, &base, &n.key, id).await;
        let cert_json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let tokens = cert_json["timestamps"].as_array().unwrap();
        assert_eq!(tokens.len(), 1, "{cert_json}");
        // The same bytes on every request.
        assert_eq!(issued(&http, &base, &n.key, id).await, json);
        let root = cert("root.pem");
        let (code, out) = run_verify(
            n.dir.path(),
            &json,
            &["--policy", POLICY, "--tsa-trust", root.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("Notarium Development TSA"), "{out}");
        // Without --tsa-trust the token is not counted, and tsa>=1 fails.
        let (code, out) = run_verify(n.dir.path(), &json, &["--policy", POLICY]);
        assert_eq!(code, 1, "{out}");
    }
    let status = get_json(&http, &format!("{base}/v1/evidence/{id}"), &n.key).await;
    assert_eq!(status["status"], "final", "{status}");
    assert!(log_text(&n).contains("checkpoint timestamped"));
    let tokens = format!("notarium_tsa_tokens_total{{tsa=\"{url}\"}}");
    assert!(
        metric(&base, &tokens).await >= 2,
        "a token per final checkpoint"
    );
    eventually("the stamped size", Duration::from_secs(10), || async {
        (metric(&base, "notarium_tsa_stamped_size").await >= 2).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_tsa_down_keeps_the_checkpoint_pending_until_it_is_up() {
    tsa_down_then_up(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_tsa_down_keeps_the_checkpoint_pending_until_it_is_up() {
    let db = PgDb::new("tsa_down_up");
    tsa_down_then_up(Some(&db)).await;
}

// ---------------------------------------------------------------------
// A restart: the stamping task finds its place in one query, and the PDF
// seal's timestamp is the one kept.

/// The sizes of the checkpoints a notary's log says it timestamped.
fn stamped_sizes(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|l| l.contains("checkpoint timestamped"))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| v["fields"]["size"].as_u64().or(v["size"].as_u64()).unwrap())
        .collect()
}

/// A certificate's sealed PDF (the seal timestamped by the notary's TSA).
async fn pdf(http: &reqwest::Client, base: &str, key: &str, id: &str) -> Vec<u8> {
    let r = http.get(format!("{base}/v1/evidence/{id}/certificate.pdf"));
    let r = r.bearer_auth(key).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.bytes().await.unwrap().to_vec()
}

async fn restart_resumes_stamping(db: Option<&PgDb>) {
    let port = free_port();
    let mut tsa_proc = start_dev_tsa(&format!("127.0.0.1:{port}"));
    let url = format!("http://127.0.0.1:{port}/");
    let tsa = tsa_section(std::slice::from_ref(&url), &cert("root.pem"));
    let seal = format!(
        "[seal]\nkey_file = \"{}\"\ncert_file = \"{}\"\ntsa_url = \"{url}\"\n",
        cert("seal.key").display(),
        cert("seal.pem").display()
    );
    let mut n = start_notary_with("tsa-restart", db, &format!("{tsa}\n{seal}"), POLICY);
    let http = http_client();
    let id = submit_text(&http, &n.proc.url, &n.key, "filed before the restart").await;
    let first = issued(&http, &n.proc.url, &n.key, &id).await;
    let sealed = pdf(&http, &n.proc.url, &n.key, &id).await;
    let before = stamped_sizes(&log_text(&n));
    assert!(!before.is_empty(), "{}", log_text(&n));

    // The same store, a new process (the old one is killed first).
    n.proc.kill9();
    let log = n.dir.path().join("notary-after-restart.log");
    n.proc = serve(&n.cfg, db, &n.policy, &log);
    let base = n.proc.url.clone();
    let id2 = submit_text(&http, &base, &n.key, "filed after the restart").await;
    let second: serde_json::Value =
        serde_json::from_slice(&issued(&http, &base, &n.key, &id2).await).unwrap();
    assert_eq!(
        second["timestamps"].as_array().unwrap().len(),
        1,
        "{second}"
    );
    // The certificate issued before is unchanged, and no checkpoint stamped
    // before the restart is stamped again: the new process starts after them.
    assert_eq!(issued(&http, &base, &n.key, &id).await, first);
    let after = stamped_sizes(&std::fs::read_to_string(&log).unwrap());
    let last_before = *before.iter().max().unwrap();
    assert!(
        !after.is_empty() && after.iter().all(|&s| s > last_before),
        "{before:?} then {after:?}"
    );

    // The sealed PDF is the same file after the restart, with the TSA gone:
    // its seal's timestamp token was kept in the store, not asked again.
    tsa_proc.kill9();
    assert_eq!(pdf(&http, &base, &n.key, &id).await, sealed);
    let path = n.dir.path().join("certificate.pdf");
    std::fs::write(&path, &sealed).unwrap();
    let root = cert("root.pem");
    let out = Command::new(verify_bin())
        .arg(&path)
        .args([
            "--trust".as_ref(),
            root.as_os_str(),
            "--tsa-trust".as_ref(),
            root.as_os_str(),
        ])
        .output();
    let out = String::from_utf8_lossy(&out.unwrap().stdout).to_string();
    let seal = out
        .lines()
        .find(|l| l.contains("pdf_seal"))
        .unwrap_or_default();
    assert!(seal.contains("PASS") && seal.contains("by TSA"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_restarted_notary_stamps_only_what_lacks_tokens_and_serves_the_same_sealed_pdf() {
    restart_resumes_stamping(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_restarted_notary_stamps_only_what_lacks_tokens_and_serves_the_same_sealed_pdf()
{
    let db = PgDb::new("tsa_restart");
    restart_resumes_stamping(Some(&db)).await;
}

// ---------------------------------------------------------------------
// A tiny HTTP server for TSAs made in the test.

/// Serves HTTP/1.1 on loopback: each request's body goes to `answer`,
/// which gives the status line, content type and body. Counts requests.
fn serve_http(
    answer: impl Fn(Vec<u8>) -> (&'static str, &'static str, Vec<u8>) + Send + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut request = vec![0; length];
            if reader.read_exact(&mut request).is_err() {
                continue;
            }
            seen.fetch_add(1, Ordering::SeqCst);
            let (status, content_type, body) = answer(request);
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (url, count)
}

const REPLY: &str = "application/timestamp-reply";

fn dev_tsa() -> DevTsa {
    DevTsa::from_pem(
        &std::fs::read_to_string(cert("tsa.key")).unwrap(),
        &std::fs::read_to_string(cert("tsa.pem")).unwrap(),
    )
    .unwrap()
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Where the 32-byte message imprint sits in a DER TimeStampReq: after
/// the OCTET STRING header that follows the id-sha256 OID (and NULL).
fn imprint_at(req: &[u8]) -> usize {
    const SHA256_OID: &[u8] = &[
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    ];
    let oid = req
        .windows(SHA256_OID.len())
        .position(|w| w == SHA256_OID)
        .expect("a SHA-256 request");
    let rest = &req[oid + SHA256_OID.len()..];
    let octets = rest
        .windows(2)
        .position(|w| w == [0x04, 0x20])
        .expect("a 32-byte imprint");
    oid + SHA256_OID.len() + octets + 2
}

/// An OpenSSL TSA (tests/fixtures/make-openssl-tsa.sh): its own EC P-256
/// root and TSA certificate (critical timeStamping EKU), `openssl ts
/// -reply` for every request.
struct OpensslTsa {
    dir: TempDir,
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openssl {args:?}:\n{text}");
    text
}

impl OpensslTsa {
    fn new(tag: &str) -> Self {
        let dir = TempDir::new(tag);
        let script = common::repo().join("tests/fixtures/make-openssl-tsa.sh");
        let out = Command::new("sh")
            .arg(script)
            .arg(dir.path())
            .output()
            .unwrap();
        let why = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "make-openssl-tsa.sh: {why}");
        OpensslTsa { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root.pem")
    }

    /// Serves it over HTTP: each request through `openssl ts -reply`.
    fn serve(&self) -> (String, Arc<AtomicUsize>) {
        let dir = self.dir.path().to_path_buf();
        let lock = std::sync::Mutex::new(());
        serve_http(move |query| {
            let _one = lock.lock().unwrap();
            std::fs::write(dir.join("q.tsq"), query).unwrap();
            openssl(
                &dir,
                &[
                    "ts",
                    "-reply",
                    "-config",
                    "tsa.cnf",
                    "-queryfile",
                    "q.tsq",
                    "-out",
                    "r.tsr",
                ],
            );
            ("200 OK", REPLY, std::fs::read(dir.join("r.tsr")).unwrap())
        })
    }
}

// ---------------------------------------------------------------------
// Wrong answers.

async fn bad_answers_are_refused(tag: &str, db: Option<&PgDb>) {
    let (garbage, garbage_n) = serve_http(|_| ("200 OK", REPLY, b"\x30\x03\x02\x01\x00".to_vec()));
    let dev = Arc::new(dev_tsa());
    let d = dev.clone();
    // A token over another imprint, with the request's nonce.
    let (imprint, imprint_n) = serve_http(move |mut q| {
        let at = imprint_at(&q);
        q[at] ^= 1;
        ("200 OK", REPLY, d.respond(&q, now_s(), &[1; 16]))
    });
    let d = dev.clone();
    // A token over the right imprint, with another nonce (the request ends
    // with the nonce, then certReq TRUE: 01 01 ff).
    let (nonce, nonce_n) = serve_http(move |mut q| {
        let at = q.len() - 4;
        q[at] ^= 1;
        ("200 OK", REPLY, d.respond(&q, now_s(), &[2; 16]))
    });
    // A well-formed token by a TSA outside the configured trust.
    let foreign = OpensslTsa::new(&format!("{tag}-foreign"));
    let (untrusted, untrusted_n) = foreign.serve();

    let urls = [
        garbage.clone(),
        imprint.clone(),
        nonce.clone(),
        untrusted.clone(),
    ];
    // One token suffices: each of the four is asked, none may give it.
    let tsa = format!("{}required = 1\n", tsa_section(&urls, &cert("root.pem")));
    let n = start_notary_with(tag, db, &tsa, POLICY);
    let http = http_client();
    let base = n.proc.url.clone();
    let id = submit_text(&http, &base, &n.key, "answered wrongly").await;
    eventually(
        "a witnessed checkpoint",
        Duration::from_secs(60),
        || async { (final_size(&http, &base).await >= 1).then_some(()) },
    )
    .await;
    let reasons = [
        (&garbage, "not a DER TimeStampResp"),
        (&imprint, "message imprint is"),
        (&nonce, "is not the request's nonce"),
        (&untrusted, "does not chain to a configured trust root"),
    ];
    eventually(
        "every refusal logged twice",
        Duration::from_secs(60),
        || async {
            let log = log_text(&n);
            let lines: Vec<&str> = log
                .lines()
                .filter(|l| l.contains(r#""level":"ERROR""#))
                .collect();
            reasons
                .iter()
                .all(|(url, why)| {
                    lines
                        .iter()
                        .filter(|l| l.contains(url.as_str()) && l.contains(why))
                        .count()
                        >= 2
                })
                .then_some(())
        },
    )
    .await;
    for n in [&garbage_n, &imprint_n, &nonce_n, &untrusted_n] {
        assert!(n.load(Ordering::SeqCst) >= 2, "asked again after a refusal");
    }
    let log = log_text(&n);
    assert!(log.contains("timestamp token refused, not stored"), "{log}");
    for url in &urls {
        let refused = format!("notarium_tsa_failures_total{{tsa=\"{url}\",kind=\"refused\"}}");
        assert!(metric(&base, &refused).await >= 2, "{refused}");
        assert_eq!(
            metric(
                &base,
                &format!("notarium_tsa_tokens_total{{tsa=\"{url}\"}}")
            )
            .await,
            0
        );
    }
    assert!(!log.contains("checkpoint timestamped"), "{log}");
    // Never issued: the entry waits, its certificate is refused.
    let status = get_json(&http, &format!("{base}/v1/evidence/{id}"), &n.key).await;
    assert_ne!(status["status"], "final", "{status}");
    assert_eq!(certificate_status(&http, &base, &n.key, &id).await, 409);
    // Never stored.
    assert_eq!(stored_tokens(&n, db).await, 0);
}

/// Rows of `timestamp_tokens` in the notary's store.
async fn stored_tokens(n: &Notary, db: Option<&PgDb>) -> i64 {
    match db {
        None => {
            let path = n.dir.path().join("data/notarium.db");
            let conn = rusqlite::Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .unwrap();
            conn.query_row("SELECT count(*) FROM timestamp_tokens", [], |r| r.get(0))
                .unwrap()
        }
        Some(db) => {
            let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client
                .query_one("SELECT count(*) FROM timestamp_tokens", &[])
                .await
                .unwrap()
                .get(0)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wrong_tsa_answers_are_refused_logged_and_never_issued() {
    bad_answers_are_refused("tsa-bad-sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_wrong_tsa_answers_are_refused_logged_and_never_issued() {
    let db = PgDb::new("tsa_bad");
    bad_answers_are_refused("tsa-bad-pg", Some(&db)).await;
}

// ---------------------------------------------------------------------
// OpenSSL's TSA.

async fn openssl_tokens_are_accepted(tag: &str, db: Option<&PgDb>) {
    let tsa = OpensslTsa::new(&format!("{tag}-ossl"));
    let (url, asked) = tsa.serve();
    let n = start_notary_with(
        tag,
        db,
        &tsa_section(std::slice::from_ref(&url), &tsa.root()),
        POLICY,
    );
    let http = http_client();
    let base = n.proc.url.clone();
    let id = submit_text(&http, &base, &n.key, "stamped by OpenSSL").await;
    let json = issued(&http, &base, &n.key, &id).await;
    assert!(asked.load(Ordering::SeqCst) >= 1);
    let cert_json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(cert_json["timestamps"].as_array().unwrap().len(), 1);
    let root = tsa.root();
    let (code, out) = run_verify(
        n.dir.path(),
        &json,
        &[
            "--policy",
            POLICY,
            "--tsa-trust",
            root.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let stamps = report["timestamps"].as_array().unwrap();
    assert_eq!(stamps.len(), 1, "{report}");
    assert_eq!(stamps[0]["tsa"], "OpenSSL Test TSA", "{report}");
    assert_eq!(stamps[0]["counted"], true, "{report}");
    // Against the development root instead, the OpenSSL token is refused.
    let dev_root = cert("root.pem");
    let (code, out) = run_verify(
        n.dir.path(),
        &json,
        &[
            "--policy",
            POLICY,
            "--tsa-trust",
            dev_root.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(stored_tokens(&n, db).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_openssl_tsa_tokens_are_accepted_and_verified() {
    openssl_tokens_are_accepted("tsa-ossl-sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_openssl_tsa_tokens_are_accepted_and_verified() {
    let db = PgDb::new("tsa_ossl");
    openssl_tokens_are_accepted("tsa-ossl-pg", Some(&db)).await;
}

// ---------------------------------------------------------------------
// Time to final, with and without a TSA in the path.

/// Submits `rounds` entries one after the other; for each, the time from
/// submission to an issued certificate. Returns the median and p90, ms.
async fn time_to_final(n: &Notary, rounds: usize) -> (f64, f64) {
    let http = http_client();
    let base = n.proc.url.clone();
    let mut ms = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let started = Instant::now();
        let id = submit_text(&http, &base, &n.key, &format!("measured {i}")).await;
        let url = format!("{base}/v1/evidence/{id}/certificate.json");
        loop {
            let r = http.get(&url).bearer_auth(&n.key).send().await.unwrap();
            if r.status().is_success() {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "never final");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (ms[ms.len() / 2], ms[ms.len() * 9 / 10])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo nextest run --test tsa_notary --run-ignored only measure"]
async fn measure_time_to_final_with_and_without_a_tsa() {
    let rounds = 40;
    let plain = start_notary_with("tsa-measure-plain", None, "", "court>=1 arbitration>=1");
    let (p50, p90) = time_to_final(&plain, rounds).await;
    drop(plain);
    let tsa = start_dev_tsa("127.0.0.1:0");
    let stamped = start_notary_with(
        "tsa-measure-tsa",
        None,
        &tsa_section(std::slice::from_ref(&tsa.url), &cert("root.pem")),
        POLICY,
    );
    let (t50, t90) = time_to_final(&stamped, rounds).await;
    println!(
        "time to final over {rounds} sequential submissions (SQLite, batch 100 ms): \
         without a TSA p50 {p50:.0} ms p90 {p90:.0} ms; with the development TSA \
         p50 {t50:.0} ms p90 {t90:.0} ms; ratio p50 {:.2} p90 {:.2}",
        t50 / p50,
        t90 / p90
    );
    assert!(t50 > 0.0 && p50 > 0.0);
}
