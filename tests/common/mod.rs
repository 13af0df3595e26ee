//! End-to-end harness: real `notarium` and `notarium-witness` processes on
//! loopback, real SQLite files or a fresh PostgreSQL database per test.
#![allow(dead_code)]

pub(crate) mod page;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn cert(name: &str) -> PathBuf {
    repo().join("certs").join(name)
}

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(pub PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "notarium-e2e-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The notary binary of this package.
pub(crate) fn notarium_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_notarium"))
}

/// A binary of another package of the workspace: next to ours in the
/// target directory (`cargo nextest run --workspace` builds it), built on
/// demand when a test runs alone.
pub(crate) fn workspace_bin(package: &str) -> PathBuf {
    let bin = notarium_bin().parent().unwrap().join(package);
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-p", package, "--bin", package])
            .current_dir(repo())
            .status()
            .unwrap_or_else(|e| panic!("cargo build {package}: {e}"));
        assert!(st.success(), "building {package} failed");
    }
    assert!(bin.exists(), "{} missing", bin.display());
    bin
}

/// The witness binary.
pub(crate) fn witness_bin() -> PathBuf {
    workspace_bin("notarium-witness")
}

/// The offline verifier's binary.
pub(crate) fn verify_bin() -> PathBuf {
    workspace_bin("notarium-verify")
}

/// A child process killed on drop.
pub(crate) struct Proc {
    pub child: Child,
    pub url: String,
}

impl Proc {
    pub(crate) fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Starts `cmd`, waits (deadline 60 s) for a stdout line containing
/// `marker` followed by a URL, keeps draining stdout in the background.
pub(crate) fn spawn_until_listening(cmd: Command, marker: &str) -> Proc {
    spawn_until_listening_to(cmd, marker, Stdio::inherit())
}

/// The same, the process's stderr (its log) going to `stderr`.
pub(crate) fn spawn_until_listening_to(mut cmd: Command, marker: &str, stderr: Stdio) -> Proc {
    cmd.stdout(Stdio::piped()).stderr(stderr);
    let mut child = cmd.spawn().expect("spawn");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let wanted = marker.to_string();
    std::thread::spawn(move || {
        let marker = wanted;
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent && let Some(pos) = line.find(&marker) {
                let url = line[pos + marker.len()..].trim().to_string();
                let _ = tx.send(url);
                sent = true;
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(url) => Proc { child, url },
        Err(_) => {
            let _ = child.kill();
            let out = child.wait_with_output().ok();
            panic!("process did not report \"{marker}\" within 60 s: {out:?}");
        }
    }
}

/// The development RFC 3161 TSA (`notarium tsa`, certs/tsa.*) on a free port.
pub(crate) fn start_dev_tsa() -> Proc {
    let mut cmd = Command::new(notarium_bin());
    cmd.args(["tsa", "--listen", "127.0.0.1:0", "--key"])
        .arg(cert("tsa.key"))
        .arg("--cert")
        .arg(cert("tsa.pem"));
    spawn_until_listening(cmd, "notarium tsa listening on ")
}

pub(crate) fn start_witness(dir: &Path, role: &str) -> Proc {
    start_witness_with(dir, role, "")
}

/// The same, with `extra` top-level configuration lines (TLS, say).
pub(crate) fn start_witness_with(dir: &Path, role: &str, extra: &str) -> Proc {
    let cfg = dir.join(format!("{role}-witness.toml"));
    std::fs::write(
        &cfg,
        format!(
            r#"listen = "127.0.0.1:0"
prefix = ""
state = "{state}"
{extra}
[witness]
certificate = "{cert}"
key = "{key}"
trust_roots = ["{root}"]
[[log]]
origin = "notarium.example/log"
notary_certificates = ["{notary}"]
"#,
            state = dir.join(format!("{role}-state.sqlite")).display(),
            cert = cert(&format!("{role}.pem")).display(),
            key = cert(&format!("{role}.key")).display(),
            root = cert("root.pem").display(),
            notary = cert("notary.pem").display(),
        ),
    )
    .unwrap();
    let bin = witness_bin();
    let st = Command::new(&bin)
        .args(["init", "--config"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "witness init failed");
    let mut cmd = Command::new(&bin);
    cmd.args(["serve", "--config"]).arg(&cfg);
    spawn_until_listening(cmd, "listening on ")
}

/// The bearer token of the notary's `/metrics` in the tests' configuration
/// (without an admin listener, `/metrics` is served only behind a token).
pub(crate) const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

/// A notary configuration for `witnesses` (court first, arbitration second).
pub(crate) fn write_notary_config(
    dir: &Path,
    court: &str,
    arbitration: &str,
    extra: &str,
) -> PathBuf {
    let cfg = dir.join("notary.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[server]
listen = "127.0.0.1:0"
data_dir = "{data}"
metrics_token = "{METRICS_TOKEN}"
[log]
origin = "notarium.example/log"
key_file = "{key}"
cert_file = "{cert}"
batch_interval_ms = 100
[trust]
roots = ["{root}"]
[[witness]]
url = "{court}"
cert_file = "{court_cert}"
[[witness]]
url = "{arbitration}"
cert_file = "{arb_cert}"
{extra}
"#,
            data = dir.join("data").display(),
            key = cert("notary.key").display(),
            cert = cert("notary.pem").display(),
            root = cert("root.pem").display(),
            court_cert = cert("court.pem").display(),
            arb_cert = cert("arbitration.pem").display(),
        ),
    )
    .unwrap();
    cfg
}

/// Runs `notarium admin` and returns its stdout.
pub(crate) fn admin(cfg: &Path, db: Option<&str>, args: &[&str]) -> String {
    let mut cmd = Command::new(notarium_bin());
    cmd.arg("admin").arg("--config").arg(cfg).args(args);
    if let Some(url) = db {
        cmd.env("DATABASE_URL", url);
    } else {
        cmd.env_remove("DATABASE_URL");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "notarium admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Creates a tenant and returns a fresh API key for it.
pub(crate) fn tenant_with_key(cfg: &Path, db: Option<&str>, name: &str) -> String {
    admin(cfg, db, &["tenant", "add", name]);
    admin(cfg, db, &["key", "create", name]).trim().to_string()
}

pub(crate) fn start_notary(cfg: &Path, db: Option<&str>) -> Proc {
    let mut cmd = Command::new(notarium_bin());
    cmd.args(["serve", "--config"])
        .arg(cfg)
        .env("RUST_LOG", "warn");
    if let Some(url) = db {
        cmd.env("DATABASE_URL", url);
    } else {
        cmd.env_remove("DATABASE_URL");
    }
    spawn_until_listening(cmd, "notarium listening on ")
}

/// A fresh PostgreSQL database, dropped at the end. A missing server is a
/// failure, never a skip.
pub(crate) struct PgDb {
    pub url: String,
    admin_url: String,
    name: String,
}

fn pg_admin_url() -> String {
    std::env::var("NOTARIUM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Runs SQL on its own thread and runtime (callers may be inside one).
fn pg_exec(url: &str, sql: &str) {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || pg_exec_blocking(&url, &sql))
        .join()
        .expect("PostgreSQL admin statement");
}

fn pg_exec_blocking(url: &str, sql: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL at {url} is required for this test and is unreachable: {e}")
            });
        let h = tokio::spawn(conn);
        client.batch_execute(sql).await.unwrap();
        drop(client);
        let _ = h.await;
    });
}

impl PgDb {
    pub(crate) fn new(tag: &str) -> Self {
        let admin_url = pg_admin_url();
        let name = format!(
            "notarium_e2e_{tag}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
                % 1_000_000_000
        );
        pg_exec(&admin_url, &format!("CREATE DATABASE {name}"));
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap();
        PgDb {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        }
    }
}

impl PgDb {
    /// Cuts the database off, as an outage would: no new connections, and
    /// every open one (the notary's pool and lease) terminated.
    pub(crate) fn cut_off(&self) {
        pg_exec(
            &self.admin_url,
            &format!(
                "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid();",
                name = self.name
            ),
        );
    }

    /// Ends an outage begun by [`PgDb::cut_off`].
    pub(crate) fn restore(&self) {
        pg_exec(
            &self.admin_url,
            &format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", self.name),
        );
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        pg_exec(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Polls `f` until it returns Some, or panics after `deadline`.
pub(crate) async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn verifier() -> notarium_core::Verifier {
    notarium_core::Verifier::new(
        notarium_core::TrustRoots::from_pem(&std::fs::read_to_string(cert("root.pem")).unwrap())
            .unwrap(),
        Some("notarium.example/log".into()),
        notarium_core::Policy::default(),
    )
}

/// Restarts a witness on the same state and address after it was killed.
pub(crate) fn restart_witness(dir: &Path, role: &str, url: &str) -> Proc {
    let cfg = dir.join(format!("{role}-witness.toml"));
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut cmd = Command::new(witness_bin());
    cmd.args(["serve", "--config"])
        .arg(&cfg)
        .args(["--listen", addr]);
    spawn_until_listening(cmd, "listening on ")
}

/// An HTTP client for the tests. reqwest is built with rustls but without
/// its default provider (aws-lc-rs, a long C build): the workspace uses
/// ring, which must be the process's provider before a client is built.
pub(crate) fn http_client() -> reqwest::Client {
    http_builder().build().expect("an HTTP client")
}

/// A notary's `/metrics` text, with the test token. A client of its own:
/// a caller's pooled connection may have idled out meanwhile.
pub(crate) async fn notary_metrics(base: &str) -> String {
    let http = http_builder().pool_max_idle_per_host(0).build().unwrap();
    let r = http
        .get(format!("{base}/metrics"))
        .bearer_auth(METRICS_TOKEN);
    r.send().await.unwrap().text().await.unwrap()
}

/// One sample of a Prometheus exposition, by its name and labels as
/// written (`None` when absent).
pub(crate) fn sample(metrics: &str, series: &str) -> Option<u64> {
    metrics.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// The same, to be configured further.
pub(crate) fn http_builder() -> reqwest::ClientBuilder {
    notarium_http::tls::install_default_provider();
    reqwest::Client::builder()
}

/// GET `url` with the API key; its JSON body (panics if there is none).
pub(crate) async fn get_json(http: &reqwest::Client, url: &str, key: &str) -> serde_json::Value {
    http.get(url)
        .bearer_auth(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// Polls an entry's status until it is final (deadline 60 s); returns it.
pub(crate) async fn wait_final(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    id: &str,
) -> serde_json::Value {
    let url = format!("{base}/v1/evidence/{id}");
    eventually(&format!("{id} final"), Duration::from_secs(60), || async {
        let s = get_json(http, &url, key).await;
        (s["status"] == "final").then_some(s)
    })
    .await
}

/// GET `url` with the API key; its body, which must come with a 2xx.
pub(crate) async fn get_bytes(http: &reqwest::Client, url: &str, key: &str) -> Vec<u8> {
    let r = http
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.bytes().await.unwrap().to_vec()
}

/// Submits the SHA-256 of `text` (expects 202); returns the entry id.
pub(crate) async fn submit_text(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    text: &str,
) -> String {
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
    let r = http
        .post(format!("{base}/v1/evidence"))
        .bearer_auth(key)
        .json(&serde_json::json!({ "sha256": digest }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Waits until entry `id` is final; returns its status and certificate JSON.
pub(crate) async fn final_certificate(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    id: &str,
) -> (serde_json::Value, Vec<u8>) {
    let status = wait_final(http, base, key, id).await;
    let url = format!("{base}/v1/evidence/{id}/certificate.json");
    (status, get_bytes(http, &url, key).await)
}
