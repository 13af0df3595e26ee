//! `notarium demo`: the whole platform on one machine. A court witness, an
//! arbitration witness and the development RFC 3161 TSA run as separate
//! processes (this binary's hidden `witness` subcommand and `notarium
//! tsa`), the notary runs here on the embedded store, all
//! talking HTTP on loopback with the development certificates of `certs/`.
//! The sample evidence of `examples/evidence/` is notarized, the
//! certificates are written (JSON and PDF) and verified with the same code
//! as `notarium-verify`, then the notary keeps serving the judge's page.

use crate::client::{SubmitOptions, collect_files, submit_files};
use crate::config::FileConfig;
use notarium_core::{Policy, TrustRoots, Verifier};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where the demo keeps its data; reset at every run.
    pub dir: PathBuf,
    pub listen: String,
    /// Stop after verifying instead of serving (for CI).
    pub once: bool,
}

/// The demo's policy: both witnesses and a TSA token (contract §9).
pub const DEMO_POLICY: &str = "court>=1 arbitration>=1 tsa>=1";

/// A witness (or TSA) child process, killed when dropped.
struct WitnessProc {
    child: Child,
    url: String,
}

impl Drop for WitnessProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository files the demo needs: `certs/` and `examples/`, found in
/// the working directory or, failing that, where this binary was built.
fn repo_root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    for dir in [cwd, PathBuf::from(env!("CARGO_MANIFEST_DIR"))] {
        if dir.join("certs/root.pem").exists() && dir.join("examples/evidence").exists() {
            return Ok(dir);
        }
    }
    anyhow::bail!(
        "run the demo from the Notarium repository (it needs certs/ and examples/evidence/)"
    )
}

fn start_witness(dir: &Path, repo: &Path, role: &str) -> anyhow::Result<WitnessProc> {
    let cfg = dir.join(format!("{role}-witness.toml"));
    let q = |p: PathBuf| p.display().to_string().replace('\\', "\\\\");
    std::fs::write(
        &cfg,
        format!(
            "# The demo's {role} witness (development certificates: NOT FOR PRODUCTION).\n\
             listen = \"127.0.0.1:0\"\nprefix = \"\"\nstate = \"{state}\"\n\
             [witness]\ncertificate = \"{cert}\"\nkey = \"{key}\"\ntrust_roots = [\"{root}\"]\n\
             [[log]]\norigin = \"notarium.example/log\"\nnotary_certificates = [\"{notary}\"]\n",
            state = q(dir.join(format!("{role}-state.sqlite"))),
            cert = q(repo.join(format!("certs/{role}.pem"))),
            key = q(repo.join(format!("certs/{role}.key"))),
            root = q(repo.join("certs/root.pem")),
            notary = q(repo.join("certs/notary.pem")),
        ),
    )?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["witness", "serve", "--init-if-missing", "--config"])
        .arg(&cfg);
    spawn_listening(cmd, &format!("the {role} witness"))
}

/// The development TSA (`notarium tsa`, certs/tsa.pem: NOT FOR PRODUCTION).
fn start_tsa(repo: &Path) -> anyhow::Result<WitnessProc> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["tsa", "--listen", "127.0.0.1:0", "--key"])
        .arg(repo.join("certs/tsa.key"))
        .arg("--cert")
        .arg(repo.join("certs/tsa.pem"));
    spawn_listening(cmd, "the development TSA")
}

/// Starts `cmd` and waits for its "listening on URL" line.
fn spawn_listening(mut cmd: Command, what: &str) -> anyhow::Result<WitnessProc> {
    let mut child = cmd
        // The demo creates fresh witness states on purpose: the witness's
        // warning about it would only be noise here.
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "error".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.split("listening on ").nth(1)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| anyhow::anyhow!("{what} did not start within 30 s"))?;
    Ok(WitnessProc { child, url })
}

fn notary_toml(
    dir: &Path,
    repo: &Path,
    listen: &str,
    (court, arbitration, tsa): (&str, &str, &str),
) -> String {
    let q = |p: PathBuf| p.display().to_string().replace('\\', "\\\\");
    format!(
        "# The demo notary (development certificates: NOT FOR PRODUCTION).\n\
         [server]\nlisten = \"{listen}\"\ndata_dir = \"{data}\"\n\n\
         [log]\norigin = \"notarium.example/log\"\nkey_file = \"{key}\"\ncert_file = \"{cert}\"\nbatch_interval_ms = 200\n\n\
         [trust]\nroots = [\"{root}\"]\npolicy = \"{DEMO_POLICY}\"\n\n\
         [[witness]]\nurl = \"{court}\"\ncert_file = \"{court_cert}\"\n\n\
         [[witness]]\nurl = \"{arbitration}\"\ncert_file = \"{arb_cert}\"\n\n\
         # RFC 3161: a token over every final checkpoint, before its certificates.\n\
         [tsa]\nurls = [\"{tsa}\"]\ntrust = [\"{root}\"]\n\n\
         # The PDF seal (PAdES B-T: its signature timestamped by the same TSA).\n\
         [seal]\nkey_file = \"{seal_key}\"\ncert_file = \"{seal_cert}\"\ntsa_url = \"{tsa}\"\n",
        data = q(dir.join("data")),
        key = q(repo.join("certs/notary.key")),
        cert = q(repo.join("certs/notary.pem")),
        root = q(repo.join("certs/root.pem")),
        court_cert = q(repo.join("certs/court.pem")),
        arb_cert = q(repo.join("certs/arbitration.pem")),
        seal_key = q(repo.join("certs/seal.key")),
        seal_cert = q(repo.join("certs/seal.pem")),
    )
}

/// Runs the demo; returns whether every certificate verified.
pub async fn run(opts: DemoOptions) -> anyhow::Result<bool> {
    let repo = repo_root()?;
    let dir = std::path::absolute(&opts.dir)?;
    if dir.exists() {
        println!(
            "Resetting the demo directory {} (the previous demo's data is removed).",
            dir.display()
        );
        std::fs::remove_dir_all(&dir)?;
    } else {
        println!("Demo directory: {}", dir.display());
    }
    std::fs::create_dir_all(&dir)?;

    println!(
        "Starting the court witness, the arbitration witness and the development TSA (separate processes)..."
    );
    let court = start_witness(&dir, &repo, "court")?;
    let arbitration = start_witness(&dir, &repo, "arbitration")?;
    let tsa = start_tsa(&repo)?;
    println!("  court witness        {}", court.url);
    println!("  arbitration witness  {}", arbitration.url);
    println!("  RFC 3161 TSA         {}", tsa.url);

    let cfg_path = dir.join("notary.toml");
    let toml = notary_toml(
        &dir,
        &repo,
        &opts.listen,
        (&court.url, &arbitration.url, &tsa.url),
    );
    std::fs::write(&cfg_path, &toml)?;
    let config = FileConfig::from_toml(&toml)?.resolve(&dir)?;

    // The tenant and its key, before the notary takes the store's lock.
    let key = {
        let store = crate::store::open(None, &config.data_dir).await?;
        let now = notarium_log::clock::now().millis();
        let demo = notarium_core::entry::SubmitterId::parse("demo")?;
        store.add_tenant(&demo, now).await?;
        let key = crate::service::new_api_key();
        store
            .add_api_key(&demo, &crate::service::key_hash(&key), now)
            .await?;
        key
    };
    std::fs::write(dir.join("api-key.txt"), format!("{key}\n"))?;

    let running = crate::server::start(config.clone()).await?;
    let url = format!("http://{}", running.addr);
    println!(
        "Notary listening on {url} (embedded store in {})",
        config.data_dir.display()
    );

    let files = collect_files(&[repo.join("examples/evidence")])?;
    println!(
        "\nNotarizing {} sample files from examples/evidence (only their SHA-256 leaves this process)...",
        files.len()
    );
    let out = dir.join("certificates");
    let results = submit_files(
        &files,
        &SubmitOptions {
            server: url.clone(),
            key: key.clone(),
            metadata: Some(serde_json::from_str(
                r#"{"case_reference":"DEMO-2026-001"}"#,
            )?),
            out: out.clone(),
            wait: Duration::from_secs(60),
            quiet: false,
            trust: None,
            ca: Vec::new(),
        },
    )
    .await;

    println!("\nVerifying each certificate offline (the checks of notarium-verify):");
    let root = TrustRoots::from_pem(&std::fs::read_to_string(repo.join("certs/root.pem"))?)?;
    let verifier = Verifier::new(
        root.clone(),
        Some(config.origin.clone()),
        Policy::parse(DEMO_POLICY)?,
    )
    .with_timestamps(std::sync::Arc::new(notarium_timestamp::TsaTrust::new(
        root,
        Vec::new(),
    )));
    let mut all_valid = !results.is_empty();
    for r in &results {
        let name = r
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some((json_path, pdf_path)) = &r.certificate else {
            all_valid = false;
            println!(
                "  FAILED   {name}: {}",
                r.error.as_deref().unwrap_or("no certificate")
            );
            continue;
        };
        let digest: [u8; 32] = hex::decode(&r.sha256)?
            .try_into()
            .map_err(|_| anyhow::anyhow!("digest"))?;
        let json = std::fs::read(json_path)?;
        let from_pdf = notarium_pdf::extract_certificate_json(&std::fs::read(pdf_path)?)?;
        let report = verifier.verify_certificate(&json, Some(&digest));
        let pdf_report = verifier.verify_certificate(&from_pdf, Some(&digest));
        if report.valid && pdf_report.valid && from_pdf == json {
            let when = report.witnessed_at.clone().unwrap_or_default();
            let stamps: Vec<String> = report
                .timestamps
                .iter()
                .map(|t| format!("{} by {}", t.time, t.tsa))
                .collect();
            println!(
                "  VALID    {name}  (JSON and PDF; witnessed no later than {when}; RFC 3161 timestamp {})",
                stamps.join(", ")
            );
        } else {
            all_valid = false;
            let why = report
                .first_failure()
                .or(pdf_report.first_failure())
                .map(|c| c.detail.clone());
            println!(
                "  INVALID  {name}: {}",
                why.unwrap_or_else(|| "PDF attachment differs".into())
            );
        }
    }
    // The contract makes the best example; any certified file will do.
    let example = results
        .iter()
        .filter(|r| r.certificate.is_some())
        .max_by_key(|r| r.path.extension().is_some_and(|e| e == "txt"))
        .and_then(|r| {
            r.certificate
                .as_ref()
                .map(|(j, p)| (r.path.clone(), j.clone(), p.clone()))
        });
    println!(
        "\nCertificates, receipts and entries are in {}",
        out.display()
    );
    println!("\nNext, try:");
    println!(
        "  The judge's page (drop a certificate and the file; the file is hashed in the browser):"
    );
    println!("    {url}/verify");
    if let Some((file, json, pdf)) = example {
        let rel = |p: &Path| {
            p.strip_prefix(&repo)
                .map(Path::to_path_buf)
                .unwrap_or_else(|_| p.to_path_buf())
        };
        println!(
            "  Verify a certificate offline, as a court expert would (the first run builds notarium-verify, about a minute):"
        );
        println!(
            "    cargo run --release -p notarium-verify -- {} --file {} --trust certs/root.pem --origin notarium.example/log \\\n      --tsa-trust certs/root.pem --policy \"{DEMO_POLICY}\"",
            rel(&pdf).display(),
            rel(&file).display()
        );
        println!("  Tamper with one and watch it fail:");
        println!(
            "    sed 's/DEMO-2026-001/DEMO-2026-002/' {} > /tmp/tampered.json",
            rel(&json).display()
        );
        println!(
            "    cargo run --release -p notarium-verify -- /tmp/tampered.json --trust certs/root.pem"
        );
    }
    println!(
        "  Notarize your own file (the API key is also in {}):",
        dir.join("api-key.txt").display()
    );
    println!(
        "    cargo run --release -- submit README.md --server {url} --key {key} --out /tmp/my-certificates"
    );
    println!("  Or with curl:");
    println!(
        "    curl -s -H 'Authorization: Bearer {key}' -H 'content-type: application/json' \\\n      -d \"{{\\\"sha256\\\":\\\"$(sha256sum README.md | cut -d' ' -f1)\\\"}}\" {url}/v1/evidence"
    );

    println!(
        "  Follow the log as a court would, next to its witness (a mirror, split-view detection; docs/monitor.md):"
    );
    println!(
        "    cargo run --release -- monitor --log {url} --witness court.example/witness={court} \\\n      --witness arbitration.example/witness={arb} --trust certs/root.pem \\\n      --certs certs/notary.pem --certs certs/court.pem --certs certs/arbitration.pem --mirror /tmp/court-mirror.sqlite --once",
        court = court.url,
        arb = arbitration.url
    );

    if opts.once {
        running.stop().await;
    } else {
        println!("\nServing. Press Ctrl-C to stop the notary, both witnesses and the TSA.");
        running.until_signal().await;
        println!("Stopped.");
    }
    drop((court, arbitration, tsa));
    Ok(all_valid)
}
