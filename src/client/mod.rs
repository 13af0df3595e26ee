//! `notarium submit`: the business client. Hashes files locally (streaming,
//! with a progress bar), submits only their digests (the batch endpoint for
//! several files), shows the receipts, waits for finality with a deadline,
//! and saves each certificate as JSON and PDF. A network failure is retried
//! without double-submitting: every attempt carries the same
//! `Idempotency-Key`, so the notary answers a retry with its first answer.

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to submit and where.
#[derive(Debug, Clone)]
pub struct SubmitOptions {
    pub server: String,
    pub key: String,
    /// Extra metadata merged into each file's (title, case reference...).
    pub metadata: Option<serde_json::Map<String, Value>>,
    pub out: PathBuf,
    pub wait: Duration,
    pub quiet: bool,
    /// Verify each receipt as it arrives and each certificate before it
    /// is saved (`--trust`); without it nothing is verified.
    pub trust: Option<Trust>,
    /// CAs trusted for an `https://` server besides the system's roots
    /// (`--ca`).
    pub ca: Vec<reqwest::Certificate>,
}

/// What the client verifies receipts and certificates with.
#[derive(Debug, Clone)]
pub struct Trust {
    /// Trust roots, pinned origin, witness policy.
    pub verifier: notarium_core::Verifier,
    /// The notary's certificate and its chain (receipts name no
    /// certificate; certificates carry their own).
    pub notary_certs: Vec<notarium_core::identity::CertInfo>,
}

impl Trust {
    /// A 202 answer for `item`: the entry text commits to the item's digest
    /// and metadata with the salt given, at the time given, and the receipt
    /// is the trusted notary's signature over that entry.
    pub fn check_receipt(&self, item: &Value, accepted: &Value) -> Result<(), String> {
        use notarium_core::entry::{LeafFields, Metadata, commitment};
        let text = |k: &str| {
            accepted[k]
                .as_str()
                .ok_or_else(|| format!("the answer has no \"{k}\""))
        };
        let (entry, receipt) = (text("entry")?, text("receipt")?);
        let salt: [u8; 32] = hex::decode(text("salt")?)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the answer's salt is not 32 bytes of hex")?;
        let fields =
            LeafFields::parse(entry.as_bytes()).map_err(|e| format!("the entry text: {e}"))?;
        let digest: [u8; 32] = hex::decode(item["sha256"].as_str().unwrap_or_default())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the submitted digest is not 32 bytes of hex")?;
        if fields.evidence_commitment != commitment(&salt, &digest) {
            return Err("the entry does not commit to this file's SHA-256".into());
        }
        let metadata = match item.get("metadata") {
            None | Some(Value::Null) => None,
            Some(m) => {
                Some(Metadata::normalise(m).map_err(|e| format!("the submitted metadata: {e}"))?)
            }
        };
        let expected = metadata.map(|m| commitment(&salt, m.as_str().as_bytes()));
        if fields.metadata_commitment != expected {
            return Err("the entry does not commit to this file's metadata".into());
        }
        if Some(fields.received.to_text().as_str()) != accepted["received_at"].as_str() {
            return Err("the entry's received time is not the answer's received_at".into());
        }
        let report =
            self.verifier
                .verify_receipt(receipt, entry.as_bytes(), self.notary_certs.clone());
        match report.first_failure() {
            None if report.verified => Ok(()),
            Some(c) => Err(format!("the receipt does not verify: {}", c.detail)),
            None => Err("the receipt does not verify".into()),
        }
    }

    /// A certificate (JSON and PDF) for the file of SHA-256 `digest`: valid
    /// under the trust roots and policy, for this file, and the PDF carries
    /// exactly this JSON.
    pub fn check_certificate(
        &self,
        json: &[u8],
        pdf: &[u8],
        digest: &[u8; 32],
    ) -> Result<(), String> {
        let report = self.verifier.verify_certificate(json, Some(digest));
        if !report.valid {
            return Err(match report.first_failure() {
                Some(c) => format!("the certificate does not verify: {}", c.detail),
                None => "the certificate does not verify: not witnessed".into(),
            });
        }
        let attached = notarium_pdf::extract_certificate_json(pdf)
            .map_err(|e| format!("the certificate PDF: {e}"))?;
        if attached != json {
            return Err("the certificate PDF does not carry the certificate JSON".into());
        }
        Ok(())
    }
}

/// The outcome for one file.
#[derive(Debug, Clone)]
pub struct FileResult {
    pub path: PathBuf,
    pub sha256: String,
    pub id: Option<String>,
    /// Saved certificate JSON and PDF.
    pub certificate: Option<(PathBuf, PathBuf)>,
    pub error: Option<String>,
}

/// Every regular file under `inputs` (directories recursively), sorted.
pub fn collect_files(inputs: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        let meta = std::fs::metadata(p)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
        if meta.is_dir() {
            let mut stack = vec![p.clone()];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d)? {
                    let e = e?;
                    let t = e.file_type()?;
                    if t.is_dir() {
                        stack.push(e.path());
                    } else if t.is_file() || t.is_symlink() {
                        // A symbolic link is notarized as the file it names
                        // (not followed into directories: no loops). A broken
                        // one is reported for that file when it is hashed.
                        if !(t.is_symlink() && e.path().is_dir()) {
                            out.push(e.path());
                        }
                    }
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// SHA-256 of a file, streamed; `progress` advances by the bytes read.
pub fn hash_file(path: &Path, progress: &ProgressBar) -> std::io::Result<[u8; 32]> {
    let mut f = std::fs::File::open(path)?;
    notarium_core::merkle::sha256_stream(|b| f.read(b), |n| progress.inc(n))
}

fn media_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("txt") | Some("md") => "text/plain",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("csv") => "text/csv",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

fn bar(total: u64, quiet: bool, template: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(total);
    b.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b
}

/// A failed request as the client reports it: a TLS refusal apart (it is
/// not retried), anything else with its causes.
fn network(e: reqwest::Error) -> CallError {
    let chain = crate::tls::error_chain(&e);
    match crate::tls::tls_problem(&e) {
        Some(t) => CallError::Tls(crate::tls::describe_tls(&t)),
        // hyper's connector may hide the rustls error behind a box: its
        // text still says what failed.
        None if chain.contains("invalid peer certificate") => CallError::Tls(format!(
            "the server's TLS certificate is not accepted ({}): it is not signed by a CA this client trusts (the system's roots and --ca), or it does not name this host, or it has expired",
            chain
                .rsplit("invalid peer certificate: ")
                .next()
                .unwrap_or(&chain)
        )),
        None => CallError::Network(chain),
    }
}

/// A fresh `Idempotency-Key`: 128 random bits, hex (a bare key).
fn idempotency_key() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("the operating system's random source");
    format!("notarium-submit-{}", hex::encode(bytes))
}

/// An HTTP client for the notary API.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    server: String,
    key: String,
}

#[derive(Debug)]
pub enum CallError {
    /// The request may or may not have reached the notary.
    Network(String),
    /// The TLS handshake failed (an untrusted certificate, say): retrying
    /// cannot help.
    Tls(String),
    /// The notary answered with an error.
    Api {
        status: u16,
        code: String,
        message: String,
    },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Network(e) => write!(f, "network: {e}"),
            CallError::Tls(e) => write!(f, "TLS: {e}"),
            CallError::Api {
                status,
                code,
                message,
            } => write!(f, "notary answered {status} {code}: {message}"),
        }
    }
}

impl Client {
    /// A client of the notary at `server`; an `https://` one must present
    /// a certificate the system's roots or one of `ca` sign.
    pub fn new(server: &str, key: &str, ca: &[reqwest::Certificate]) -> Self {
        notarium_http::tls::install_default_provider();
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .tls_certs_merge(ca.iter().cloned())
                .build()
                .expect("HTTP client"),
            server: server.trim_end_matches('/').to_string(),
            key: key.to_string(),
        }
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, CallError> {
        let resp = req.bearer_auth(&self.key).send().await.map_err(network)?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        Err(CallError::Api {
            status,
            code: body["error"]["code"]
                .as_str()
                .unwrap_or("unknown")
                .to_string(),
            message: body["error"]["message"].as_str().unwrap_or("").to_string(),
        })
    }

    async fn json(&self, req: reqwest::RequestBuilder) -> Result<Value, CallError> {
        self.call(req).await?.json().await.map_err(network)
    }

    /// Whether the notary answers (`/healthz`), before any file is read:
    /// an unreachable server or a refused certificate is said once.
    pub async fn reachable(&self) -> Result<(), CallError> {
        self.http
            .get(format!("{}/healthz", self.server))
            .send()
            .await
            .map_err(network)?
            .error_for_status()
            .map_err(network)?;
        Ok(())
    }

    /// Submits items (`{"sha256", "metadata"}`); returns one accepted
    /// response per item. Every attempt carries the same `Idempotency-Key`
    /// (random, one per call) and the same body bytes, so a retry after a
    /// lost answer gets the first answer, receipts included, and stores
    /// nothing twice (contract §9). Network failures, 429 and 503 are
    /// retried up to `tries` times.
    pub async fn submit(&self, items: &[Value], tries: u32) -> Result<Vec<Value>, CallError> {
        let key = idempotency_key();
        let (url, body) = if items.len() == 1 {
            (format!("{}/v1/evidence", self.server), items[0].to_string())
        } else {
            (
                format!("{}/v1/evidence:batch", self.server),
                json!({ "items": items }).to_string(),
            )
        };
        let mut last = None;
        for attempt in 0..tries.max(1) {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 << attempt.min(4))).await;
            }
            let req = self
                .http
                .post(&url)
                .header("Idempotency-Key", &key)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
            match self.json(req).await {
                Ok(v) if items.len() == 1 => return Ok(vec![v]),
                Ok(v) => return Ok(v["items"].as_array().cloned().unwrap_or_default()),
                Err(CallError::Network(e)) => last = Some(CallError::Network(e)),
                Err(CallError::Api {
                    status,
                    code,
                    message,
                }) if status == 503 || status == 429 => {
                    last = Some(CallError::Api {
                        status,
                        code,
                        message,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| CallError::Network("no attempt made".into())))
    }

    pub async fn status(&self, id: &str) -> Result<Value, CallError> {
        self.json(self.http.get(format!("{}/v1/evidence/{id}", self.server)))
            .await
    }

    pub async fn certificate(&self, id: &str, kind: &str) -> Result<Vec<u8>, CallError> {
        let resp = self
            .call(self.http.get(format!(
                "{}/v1/evidence/{id}/certificate.{kind}",
                self.server
            )))
            .await?;
        resp.bytes().await.map(|b| b.to_vec()).map_err(network)
    }
}

/// Submits `files`, waits, saves certificates. Per-file errors are reported
/// in the results; the rest go on.
pub async fn submit_files(files: &[PathBuf], opts: &SubmitOptions) -> Vec<FileResult> {
    let client = Client::new(&opts.server, &opts.key, &opts.ca);
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let hashing = bar(
        total,
        opts.quiet,
        "hashing  {bar:40} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
    );
    let mut results: Vec<FileResult> = Vec::with_capacity(files.len());
    let mut items = Vec::new();
    for f in files {
        hashing.set_message(
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let mut r = FileResult {
            path: f.clone(),
            sha256: String::new(),
            id: None,
            certificate: None,
            error: None,
        };
        match hash_file(f, &hashing) {
            Ok(d) => {
                r.sha256 = hex::encode(d);
                let mut meta = serde_json::Map::new();
                if let Some(name) = f.file_name() {
                    meta.insert("file_name".into(), name.to_string_lossy().into());
                }
                meta.insert(
                    "size".into(),
                    std::fs::metadata(f).map(|m| m.len()).unwrap_or(0).into(),
                );
                meta.insert("media_type".into(), media_type(f).into());
                if let Some(extra) = &opts.metadata {
                    meta.extend(extra.clone());
                }
                items.push((results.len(), json!({"sha256": r.sha256, "metadata": meta})));
            }
            Err(e) => r.error = Some(format!("cannot read: {e}")),
        }
        results.push(r);
    }
    hashing.finish_and_clear();

    for chunk in items.chunks(1000) {
        let body: Vec<Value> = chunk.iter().map(|(_, v)| v.clone()).collect();
        match client.submit(&body, 5).await {
            Ok(accepted) => {
                for ((i, item), a) in chunk.iter().zip(accepted) {
                    let r = &mut results[*i];
                    r.id = a["id"].as_str().map(str::to_string);
                    if let Some(trust) = &opts.trust
                        && let Err(e) = trust.check_receipt(item, &a)
                    {
                        // Nothing of it is saved, and its certificate is
                        // not waited for.
                        r.error = Some(format!(
                            "receipt refused (id {}; nothing saved): {e}",
                            r.id.as_deref().unwrap_or("?")
                        ));
                        continue;
                    }
                    if !opts.quiet {
                        println!(
                            "received  {}  id {}  at {}",
                            r.path.display(),
                            r.id.as_deref().unwrap_or("?"),
                            a["received_at"].as_str().unwrap_or("?"),
                        );
                    }
                    if let (Some(id), Some(receipt)) = (&r.id, a["receipt"].as_str()) {
                        let _ = std::fs::create_dir_all(&opts.out);
                        let _ = std::fs::write(opts.out.join(format!("{id}.receipt")), receipt);
                        if let Some(entry) = a["entry"].as_str() {
                            let _ = std::fs::write(opts.out.join(format!("{id}.entry")), entry);
                        }
                    }
                }
            }
            Err(e) => {
                for (i, _) in chunk {
                    results[*i].error = Some(format!("submission failed: {e}"));
                }
            }
        }
    }

    let waiting: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].id.is_some() && results[i].error.is_none())
        .collect();
    let progress = bar(
        waiting.len() as u64,
        opts.quiet,
        "final    {bar:40} {pos}/{len} witnessed {elapsed}",
    );
    // Certificates are saved under the file's name; files that share a name
    // (in different folders) get the entry id too, so none overwrites another.
    let mut names = std::collections::HashMap::<std::ffi::OsString, u32>::new();
    for r in &results {
        *names
            .entry(r.path.file_name().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    let deadline = Instant::now() + opts.wait;
    let mut left = waiting;
    while !left.is_empty() {
        let mut still = Vec::new();
        for i in left {
            let id = results[i].id.clone().expect("waiting entries have ids");
            match client.status(&id).await {
                Ok(s) if s["status"] == "final" => {
                    progress.inc(1);
                    let shared = names[results[i].path.file_name().unwrap_or_default()] > 1;
                    let trust = opts.trust.as_ref();
                    if let Err(e) =
                        save(&client, &id, &mut results[i], &opts.out, shared, trust).await
                    {
                        results[i].error = Some(e);
                    }
                }
                Ok(_) | Err(CallError::Network(_)) => still.push(i),
                Err(e) => results[i].error = Some(e.to_string()),
            }
        }
        left = still;
        if left.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            for i in left {
                results[i].error = Some(format!(
                    "not final within {} s (it will be: fetch it later with its id)",
                    opts.wait.as_secs()
                ));
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    progress.finish_and_clear();
    results
}

async fn save(
    client: &Client,
    id: &str,
    r: &mut FileResult,
    out: &Path,
    shared_name: bool,
    trust: Option<&Trust>,
) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let stem = match r.path.file_name() {
        Some(n) if shared_name => format!("{}.{id}", n.to_string_lossy()),
        Some(n) => n.to_string_lossy().into_owned(),
        None => id.to_string(),
    };
    let json = client
        .certificate(id, "json")
        .await
        .map_err(|e| e.to_string())?;
    let pdf = client
        .certificate(id, "pdf")
        .await
        .map_err(|e| e.to_string())?;
    if let Some(trust) = trust {
        let digest: [u8; 32] = hex::decode(&r.sha256)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the file's digest")?;
        trust
            .check_certificate(&json, &pdf, &digest)
            .map_err(|e| format!("certificate refused (id {id}; not saved): {e}"))?;
    }
    let (jp, pp) = (
        out.join(format!("{stem}.certificate.json")),
        out.join(format!("{stem}.certificate.pdf")),
    );
    std::fs::write(&jp, json).map_err(|e| format!("{}: {e}", jp.display()))?;
    std::fs::write(&pp, pdf).map_err(|e| format!("{}: {e}", pp.display()))?;
    r.certificate = Some((jp, pp));
    Ok(())
}
