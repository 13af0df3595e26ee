//! Collecting cosignatures (C2SP tlog-witness client): every new checkpoint
//! is sent to every configured witness in parallel, over keep-alive
//! connections, with a deadline, and retried with backoff; on 409 the
//! client resynchronises from the size the witness reports. Every returned
//! cosignature is verified before it is kept, and a checkpoint becomes final
//! when the kept ones satisfy the policy.

use crate::config::{SignerCert, WitnessConfig};
use crate::metrics::Metrics;
use crate::store::TreeReadError;
use notarium_core::Policy;
use notarium_core::checkpoint::{Checkpoint, is_notary_signature_by};
use notarium_core::cosignature::Cosignature;
use notarium_core::encoding::b64;
use notarium_core::error::FormatError;
use notarium_core::note::{Note, NoteSignature, SIGNATURE_PREFIX};
use notarium_core::policy::Group;
use notarium_core::tlog_policy::PolicyFile;
use notarium_core::verify::DEFAULT_MAX_SKEW;
use notarium_log::TreeError;
use notarium_log::tree::Plan;
use notarium_store::{CheckpointRow, FinalCheckpoint, Store};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Per-witness state kept by the client.
#[derive(Debug, Clone)]
struct WitnessState {
    /// The witness's latest cosigned size, as far as we know.
    known_size: u64,
    failures: u32,
    next_try: Instant,
}

pub struct Witnessing {
    pub store: Arc<dyn Store>,
    pub witnesses: Vec<WitnessConfig>,
    pub policy: Policy,
    /// `trust.policy_file`: its quorum of standard witnesses must be met too.
    pub policy_file: Option<PolicyFile>,
    /// The notary's certificates: current first, then previous ones (a
    /// checkpoint signed before a key rotation carries its own).
    pub notary_certs: Vec<SignerCert>,
    pub metrics: Arc<Metrics>,
    pub timeout: Duration,
    /// The size of the last checkpoint that could not become final for want
    /// of a certificate (logged once per checkpoint, not every round).
    pub stuck: std::sync::atomic::AtomicU64,
}

/// Largest add-checkpoint response read: a cosignature line is about 150
/// bytes, and a witness answers one per key it holds. Beyond it the
/// response is dropped unread (a hostile witness streaming gigabytes costs
/// the notary these bytes, no more). The whole request, this body
/// included, is bounded in time by `limits.witness_timeout_ms`.
pub const MAX_WITNESS_RESPONSE: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
enum AskError {
    #[error("HTTP: {}", crate::tls::error_chain(.0))]
    Http(#[from] reqwest::Error),
    #[error("the witness's response is larger than {MAX_WITNESS_RESPONSE} bytes")]
    TooLarge,
    #[error("too many resynchronisations (the witness answered 409 three times in a row)")]
    Resynchronising,
    #[error("witness answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("witness reports size {0}, which this log never had; refusing to continue")]
    Ahead(u64),
    #[error("bad cosignature from the witness: {0}")]
    BadCosignature(String),
    /// The stored checkpoint does not parse (a bug: the sequencer made it).
    #[error("the stored checkpoint: {0}")]
    Checkpoint(#[from] FormatError),
    #[error("the consistency proof: {0}")]
    Plan(#[from] TreeError),
    #[error("the consistency proof: {0}")]
    Tree(#[from] TreeReadError),
}

impl Witnessing {
    /// Runs while this process leads: one task per witness, so that a slow
    /// or hostile witness delays no other. Each wakes on every new
    /// checkpoint and otherwise retries every 250 ms (a failing witness
    /// backs off up to 5 s).
    pub async fn run(self, checkpoints: watch::Receiver<u64>, shutdown: watch::Receiver<bool>) {
        // One client per witness: each trusts the system's roots plus the
        // CAs configured for it (`ca_file`, `trust.witness_ca_file`).
        notarium_http::tls::install_default_provider();
        let clients: Vec<reqwest::Client> = self
            .witnesses
            .iter()
            .map(|w| {
                reqwest::Client::builder()
                    .timeout(self.timeout)
                    .pool_idle_timeout(Duration::from_secs(90))
                    .tls_certs_merge(w.tls_cas.iter().cloned())
                    .build()
                    .expect("HTTP client")
            })
            .collect();
        let me = Arc::new(self);
        let finalizing = Arc::new(tokio::sync::Mutex::new(()));
        let tasks = clients.into_iter().enumerate().map(|(i, client)| {
            tokio::spawn(me.clone().serve(
                i,
                client,
                finalizing.clone(),
                checkpoints.clone(),
                shutdown.clone(),
            ))
        });
        futures::future::join_all(tasks).await;
    }

    /// The loop of witness `i`.
    async fn serve(
        self: Arc<Self>,
        i: usize,
        client: reqwest::Client,
        finalizing: Arc<tokio::sync::Mutex<()>>,
        mut checkpoints: watch::Receiver<u64>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let w = &self.witnesses[i];
        let mut st = WitnessState {
            known_size: 0,
            failures: 0,
            next_try: Instant::now(),
        };
        loop {
            if *shutdown.borrow() {
                return;
            }
            if self.metrics.leader.load(Ordering::Relaxed)
                && st.next_try <= Instant::now()
                && let Err(e) = self.round(&client, w, &mut st, &finalizing).await
            {
                tracing::warn!(witness = %w.name, error = %e, "witnessing round failed");
            }
            tokio::select! {
                _ = checkpoints.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Asks `w` to cosign the latest checkpoint unless it has, then
    /// finalizes it if the policy is met.
    async fn round(
        &self,
        client: &reqwest::Client,
        w: &WitnessConfig,
        st: &mut WitnessState,
        finalizing: &tokio::sync::Mutex<()>,
    ) -> anyhow::Result<()> {
        let Some(cp) = self.store.latest_checkpoint().await? else {
            return Ok(());
        };
        if let Some(f) = self.store.latest_final().await? {
            self.metrics.final_size.store(f.size, Ordering::Relaxed);
            if f.size >= cp.size {
                return Ok(());
            }
        }
        let have = self
            .store
            .cosignatures(cp.size)
            .await?
            .into_iter()
            .any(|(name, _)| name == w.name);
        if !have {
            let wm = self.metrics.witness(&w.name);
            match self.ask(client, w, &cp, st.known_size).await {
                Ok((line, cosig, size)) => {
                    st.known_size = size;
                    st.failures = 0;
                    wm.cosignatures.fetch_add(1, Ordering::Relaxed);
                    self.store
                        .add_cosignature(cp.size, &w.name, &line, cosig.timestamp)
                        .await?;
                }
                Err((e, known)) => {
                    if let Some(k) = known {
                        st.known_size = k;
                    }
                    st.failures += 1;
                    wm.failures.fetch_add(1, Ordering::Relaxed);
                    let backoff = Duration::from_millis((100u64 << st.failures.min(6)).min(5_000));
                    st.next_try = Instant::now() + backoff;
                    tracing::warn!(witness = %w.name, error = %e, retry_in_ms = backoff.as_millis() as u64, "witness did not cosign");
                    return Ok(());
                }
            }
        }
        let _one = finalizing.lock().await;
        self.finalize_if_ready(&cp).await
    }

    /// One witness, one checkpoint: add-checkpoint, resynchronising on 409.
    /// On failure, also returns the witness size learnt, if any.
    async fn ask(
        &self,
        client: &reqwest::Client,
        w: &WitnessConfig,
        cp: &CheckpointRow,
        known: u64,
    ) -> Result<(String, Cosignature, u64), (AskError, Option<u64>)> {
        let checkpoint = Note::parse(&cp.note)
            .and_then(|n| Checkpoint::parse(n.text()))
            .map_err(|e| (e.into(), None))?;
        let wm = self.metrics.witness(&w.name);
        let mut old = known.min(cp.size);
        let mut learnt = None;
        for _ in 0..3 {
            let plan = Plan::consistency(old, cp.size).map_err(|e| (e.into(), learnt))?;
            let proof = crate::store::prove(&*self.store, &plan)
                .await
                .map_err(|e| (e.into(), learnt))?;
            let mut body = format!("old {old}\n");
            for h in &proof {
                body.push_str(&b64(h));
                body.push('\n');
            }
            body.push('\n');
            body.push_str(&cp.note);
            let started = Instant::now();
            let resp = client
                .post(format!("{}/add-checkpoint", w.url))
                .body(body)
                .send()
                .await
                .map_err(|e| (e.into(), learnt))?;
            wm.latency.observe(started.elapsed());
            let status = resp.status().as_u16();
            let is_size = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/x.tlog.size"));
            let text = read_bounded(resp).await.map_err(|e| (e, learnt))?;
            match status {
                200 => {
                    let (line, cosig) =
                        pick_cosignature(&text, w, &checkpoint).map_err(|e| (e, learnt))?;
                    return Ok((line, cosig, cp.size));
                }
                // SPEC: tlog-witness: on 409 "The response body MUST consist of
                // the tree size of the latest cosigned checkpoint in decimal".
                409 if is_size => {
                    let size: u64 = text.trim_end().parse().map_err(|_| {
                        (
                            AskError::Status {
                                status,
                                body: text.clone(),
                            },
                            learnt,
                        )
                    })?;
                    if size > cp.size {
                        return Err((AskError::Ahead(size), Some(size)));
                    }
                    if size == old {
                        // Same size, other root: the witness holds a fork of ours.
                        return Err((AskError::Status { status, body: text }, learnt));
                    }
                    old = size;
                    learnt = Some(size);
                }
                _ => return Err((AskError::Status { status, body: text }, learnt)),
            }
        }
        Err((AskError::Resynchronising, learnt))
    }

    async fn finalize_if_ready(&self, cp: &CheckpointRow) -> anyhow::Result<()> {
        let lines = self.store.cosignatures(cp.size).await?;
        // The witnesses as a verifier counts them (contract §9): one party
        // per configured witness, and none dated more than the skew before
        // the checkpoint was signed (so before an entry in it was received).
        let floor = (cp.created_ms / 1000).saturating_sub(DEFAULT_MAX_SKEW as i64);
        let mut parties = Vec::new();
        let pf = self.policy_file.as_ref();
        let mut standard = vec![None; pf.map_or(0, |f| f.witnesses.len())];
        for (name, line) in &lines {
            let Some(w) = self.witnesses.iter().find(|w| &w.name == name) else {
                continue;
            };
            let sig = NoteSignature::parse_line(line.trim_end_matches('\n'))?;
            let t = Cosignature::from_note_signature(&sig)?.timestamp;
            if (t as i64) < floor {
                continue;
            }
            match (w.role, &w.vkey, pf) {
                (Some(role), _, _) => parties.push((Group::Role(role), t)),
                (None, Some(k), Some(f)) => {
                    for (i, _) in f
                        .witnesses
                        .iter()
                        .enumerate()
                        .filter(|(_, (_, v))| v.key == k.key)
                    {
                        standard[i] = Some(t);
                    }
                }
                _ => {}
            }
        }
        // The witnesses' requirements; `tsa>=k` is met by the stamping
        // task's tokens over the final checkpoint (crate::tsa::Stamping).
        let witnessed = self
            .policy
            .requirements()
            .iter()
            .filter(|r| r.group != Group::Tsa)
            .all(|r| parties.iter().filter(|(g, _)| *g == r.group).count() >= r.count);
        if !witnessed {
            return Ok(());
        }
        let quorum = pf.and_then(|f| f.quorum_time(&standard));
        if quorum.is_some_and(|q| q.satisfied_at.is_none()) {
            return Ok(());
        }
        let mut note = Note::parse(&cp.note)?;
        // Cosignatures in configuration order, so the bytes are stable.
        for w in &self.witnesses {
            if let Some((_, line)) = lines.iter().find(|(n, _)| n == &w.name) {
                let sig = NoteSignature::parse_line(line.trim_end_matches('\n'))?;
                note.add_signature(sig)?;
            }
        }
        let certificates = match self.certificates_for(&note) {
            Ok(c) => c,
            Err(why) => {
                if self.stuck.swap(cp.size, Ordering::Relaxed) != cp.size {
                    tracing::error!(size = cp.size, %why, "checkpoint cannot become final; the next checkpoint will cover its entries");
                }
                return Ok(());
            }
        };
        let now = notarium_log::clock::now().millis();
        self.store
            .finalize(&FinalCheckpoint {
                size: cp.size,
                note: note.to_text(),
                certificates,
                finalized_ms: now,
            })
            .await?;
        self.metrics.final_size.store(cp.size, Ordering::Relaxed);
        self.metrics
            .time_to_final
            .observe(Duration::from_millis((now - cp.created_ms).max(0) as u64));
        tracing::info!(size = cp.size, "checkpoint final");
        Ok(())
    }
}

impl Witnessing {
    /// The certificates a final checkpoint carries: exactly those of its
    /// signatures (with their intermediates), so that certificates issued
    /// before and after a notary key rotation or a witness certificate
    /// renewal each carry the ones that signed them, and none unused.
    fn certificates_for(&self, note: &Note) -> Result<Vec<String>, String> {
        let origin = Checkpoint::parse(note.text())
            .map_err(|e| e.to_string())?
            .origin()
            .to_string();
        let mut pems: Vec<String> = Vec::new();
        let mut add = |s: &SignerCert| {
            for p in &s.pems {
                if !pems.contains(p) {
                    pems.push(p.clone());
                }
            }
        };
        let mut earliest: Option<i64> = None;
        let mut witness_certs = Vec::new();
        for sig in note.signatures().iter().filter(|s| s.name != origin) {
            // A standard witness has no certificate: its vkey is the
            // verifier's (a policy file), not the certificate's.
            let standard = self.witnesses.iter().filter_map(|w| w.vkey.as_ref());
            if standard.into_iter().any(|k| k.is_signer_of(sig)) {
                continue;
            }
            let cosig = Cosignature::from_note_signature(sig).map_err(|e| e.to_string())?;
            let t = i64::try_from(cosig.timestamp).unwrap_or(i64::MAX);
            earliest = Some(earliest.map_or(t, |e| e.min(t)));
            let found = self
                .witnesses
                .iter()
                .filter(|w| w.name == sig.name)
                .flat_map(|w| &w.certs)
                .find(|c| cosig.is_by(&sig.name, &c.cert.key) && c.cert.valid_at(t))
                .ok_or_else(|| {
                    format!(
                        "no configured certificate of witness {} has the key of its cosignature",
                        sig.name
                    )
                })?;
            witness_certs.push(found);
        }
        let notary_sig = note
            .signatures()
            .iter()
            .find(|s| s.name == origin)
            .ok_or("the checkpoint has no notary signature")?;
        let matching = || {
            self.notary_certs
                .iter()
                .filter(|c| is_notary_signature_by(notary_sig, &origin, &c.cert.key))
        };
        let notary = matching()
            .find(|c| earliest.is_some_and(|t| c.cert.valid_at(t)))
            .or_else(|| matching().next())
            .ok_or(
                "it is signed by a notary key that is neither log.cert_file's nor in log.previous_cert_files",
            )?;
        add(notary);
        witness_certs.into_iter().for_each(add);
        Ok(pems)
    }
}

/// The response body, at most [`MAX_WITNESS_RESPONSE`] bytes (lossy UTF-8:
/// only its signature lines or decimal size are used).
async fn read_bounded(mut resp: reqwest::Response) -> Result<String, AskError> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_WITNESS_RESPONSE as u64)
    {
        return Err(AskError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > MAX_WITNESS_RESPONSE {
            return Err(AskError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Finds and verifies `w`'s cosignature in an add-checkpoint response;
/// lines from other keys are ignored (tlog-witness: "The client MUST ignore
/// any cosignatures from unknown keys").
fn pick_cosignature(
    body: &str,
    w: &WitnessConfig,
    cp: &Checkpoint,
) -> Result<(String, Cosignature), AskError> {
    for line in body.lines() {
        if !line.starts_with(SIGNATURE_PREFIX) {
            return Err(AskError::BadCosignature(format!(
                "not a signature line: {line:?}"
            )));
        }
        let Ok(sig) = NoteSignature::parse_line(line) else {
            continue;
        };
        if let Some(k) = &w.vkey {
            if !k.is_signer_of(&sig) {
                continue;
            }
            k.verify_cosignature(&sig, &cp.body())
                .map_err(AskError::BadCosignature)?;
            let cosig = Cosignature::from_note_signature(&sig)?;
            return Ok((format!("{line}\n"), cosig));
        }
        let Ok(cosig) = Cosignature::from_note_signature(&sig) else {
            continue;
        };
        // Any of the witness's configured certificates (during a renewal:
        // the old and the new one) may have signed it.
        let mine: Vec<&SignerCert> = w
            .certs
            .iter()
            .filter(|c| cosig.is_by(&w.name, &c.cert.key))
            .collect();
        let Some(first) = mine.first() else {
            continue;
        };
        cosig
            .verify(cp, &first.cert.key)
            .map_err(|_| AskError::BadCosignature("signature does not verify".into()))?;
        let t = cosig.timestamp.min(i64::MAX as u64) as i64;
        if !mine.iter().any(|c| c.cert.valid_at(t)) {
            return Err(AskError::BadCosignature(format!(
                "cosignature time {} is outside the validity of the witness certificate(s) with its key",
                cosig.timestamp
            )));
        }
        return Ok((format!("{line}\n"), cosig));
    }
    Err(AskError::BadCosignature(
        "no cosignature by this witness's key".into(),
    ))
}
