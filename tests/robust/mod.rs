//! Shared machinery of the robustness tests (crash, failover, flood):
//! submitters that record every acknowledged and every uncertain
//! submission, a checkpoint watcher, and the final audit of the log
//! (everything acknowledged final and verified, indices gapless, every
//! checkpoint consistent with every later one).
#![allow(dead_code)]

use crate::common::*;
use futures::StreamExt;
use notarium_core::checkpoint::{Checkpoint, is_notary_signature_by, verify_notary_signature};
use notarium_core::encoding::parse_b64_hash;
use notarium_core::identity::{CertInfo, certs_from_pem_file};
use notarium_core::merkle::{Hash, verify_consistency};
use notarium_core::note::Note;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) const ORIGIN: &str = "notarium.example/log";

/// A small deterministic generator (SplitMix64): the tests print their
/// seed, and the same seed replays the same kill moments.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi` (`hi > lo`).
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }
}

/// The seed from `var` if set (to replay a failure), else a fresh one;
/// printed either way.
pub(crate) fn seed(var: &str) -> u64 {
    let seed = match std::env::var(var) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{var}={v:?} is not a number")),
        Err(_) => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            t.as_nanos() as u64 ^ u64::from(std::process::id()) << 32
        }
    };
    println!("seed {seed} (replay with {var}={seed})");
    seed
}

/// Where a front end currently listens (it changes on restart: port 0).
#[derive(Clone, Debug)]
pub(crate) struct Target(Arc<Mutex<String>>);

impl Target {
    pub(crate) fn new(url: &str) -> Self {
        Target(Arc::new(Mutex::new(url.to_string())))
    }
    pub(crate) fn get(&self) -> String {
        self.0.lock().unwrap().clone()
    }
    pub(crate) fn set(&self, url: &str) {
        *self.0.lock().unwrap() = url.to_string();
    }
}

/// One acknowledged (202) entry.
#[derive(Clone, Debug)]
pub(crate) struct Acked {
    pub id: String,
    pub sha256: String,
    /// The API key it was submitted with (its tenant's).
    pub key: String,
}

/// What the submitters saw.
#[derive(Default, Debug)]
pub(crate) struct Ledger {
    pub acked: Mutex<Vec<Acked>>,
    /// Digests (and API keys) of submissions whose outcome is unknown (the
    /// connection broke after the request was sent): they may or may not be
    /// stored.
    pub uncertain: Mutex<Vec<(String, String)>>,
    /// Count per HTTP status.
    pub statuses: Mutex<BTreeMap<u16, u64>>,
    /// Requests that never reached a listening notary.
    pub refused: AtomicU64,
    /// Requests whose connection broke (or timed out) mid-way.
    pub broken: AtomicU64,
    /// 429/503 answers without a usable Retry-After header.
    pub missing_retry_after: AtomicU64,
    /// Slowest answer seen, in milliseconds.
    pub max_latency_ms: AtomicU64,
    /// Certificates fetched while the load ran (id → bytes): a final
    /// certificate never changes, whatever happens to the notary later.
    pub certificates: Mutex<std::collections::HashMap<String, Vec<u8>>>,
}

impl Ledger {
    pub(crate) fn acked_count(&self) -> usize {
        self.acked.lock().unwrap().len()
    }
    pub(crate) fn status_count(&self, s: u16) -> u64 {
        self.statuses.lock().unwrap().get(&s).copied().unwrap_or(0)
    }
    /// Adds everything `other` recorded to this ledger.
    pub(crate) fn absorb(&self, other: &Ledger) {
        self.acked
            .lock()
            .unwrap()
            .extend(other.acked.lock().unwrap().iter().cloned());
        self.uncertain
            .lock()
            .unwrap()
            .extend(other.uncertain.lock().unwrap().iter().cloned());
        let mut st = self.statuses.lock().unwrap();
        for (s, n) in other.statuses.lock().unwrap().iter() {
            *st.entry(*s).or_default() += n;
        }
        for (a, b) in [
            (&self.refused, &other.refused),
            (&self.broken, &other.broken),
            (&self.missing_retry_after, &other.missing_retry_after),
        ] {
            a.fetch_add(b.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.max_latency_ms.fetch_max(
            other.max_latency_ms.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        let mut certs = self.certificates.lock().unwrap();
        for (id, c) in other.certificates.lock().unwrap().iter() {
            let first = certs.entry(id.clone()).or_insert_with(|| c.clone());
            assert!(*first == *c, "two different certificates for {id}");
        }
    }
    pub(crate) fn summary(&self) -> String {
        format!(
            "acked {} uncertain {} statuses {:?} refused {} broken {} max latency {} ms",
            self.acked_count(),
            self.uncertain.lock().unwrap().len(),
            self.statuses.lock().unwrap(),
            self.refused.load(Ordering::Relaxed),
            self.broken.load(Ordering::Relaxed),
            self.max_latency_ms.load(Ordering::Relaxed),
        )
    }
    /// Every answer was 202, 429 or 503 (the only statuses a valid
    /// submission may get), and every 429/503 said when to retry.
    pub(crate) fn assert_only_expected_statuses(&self) {
        let st = self.statuses.lock().unwrap();
        for (s, n) in st.iter() {
            assert!(
                matches!(s, 202 | 429 | 503),
                "{n} valid submissions were answered {s}: {}",
                self.summary_locked(&st)
            );
        }
        assert_eq!(
            self.missing_retry_after.load(Ordering::Relaxed),
            0,
            "429/503 without Retry-After"
        );
    }
    fn summary_locked(&self, st: &BTreeMap<u16, u64>) -> String {
        format!(
            "acked {} statuses {st:?}",
            self.acked.lock().map(|a| a.len()).unwrap_or(0)
        )
    }
}

pub(crate) fn hex_digest(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub(crate) fn timed_client(timeout: Duration) -> reqwest::Client {
    http_builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

/// The outcome of one submission request.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// 202 with these ids (in item order).
    Accepted(Vec<String>),
    /// Any other HTTP status.
    Status(u16),
    /// No notary listening.
    Refused,
    /// Sent, but no complete answer.
    Broken,
}

/// Posts `digests` (one: `/v1/evidence`; more: `/v1/evidence:batch`) and
/// records the outcome in `ledger`.
pub(crate) async fn submit(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    digests: &[String],
    ledger: &Ledger,
) -> Outcome {
    submit_body(
        http,
        url,
        key,
        &submission_body(digests, 0),
        digests,
        ledger,
    )
    .await
}

/// The request body for `digests`, with `pad` bytes of metadata per item
/// when there are several.
pub(crate) fn submission_body(digests: &[String], pad: usize) -> String {
    if digests.len() == 1 {
        json!({"sha256": digests[0]}).to_string()
    } else {
        json!({"items": digests.iter().map(|d| json!({"sha256": d, "metadata": {"n": d[..8], "note": "x".repeat(pad)}})).collect::<Vec<_>>()}).to_string()
    }
}

/// Posts a prepared `body` for `digests` and records the outcome.
pub(crate) async fn submit_body(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    body: &str,
    digests: &[String],
    ledger: &Ledger,
) -> Outcome {
    let path = if digests.len() == 1 {
        "/v1/evidence"
    } else {
        "/v1/evidence:batch"
    };
    let started = Instant::now();
    let sent = http
        .post(format!("{url}{path}"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    let outcome = match sent {
        Err(e) if e.is_connect() => {
            ledger.refused.fetch_add(1, Ordering::Relaxed);
            return Outcome::Refused;
        }
        Err(_) => Outcome::Broken,
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            match resp.bytes().await {
                Err(_) => Outcome::Broken,
                Ok(body) => {
                    *ledger.statuses.lock().unwrap().entry(status).or_default() += 1;
                    if matches!(status, 429 | 503) && retry_after.is_none() {
                        ledger.missing_retry_after.fetch_add(1, Ordering::Relaxed);
                    }
                    if status == 202 {
                        let v: Value = serde_json::from_slice(&body).expect("202 body is JSON");
                        let ids: Vec<String> = if digests.len() == 1 {
                            vec![v["id"].as_str().expect("id").to_string()]
                        } else {
                            v["items"]
                                .as_array()
                                .expect("items")
                                .iter()
                                .map(|i| i["id"].as_str().expect("id").to_string())
                                .collect()
                        };
                        assert_eq!(ids.len(), digests.len(), "one answer per item: {v}");
                        Outcome::Accepted(ids)
                    } else {
                        Outcome::Status(status)
                    }
                }
            }
        }
    };
    ledger
        .max_latency_ms
        .fetch_max(started.elapsed().as_millis() as u64, Ordering::Relaxed);
    match &outcome {
        Outcome::Accepted(ids) => {
            let mut acked = ledger.acked.lock().unwrap();
            for (id, d) in ids.iter().zip(digests) {
                acked.push(Acked {
                    id: id.clone(),
                    sha256: d.clone(),
                    key: key.to_string(),
                });
            }
        }
        Outcome::Broken => {
            ledger.broken.fetch_add(1, Ordering::Relaxed);
            ledger
                .uncertain
                .lock()
                .unwrap()
                .extend(digests.iter().map(|d| (d.clone(), key.to_string())));
        }
        _ => {}
    }
    outcome
}

/// A submitter task: until `stop`, posts single submissions and batches
/// (2 to `max_batch` items) of fresh digests to `target`, one every `pace`
/// (which keeps the counts modest); pauses briefly when the notary is down
/// or asks to retry.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn submitter(
    tag: String,
    target: Target,
    key: String,
    ledger: Arc<Ledger>,
    stop: Arc<AtomicBool>,
    seed: u64,
    max_batch: u64,
    pace: Duration,
) {
    let http = timed_client(Duration::from_secs(10));
    let mut rng = Rng::new(seed);
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let k = if rng.range(0, 3) == 0 {
            rng.range(2, max_batch + 1)
        } else {
            1
        };
        let digests: Vec<String> = (0..k)
            .map(|_| {
                n += 1;
                hex_digest(format!("{tag}/{seed}/{n}").as_bytes())
            })
            .collect();
        match submit(&http, &target.get(), &key, &digests, &ledger).await {
            Outcome::Accepted(_) => tokio::time::sleep(pace).await,
            Outcome::Status(_) | Outcome::Refused | Outcome::Broken => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Until `stop`, fetches the certificates of a few random acknowledged
/// entries every 200 ms from one of `targets`; keeps the first copy of each
/// and checks any later copy against it.
pub(crate) async fn snapshot_certificates(
    targets: Vec<Target>,
    ledger: Arc<Ledger>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let http = timed_client(Duration::from_secs(5));
    let mut rng = Rng::new(seed);
    while !stop.load(Ordering::Relaxed) {
        let picks: Vec<Acked> = {
            let acked = ledger.acked.lock().unwrap();
            if acked.is_empty() {
                Vec::new()
            } else {
                (0..4)
                    .map(|_| acked[rng.range(0, acked.len() as u64) as usize].clone())
                    .collect()
            }
        };
        for a in picks {
            let url = targets[rng.range(0, targets.len() as u64) as usize].get();
            let Ok(resp) = http
                .get(format!("{url}/v1/evidence/{}/certificate.json", a.id))
                .bearer_auth(&a.key)
                .send()
                .await
            else {
                continue;
            };
            if resp.status().as_u16() != 200 {
                continue;
            }
            let Ok(body) = resp.bytes().await else {
                continue;
            };
            let mut certs = ledger.certificates.lock().unwrap();
            let first = certs.entry(a.id.clone()).or_insert_with(|| body.to_vec());
            assert!(
                *first == body,
                "the certificate of {} changed while the notary ran",
                a.id
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Checkpoints seen, by size; a second root for a size is a fork.
#[derive(Default, Debug)]
pub(crate) struct Checkpoints {
    pub by_size: Mutex<BTreeMap<u64, Hash>>,
    pub forks: Mutex<Vec<String>>,
    pub polls: AtomicU64,
}

impl Checkpoints {
    pub(crate) fn add(&self, size: u64, root: Hash, from: &str) {
        let mut m = self.by_size.lock().unwrap();
        match m.get(&size) {
            Some(r) if *r != root => self.forks.lock().unwrap().push(format!(
                "size {size}: root {} and {} ({from})",
                hex::encode(r),
                hex::encode(root)
            )),
            Some(_) => {}
            None => {
                m.insert(size, root);
            }
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.by_size.lock().unwrap().len()
    }
}

pub(crate) fn notary_cert() -> CertInfo {
    certs_from_pem_file(&std::fs::read_to_string(cert("notary.pem")).unwrap())
        .unwrap()
        .remove(0)
}

/// Parses a final checkpoint note: the notary's signature must verify and
/// it must carry at least two more (the cosignatures). Returns size, root.
pub(crate) fn parse_final_note(text: &str, notary: &CertInfo) -> (u64, Hash) {
    let note = Note::parse(text).unwrap_or_else(|e| panic!("checkpoint note: {e}: {text}"));
    let cp = Checkpoint::parse(note.text()).unwrap();
    assert_eq!(cp.origin(), ORIGIN);
    let sig = note
        .signatures()
        .iter()
        .find(|s| is_notary_signature_by(s, ORIGIN, &notary.key))
        .unwrap_or_else(|| panic!("no notary signature: {text}"));
    verify_notary_signature(note.text(), sig, &notary.key)
        .unwrap_or_else(|e| panic!("notary signature does not verify: {e}: {text}"));
    assert!(
        note.signatures().len() >= 3,
        "a final checkpoint carries the notary's signature and two cosignatures: {text}"
    );
    (cp.size(), *cp.root())
}

/// Polls `GET /v1/checkpoint` of every target until `stop`, recording
/// every checkpoint seen.
pub(crate) async fn watch_checkpoints(
    targets: Vec<Target>,
    seen: Arc<Checkpoints>,
    stop: Arc<AtomicBool>,
) {
    let http = timed_client(Duration::from_secs(5));
    let notary = notary_cert();
    while !stop.load(Ordering::Relaxed) {
        for t in &targets {
            let url = t.get();
            let Ok(resp) = http.get(format!("{url}/v1/checkpoint")).send().await else {
                continue;
            };
            if resp.status().as_u16() != 200 {
                continue;
            }
            let Ok(text) = resp.text().await else {
                continue;
            };
            let (size, root) = parse_final_note(&text, &notary);
            seen.add(size, root, "GET /v1/checkpoint");
            seen.polls.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A metric's value from a Prometheus text exposition.
pub(crate) fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

pub(crate) async fn metrics(http: &reqwest::Client, url: &str) -> Option<String> {
    let r = http
        .get(format!("{url}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .ok()?;
    r.text().await.ok()
}

/// The latest final checkpoint's size and root, if any.
pub(crate) async fn latest_final(http: &reqwest::Client, url: &str) -> Option<(u64, Hash)> {
    let r = http.get(format!("{url}/v1/checkpoint")).send().await.ok()?;
    if r.status().as_u16() != 200 {
        return None;
    }
    Some(parse_final_note(&r.text().await.ok()?, &notary_cert()))
}

/// What the audit found.
#[derive(Debug)]
pub(crate) struct Audit {
    pub log_size: u64,
    pub acked: usize,
    pub uncertain_stored: usize,
    pub checkpoints: usize,
    pub pairs: usize,
    /// Certificates fetched during the load and found byte-identical.
    pub stable_certificates: usize,
}

/// Waits (up to `deadline`) until the leader at `url` has nothing in its
/// intake (a submission whose client gave up may still be committed) and
/// nothing pending, and its latest final checkpoint covers the whole log;
/// returns the size.
pub(crate) async fn wait_all_final(http: &reqwest::Client, url: &str, deadline: Duration) -> u64 {
    eventually("the whole log final", deadline, || async {
        let m = metrics(http, url).await?;
        if metric(&m, "notarium_sequencer_leader")? != 1.0
            || metric(&m, "notarium_intake_entries{state=\"queued\"}")? != 0.0
            || metric(&m, "notarium_intake_entries{state=\"committing\"}")? != 0.0
            || metric(&m, "notarium_pending_entries")? != 0.0
        {
            return None;
        }
        let size = metric(&m, "notarium_log_size")? as u64;
        let (fin, _) = latest_final(http, url).await?;
        (size > 0 && fin == size).then_some(size)
    })
    .await
}

/// The final audit, against the front end at `url` (which must be the
/// sequencer) once submissions stopped.
pub(crate) async fn audit(url: &str, ledger: &Ledger, seen: &Checkpoints) -> Audit {
    let http = timed_client(Duration::from_secs(30));
    let started = Instant::now();
    let log_size = wait_all_final(&http, url, Duration::from_secs(60)).await;
    println!(
        "log size {log_size}, all final {:.1} s after the load stopped",
        started.elapsed().as_secs_f64()
    );
    let (fin_size, fin_root) = latest_final(&http, url).await.unwrap();
    seen.add(fin_size, fin_root, "final");

    let acked = ledger.acked.lock().unwrap().clone();
    let ids: BTreeSet<&str> = acked.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), acked.len(), "an id was acknowledged twice");
    let verifier = verifier();

    // Every acknowledged entry: present, final, with a certificate that
    // verifies against its digest; its index and checkpoint recorded.
    let results: Vec<(u64, u64, Hash)> = futures::stream::iter(acked.iter().cloned())
        .map(|a| {
            let (http, verifier) = (&http, &verifier);
            async move {
                let resp = http
                    .get(format!("{url}/v1/evidence/{}", a.id))
                    .bearer_auth(&a.key)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    resp.status().as_u16(),
                    200,
                    "acknowledged entry {} is missing",
                    a.id
                );
                let v: Value = resp.json().await.unwrap();
                assert_eq!(v["status"], "final", "acknowledged entry not final: {v}");
                assert_eq!(v["sha256"], a.sha256.as_str(), "{v}");
                let index = v["index"].as_u64().unwrap();
                let resp = http
                    .get(format!("{url}/v1/evidence/{}/certificate.json", a.id))
                    .bearer_auth(&a.key)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status().as_u16(), 200, "certificate of {}", a.id);
                let body = resp.bytes().await.unwrap();
                if let Some(earlier) = ledger.certificates.lock().unwrap().get(&a.id) {
                    assert!(
                        *earlier == body,
                        "the certificate of {} changed after it was first served",
                        a.id
                    );
                }
                let digest: Hash = hex::decode(&a.sha256).unwrap().try_into().unwrap();
                let report = verifier.verify_certificate(&body, Some(&digest));
                assert!(
                    report.valid,
                    "certificate of {} does not verify: {:?}",
                    a.id,
                    report.first_failure()
                );
                let log = report.log.expect("a valid report names the log position");
                assert_eq!(log.index, index, "certificate index vs status index");
                assert_eq!(v["tree_size"].as_u64(), Some(log.tree_size));
                (
                    index,
                    log.tree_size,
                    parse_b64_hash("root", &log.root_hash).unwrap(),
                )
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut indices: Vec<u64> = Vec::with_capacity(results.len());
    for (index, size, root) in results {
        indices.push(index);
        seen.add(size, root, "certificate");
    }

    // Submissions whose answer was lost may be stored: find them by digest.
    let uncertain = ledger.uncertain.lock().unwrap().clone();
    let found: Vec<Option<u64>> = futures::stream::iter(uncertain.iter().cloned())
        .map(|(d, key)| {
            let http = &http;
            async move {
                let v = get_json(http, &format!("{url}/v1/evidence?sha256={d}"), &key).await;
                let items = v["items"].as_array().unwrap();
                assert!(items.len() <= 1, "digest {d} stored twice: {v}");
                items.first().map(|i| {
                    assert_eq!(i["status"], "final", "{i}");
                    i["index"].as_u64().unwrap()
                })
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let uncertain_stored = found.iter().flatten().count();
    indices.extend(found.into_iter().flatten());

    // Gapless, no duplicates: every index 0..n is exactly one of ours.
    indices.sort_unstable();
    let dups = indices.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(dups, 0, "{dups} log indices are used twice");
    let expected: Vec<u64> = (0..log_size).collect();
    if indices != expected {
        let have: BTreeSet<u64> = indices.iter().copied().collect();
        let missing: Vec<u64> = (0..log_size)
            .filter(|i| !have.contains(i))
            .take(10)
            .collect();
        let beyond: Vec<u64> = indices
            .iter()
            .copied()
            .filter(|&i| i >= log_size)
            .take(10)
            .collect();
        panic!(
            "indices are not exactly 0..{log_size}: {} known, first missing {missing:?}, beyond the log {beyond:?}",
            indices.len()
        );
    }

    // No fork, and every checkpoint is consistent with every later one.
    let forks = seen.forks.lock().unwrap().clone();
    assert!(forks.is_empty(), "forked checkpoints: {forks:?}");
    let cps: Vec<(u64, Hash)> = seen
        .by_size
        .lock()
        .unwrap()
        .iter()
        .map(|(s, r)| (*s, *r))
        .collect();
    assert!(cps.iter().all(|(s, _)| *s <= log_size));
    let pairs: Vec<((u64, Hash), (u64, Hash))> = cps
        .iter()
        .enumerate()
        .flat_map(|(i, a)| cps[i + 1..].iter().map(move |b| (*a, *b)))
        .collect();
    let checked = futures::stream::iter(pairs)
        .map(|((old, old_root), (new, new_root))| {
            let http = &http;
            async move {
                let v: Value = http
                    .get(format!("{url}/v1/proof/consistency?old={old}&new={new}"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let proof: Vec<Hash> = v["hashes"]
                    .as_array()
                    .unwrap_or_else(|| panic!("consistency {old} -> {new}: {v}"))
                    .iter()
                    .map(|h| parse_b64_hash("h", h.as_str().unwrap()).unwrap())
                    .collect();
                verify_consistency(old, new, &old_root, &new_root, &proof).unwrap_or_else(|e| {
                    panic!("checkpoint {old} is not consistent with checkpoint {new}: {e}")
                });
            }
        })
        .buffer_unordered(8)
        .count()
        .await;
    let audit = Audit {
        log_size,
        acked: acked.len(),
        uncertain_stored,
        checkpoints: cps.len(),
        pairs: checked,
        stable_certificates: ledger.certificates.lock().unwrap().len(),
    };
    println!(
        "audit: {audit:?} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    audit
}

/// VmRSS of a process, in kB.
pub(crate) fn rss_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}
