//! Shared by the integration tests: the development PKI, a notary that signs
//! checkpoints of an in-memory tree with certs/notary.key, request bodies,
//! and the real `notarium-witness` binary run on a free loopback port.
#![allow(dead_code)]

use notarium_core::checkpoint::Checkpoint;
use notarium_core::cosignature::Cosignature;
use notarium_core::encoding::b64;
use notarium_core::identity::{CertInfo, certs_from_pem_file};
use notarium_core::merkle::Hash;
use notarium_core::note::{Note, NoteSignature};
use notarium_log::SigningKey;
use notarium_log::sign::SignCheckpoint;
use notarium_log::tree::MemoryTree;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub(crate) const ORIGIN: &str = "notarium.example/log";
pub(crate) const COURT: &str = "court.example/witness";
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_notarium-witness");
/// How long a witness may take to say it is listening.
pub(crate) const READY_DEADLINE: Duration = Duration::from_secs(30);

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn certs(name: &str) -> PathBuf {
    repo().join("certs").join(name)
}

pub(crate) fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/pki").join(name)
}

pub(crate) fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub(crate) fn key(p: &Path) -> SigningKey {
    SigningKey::from_pkcs8_pem(&read(p)).unwrap()
}

pub(crate) fn cert(p: &Path) -> CertInfo {
    certs_from_pem_file(&read(p)).unwrap().remove(0)
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A log: an in-memory tree and the development notary key.
pub(crate) struct Log {
    pub origin: String,
    pub tree: MemoryTree,
    pub key: SigningKey,
}

impl Log {
    /// The development log with `leaves` leaves; `seed` makes forks differ.
    pub(crate) fn new(leaves: u64, seed: &str) -> Self {
        Self::with_key(ORIGIN, leaves, seed, key(&certs("notary.key")))
    }

    pub(crate) fn with_key(origin: &str, leaves: u64, seed: &str, key: SigningKey) -> Self {
        let mut tree = MemoryTree::new();
        for i in 0..leaves {
            tree.push_leaf_data(format!("{seed} leaf {i}").as_bytes());
        }
        Log {
            origin: origin.to_string(),
            tree,
            key,
        }
    }

    pub(crate) fn root(&self, size: u64) -> Hash {
        self.tree.root_at(size).unwrap()
    }

    pub(crate) fn checkpoint(&self, size: u64) -> Checkpoint {
        Checkpoint::new(&self.origin, size, self.root(size)).unwrap()
    }

    /// The checkpoint of `size` as a note signed by the log's key.
    pub(crate) fn note(&self, size: u64) -> Note {
        self.checkpoint(size).signed_note(&self.key).unwrap()
    }

    pub(crate) fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        self.tree.consistency_proof(old, new).unwrap()
    }

    /// A correct add-checkpoint body from `old` to `new`.
    pub(crate) fn body(&self, old: u64, new: u64) -> String {
        body(old, &self.proof(old, new), &self.note(new).to_text())
    }
}

pub(crate) fn body(old: u64, proof: &[Hash], note: &str) -> String {
    let mut s = format!("old {old}\n");
    for h in proof {
        s.push_str(&b64(h));
        s.push('\n');
    }
    s.push('\n');
    s.push_str(note);
    s
}

/// Parses a 200 body: exactly one cosignature line by the court witness,
/// verified over `cp` with the court certificate's key.
pub(crate) fn check_cosignature(body: &str, cp: &Checkpoint, witness_cert: &Path) -> Cosignature {
    let cert = cert(witness_cert);
    let name = cert.common_name.clone().unwrap();
    assert!(body.ends_with('\n'), "{body:?}");
    let lines: Vec<&str> = body.trim_end_matches('\n').split('\n').collect();
    assert_eq!(lines.len(), 1, "{body:?}");
    assert!(lines[0].starts_with("\u{2014} "), "{body:?}");
    let sig = NoteSignature::parse_line(lines[0]).unwrap();
    let cs = Cosignature::from_note_signature(&sig).unwrap();
    assert!(
        cs.is_by(&name, &cert.key),
        "cosignature key ID or name is wrong"
    );
    cs.verify(cp, &cert.key).expect("cosignature verifies");
    cs
}

pub(crate) fn client() -> reqwest::blocking::Client {
    // reqwest has rustls without a default provider: install ring's.
    notarium_http::tls::install_default_provider();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Resp {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

pub(crate) fn resp(r: reqwest::blocking::Response) -> Resp {
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    Resp {
        status,
        content_type,
        body: r.text().unwrap(),
    }
}

/// A witness configuration in a temporary folder.
pub(crate) struct Setup {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub state: PathBuf,
}

/// Options of [`Setup::with`].
pub(crate) struct Opts<'a> {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub prefix: &'a str,
    pub extra: &'a str,
    pub logs: String,
}

impl Default for Opts<'_> {
    fn default() -> Self {
        Opts {
            cert: certs("court.pem"),
            key: certs("court.key"),
            prefix: "",
            extra: "",
            logs: format!(
                "[[log]]\norigin = \"{ORIGIN}\"\nnotary_certificates = [{:?}]\n",
                certs("notary.pem")
            ),
        }
    }
}

impl Setup {
    /// The court witness for the development log, state initialised.
    pub(crate) fn new() -> Self {
        Self::with(Opts::default())
    }

    pub(crate) fn with(o: Opts<'_>) -> Self {
        let s = Self::config_only(o);
        let out = s.run(&["init"]);
        assert!(out.0.success(), "init failed: {}", out.2);
        s
    }

    /// Writes the config, does not run init.
    pub(crate) fn config_only(o: Opts<'_>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("witness.toml");
        let state = dir.path().join("state.sqlite");
        let text = format!(
            "listen = \"127.0.0.1:0\"\nprefix = \"{}\"\nstate = \"state.sqlite\"\n{}\n\
             [witness]\ncertificate = {:?}\nkey = {:?}\ntrust_roots = [{:?}]\n\n{}",
            o.prefix,
            o.extra,
            o.cert,
            o.key,
            certs("root.pem"),
            o.logs
        );
        std::fs::write(&config, text).unwrap();
        Setup { dir, config, state }
    }

    /// Runs `notarium-witness <cmd> --config FILE [args]` to completion.
    pub(crate) fn run(&self, args: &[&str]) -> (ExitStatus, String, String) {
        let out = Command::new(BIN)
            .arg(args[0])
            .arg("--config")
            .arg(&self.config)
            .args(&args[1..])
            .env_remove("NOTARIUM_WITNESS_LISTEN")
            .env_remove("NOTARIUM_WITNESS_STATE")
            .output()
            .unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `export --origin O`, parsed.
    pub(crate) fn export(&self, origin: &str) -> Vec<serde_json::Value> {
        let (st, out, err) = self.run(&["export", "--origin", origin]);
        assert!(st.success(), "export failed: {err}");
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub(crate) fn cosigned(&self) -> Vec<serde_json::Value> {
        self.export(ORIGIN)
            .into_iter()
            .filter(|v| v["kind"] == "cosigned")
            .collect()
    }

    pub(crate) fn start(&self) -> Witness {
        Witness::start(&self.config, &self.dir.path().join("stderr.log"))
    }
}

/// A running `notarium-witness serve`.
pub(crate) struct Witness {
    child: Option<Child>,
    pub url: String,
    /// The admin listener's URL (`admin_listen`), if any.
    pub admin_url: Option<String>,
    pub stderr: PathBuf,
}

impl Witness {
    /// Spawns the binary and waits, with a deadline, for its readiness line.
    pub(crate) fn start(config: &Path, stderr: &Path) -> Self {
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(stderr)
            .unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(config)
            .env_remove("NOTARIUM_WITNESS_LISTEN")
            .env_remove("NOTARIUM_WITNESS_STATE")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut admin = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("notarium-witness admin listening on ") {
                    admin = Some(url.to_string());
                }
                if let Some(url) = line.strip_prefix("notarium-witness listening on ") {
                    let _ = tx.send((url.to_string(), admin.take()));
                }
            }
        });
        match rx.recv_timeout(READY_DEADLINE) {
            Ok((url, admin_url)) => Witness {
                child: Some(child),
                url,
                admin_url,
                stderr: stderr.to_path_buf(),
            },
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().unwrap();
                panic!(
                    "witness not ready within {READY_DEADLINE:?} ({status}): {}",
                    std::fs::read_to_string(stderr).unwrap_or_default()
                );
            }
        }
    }

    pub(crate) fn add(
        &self,
        c: &reqwest::blocking::Client,
        body: impl Into<reqwest::blocking::Body>,
    ) -> Resp {
        resp(
            c.post(format!("{}/add-checkpoint", self.url))
                .body(body)
                .send()
                .unwrap(),
        )
    }

    pub(crate) fn latest(&self, c: &reqwest::blocking::Client, origin: &str) -> Resp {
        resp(
            c.get(format!("{}/checkpoint?origin={origin}", self.url))
                .send()
                .unwrap(),
        )
    }

    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Hands the process over (it is no longer killed on drop).
    pub(crate) fn into_child(mut self) -> Child {
        self.child.take().unwrap()
    }

    /// SIGKILL, and reap.
    pub(crate) fn kill9(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, then wait (with a deadline) for the exit status.
    pub(crate) fn terminate(mut self, deadline: Duration) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = child.id().to_string();
        let st = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(st.success());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        match rx.recv_timeout(deadline) {
            Ok(status) => status.unwrap(),
            Err(_) => {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
                panic!("witness did not stop within {deadline:?} after SIGTERM");
            }
        }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
