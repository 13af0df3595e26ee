//! The witness rules of C2SP tlog-witness `add-checkpoint`, over any
//! [`WitnessState`]. Every check carries a `// SPEC:` comment quoting the
//! sentence of c2sp.org/tlog-witness it implements.

use crate::protocol::AddCheckpoint;
use crate::state::{Cosigned, Decision, Evidence, EvidenceKind, StoreError, View, WitnessState};
use notarium_core::checkpoint::{Checkpoint, is_notary_signature_by, verify_notary_signature};
use notarium_core::identity::VerifyingKey;
use notarium_core::identity::seconds_text;
use notarium_core::identity::{CertInfo, Role};
use notarium_core::merkle::{EMPTY_TREE_ROOT, hashes_equal, verify_consistency};
use notarium_core::note::{Note, NoteSignature};
use notarium_log::SigningKey;
use notarium_log::sign::cosign;
use std::collections::HashMap;
use std::sync::Arc;

/// Who the witness is: its certificate's CN and OU, and its key.
#[derive(Debug)]
pub struct Identity {
    /// The certificate's subject CN: the key name of its cosignature lines.
    pub name: String,
    /// `court` or `arbitration`.
    pub role: Role,
    pub key: SigningKey,
    pub certificate: CertInfo,
}

impl Identity {
    /// Contract §3: the cosignature key ID.
    pub fn key_id(&self) -> [u8; 4] {
        notarium_core::cosignature::cosignature_key_id(self.key.public(), &self.name)
    }
}

/// A notary key the witness trusts for a log, from a notary certificate.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    pub key: VerifyingKey,
    /// The certificate subject, for messages.
    pub subject: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// The end of a rotation overlap (Unix seconds): from then on the key is
    /// refused even though its certificate may still be valid.
    pub until: Option<i64>,
}

impl TrustedKey {
    pub fn from_cert(c: &CertInfo) -> Self {
        TrustedKey {
            key: c.key.clone(),
            subject: c.subject.clone(),
            not_before: c.not_before,
            not_after: c.not_after,
            until: None,
        }
    }

    /// Trusted at `t`: within its certificate's validity and before the end
    /// of its overlap, if it has one.
    pub fn valid_at(&self, t: i64) -> bool {
        self.not_before <= t && t < self.not_after && self.until.is_none_or(|u| t < u)
    }

    /// Why it is not trusted at `t`.
    fn why_not_at(&self, t: i64) -> String {
        match self.until {
            Some(u) if t >= u && self.not_before <= t && t < self.not_after => format!(
                "the notary certificate \"{}\" was trusted until {} (the end of its rotation overlap), not at {}",
                self.subject,
                seconds_text(u),
                seconds_text(t)
            ),
            _ => format!(
                "the certificate \"{}\" is valid from {} to {}, not at {}",
                self.subject,
                seconds_text(self.not_before),
                seconds_text(self.not_after),
                seconds_text(t)
            ),
        }
    }
}

/// A log the witness witnesses.
#[derive(Clone, Debug)]
pub struct LogKeys {
    pub origin: String,
    pub keys: Vec<TrustedKey>,
}

/// The witness's clock: Unix seconds, `None` if it reads before 1970.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Option<u64>;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Option<u64> {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs())
    }
}

/// Why a request was not cosigned. The HTTP status of each is chosen in one
/// place, [`Refusal::status`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("unknown log origin \"{0}\"")]
    UnknownOrigin(String),
    #[error("no checkpoint of \"{0}\" has been cosigned yet")]
    NothingCosigned(String),
    #[error("no trusted signature: {0}")]
    Untrusted(String),
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldSizeTooLarge { old: u64, size: u64 },
    #[error("{why} (latest cosigned size: {latest})")]
    Conflict { latest: u64, why: String },
    #[error("consistency proof does not verify: {0}")]
    BadProof(String),
    #[error("witness cannot cosign now: {0}")]
    Unavailable(String),
    /// The clock reads earlier than the last cosignature: it went back, or
    /// an earlier cosignature was made while it was ahead. Cosigning would
    /// put times out of order; `notarium-witness reset-clock` recovers
    /// (docs/operations.md).
    #[error(
        "witness cannot cosign now: the witness clock ({}) is {} s behind its last cosignature ({}); it refuses to cosign until the clock is corrected, or the operator runs `notarium-witness reset-clock` (see docs/operations.md)",
        seconds_text(*clock as i64), last - clock, seconds_text(*last as i64)
    )]
    ClockBehind { clock: u64, last: u64 },
}

impl Refusal {
    /// The HTTP status that answers it (tlog-witness): the one mapping,
    /// also used where no HTTP server is built (the fuzz target).
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) | Refusal::OldSizeTooLarge { .. } => 400,
            Refusal::Untrusted(_) => 403,
            Refusal::UnknownOrigin(_) | Refusal::NothingCosigned(_) => 404,
            Refusal::Conflict { .. } => 409,
            Refusal::BadProof(_) => 422,
            Refusal::Unavailable(_) | Refusal::ClockBehind { .. } => 503,
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Unavailable(e.to_string())
    }
}

/// A durable cosignature, as add-checkpoint answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub origin: String,
    pub size: u64,
    pub cosigned_at: u64,
    /// The cosignature line (the 200 response body).
    pub line: String,
}

/// The witness: identity, the logs it witnesses, its state and clock.
#[derive(Debug)]
pub struct Witness<S> {
    identity: Arc<Identity>,
    logs: HashMap<String, LogKeys>,
    state: S,
    clock: Arc<dyn Clock>,
}

impl<S: WitnessState> Witness<S> {
    pub fn new(identity: Identity, logs: Vec<LogKeys>, state: S, clock: Arc<dyn Clock>) -> Self {
        Witness {
            identity: Arc::new(identity),
            logs: logs.into_iter().map(|l| (l.origin.clone(), l)).collect(),
            state,
            clock,
        }
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn state(&self) -> &S {
        &self.state
    }

    /// `POST <prefix>/add-checkpoint`: the cosignature line on success.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Result<Accepted, Refusal> {
        let req = AddCheckpoint::parse(body).map_err(Refusal::Malformed)?;
        let origin = req.checkpoint.origin().to_string();
        // SPEC: "If the checkpoint origin is unknown, the witness MUST respond
        // with a "404 Not Found" HTTP status code."
        let log = self
            .logs
            .get(&origin)
            .ok_or_else(|| Refusal::UnknownOrigin(origin.clone()))?;
        let now = self
            .clock
            .now()
            .ok_or_else(|| Refusal::Unavailable("the witness clock reads before 1970".into()))?;
        let trusted = trusted_signatures(log, &req.note, now as i64)?;
        // SPEC: "The old size MUST be equal to or lower than the checkpoint
        // size. Otherwise, the witness MUST respond with a "400 Bad Request"
        // HTTP status code."
        if req.old_size > req.checkpoint.size() {
            return Err(Refusal::OldSizeTooLarge {
                old: req.old_size,
                size: req.checkpoint.size(),
            });
        }
        // What the log claimed: the checkpoint with the notary signatures
        // that verified (signatures from unknown keys are not kept).
        let mut claimed =
            Note::unsigned(req.note.text()).map_err(|e| Refusal::Malformed(e.to_string()))?;
        for sig in trusted {
            claimed
                .add_signature(sig)
                .map_err(|e| Refusal::Malformed(e.to_string()))?;
        }
        let decide = Decide {
            identity: self.identity.clone(),
            clock: self.clock.clone(),
            old_size: req.old_size,
            proof: req.proof,
            checkpoint: req.checkpoint,
            claimed: claimed.to_text(),
            request: String::from_utf8_lossy(body).into_owned(),
        };
        // SPEC: "The witness MUST persist the new checkpoint before
        // responding. Note that checking the old size against the latest
        // checkpoint and persisting the new checkpoint must be performed
        // atomically". `update` runs `decide` on the state it then changes,
        // as one step, and resolves once the change is durable.
        self.state
            .update(&origin, move |view| decide.run(view))
            .await?
    }

    /// `GET <prefix>/checkpoint?origin=...`: the latest cosigned checkpoint
    /// with the notary signature(s) and the witness's cosignature.
    pub fn latest(&self, origin: &str) -> Result<Cosigned, Refusal> {
        if !self.logs.contains_key(origin) {
            return Err(Refusal::UnknownOrigin(origin.to_string()));
        }
        self.state
            .latest(origin)?
            .ok_or_else(|| Refusal::NothingCosigned(origin.to_string()))
    }
}

/// The notary signatures of `note` that verify with a key trusted for the
/// log. A signature that names a trusted key (key name = origin, key ID of the
/// key) but does not verify makes the whole note untrusted, as the Go
/// signed-note verifier does. A notary key counts only while its certificate
/// is valid (contract §1): the cosignature time is the signature's time.
fn trusted_signatures(log: &LogKeys, note: &Note, now: i64) -> Result<Vec<NoteSignature>, Refusal> {
    let mut ok = Vec::new();
    let mut outside_validity = Vec::new();
    for sig in note.signatures() {
        // SPEC: "The witness MUST verify the checkpoint signature against the
        // public key(s) it trusts for the checkpoint origin, and it MUST
        // ignore signatures from unknown keys." (Known = key name is the
        // origin and key ID is that of a trusted key.) One key may come with
        // several certificates (a certificate renewed for the same key): it
        // is trusted while any of them is.
        let certs: Vec<&TrustedKey> = log
            .keys
            .iter()
            .filter(|tk| is_notary_signature_by(sig, &log.origin, &tk.key))
            .collect();
        let mut verified: Vec<&VerifyingKey> = Vec::new();
        for tk in &certs {
            if !verified.contains(&&tk.key) {
                verify_notary_signature(note.text(), sig, &tk.key).map_err(|_| {
                    Refusal::Untrusted(format!(
                        "the signature by the key of \"{}\" does not verify",
                        tk.subject
                    ))
                })?;
                verified.push(&tk.key);
            }
        }
        if certs.iter().any(|tk| tk.valid_at(now)) {
            ok.push(sig.clone());
        } else {
            outside_validity.extend(certs.iter().map(|tk| tk.why_not_at(now)));
        }
    }
    // SPEC: "If none of the signatures verify against a trusted public key,
    // the witness MUST respond with a "403 Forbidden" HTTP status code."
    if ok.is_empty() {
        return Err(Refusal::Untrusted(if outside_validity.is_empty() {
            format!(
                "no signature by a notary key trusted for \"{}\" ({} signature(s) from unknown keys ignored)",
                log.origin,
                note.signatures().len()
            )
        } else {
            outside_validity.join("; ")
        }));
    }
    Ok(ok)
}

/// The state-dependent part of add-checkpoint, run inside the atomic update.
struct Decide {
    identity: Arc<Identity>,
    clock: Arc<dyn Clock>,
    old_size: u64,
    proof: Vec<notarium_core::merkle::Hash>,
    checkpoint: Checkpoint,
    claimed: String,
    request: String,
}

type Reply = Result<Accepted, Refusal>;

impl Decide {
    fn refuse(refusal: Refusal) -> Decision<Reply> {
        Decision::Refuse {
            evidence: None,
            reply: Err(refusal),
        }
    }

    fn evidence(&self, kind: EvidenceKind, reason: String, refusal: Refusal) -> Decision<Reply> {
        Decision::Refuse {
            evidence: Some(Evidence {
                origin: self.checkpoint.origin().to_string(),
                kind,
                received_at: self.clock.now().unwrap_or(0),
                reason,
                request: self.request.clone(),
            }),
            reply: Err(refusal),
        }
    }

    fn run(self, view: View<'_>) -> Decision<Reply> {
        let cp = &self.checkpoint;
        let (old, size) = (self.old_size, cp.size());
        let latest_size = view.latest.map_or(0, |c| c.size);
        // SPEC: "The witness MUST check that the old size matches the size of
        // the latest checkpoint it cosigned for the checkpoint's origin (or
        // zero if it never cosigned a checkpoint for that origin). If it
        // doesn't match, the witness MUST respond with a "409 Conflict" HTTP
        // status code."
        if old != latest_size {
            return Self::refuse(Refusal::Conflict {
                latest: latest_size,
                why: format!("old size {old} is not the latest cosigned size"),
            });
        }
        let old_root = view.latest.map_or(EMPTY_TREE_ROOT, |c| c.root);
        // SPEC: "If the old size matches the checkpoint size, the witness MUST
        // check that the root hashes are also identical. If they don't match,
        // the witness MUST respond with a "409 Conflict" HTTP status code."
        if old == size && !hashes_equal(&old_root, cp.root()) {
            let why = format!(
                "a checkpoint of size {size} with another root hash than the one cosigned: two histories"
            );
            return self.evidence(
                EvidenceKind::Fork,
                why.clone(),
                Refusal::Conflict {
                    latest: latest_size,
                    why,
                },
            );
        }
        // SPEC: "The consistency proof lines MUST encode a Merkle Consistency
        // Proof from the old size to the checkpoint size according to RFC
        // 6962, Section 2.1.2. The proof MUST be empty if the old size is zero.
        // If the Merkle Consistency Proof doesn't verify, the witness MUST
        // respond with a "422 Unprocessable Entity" HTTP status code."
        // (verify_consistency requires an empty proof when old is 0 or equal
        // to the size.)
        if let Err(e) = verify_consistency(old, size, &old_root, cp.root(), &self.proof) {
            let refusal = Refusal::BadProof(e.to_string());
            // SPEC: "If the origin is known, and the signature is valid, the
            // witness MAY log the request even if the consistency proof
            // doesn't verify (but MUST NOT cosign the checkpoint) as it might
            // be proof of log misbehavior."
            // Kept when it claims to extend a cosigned checkpoint (old > 0).
            if old > 0 && old < size {
                return self.evidence(
                    EvidenceKind::BadProof,
                    format!("no valid consistency proof from cosigned size {old} to {size}: {e}"),
                    refusal,
                );
            }
            return Self::refuse(refusal);
        }
        // The cosignature time is the witness's own clock, read inside the
        // atomic step so that times never go back between two cosignatures.
        let Some(now) = self.clock.now() else {
            tracing::error!("the witness clock reads before 1970; refusing to cosign");
            return Self::refuse(Refusal::Unavailable(
                "the witness clock reads before 1970".into(),
            ));
        };
        if let Some(last) = view.last_cosigned_at
            && now < last
        {
            tracing::error!(
                clock = now,
                last_cosigned_at = last,
                behind_seconds = last - now,
                "the witness clock is behind its last cosignature (the clock went back, or was ahead when it last cosigned); refusing to cosign until it catches up or `notarium-witness reset-clock` is run"
            );
            return Self::refuse(Refusal::ClockBehind { clock: now, last });
        }
        let cert = &self.identity.certificate;
        if !cert.valid_at(now as i64) {
            tracing::error!(
                not_before = cert.not_before,
                not_after = cert.not_after,
                "the witness certificate is not valid now; refusing to cosign"
            );
            return Self::refuse(Refusal::Unavailable(format!(
                "the witness certificate is valid from {} to {}, not now ({})",
                seconds_text(cert.not_before),
                seconds_text(cert.not_after),
                seconds_text(now as i64)
            )));
        }
        let cosignature = match cosign(&self.identity.key, &self.identity.name, now, cp) {
            Ok(c) => c.to_note_signature().to_line(),
            Err(e) => {
                tracing::error!(error = %e, "signing failed");
                return Self::refuse(Refusal::Unavailable(format!("signing failed: {e}")));
            }
        };
        // SPEC: "If all the checks above pass, the witness MUST update its
        // record of the latest cosigned checkpoint and respond with a "200
        // Success" HTTP status code." (The store commits before replying.)
        // SPEC: "The signatures MUST be cosignatures from the witness key(s)
        // on the checkpoint." (tlog-cosignature v1 message, contract §3.)
        Decision::Commit {
            next: Cosigned {
                origin: cp.origin().to_string(),
                size,
                root: *cp.root(),
                cosigned_at: now,
                note: self.claimed,
                cosignature: cosignature.clone(),
            },
            reply: Ok(Accepted {
                origin: cp.origin().to_string(),
                size,
                cosigned_at: now,
                line: cosignature,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MemoryState;
    use notarium_core::encoding::b64;
    use notarium_core::identity::certs_from_pem_file;
    use notarium_log::sign::SignCheckpoint;
    use notarium_log::tree::MemoryTree;
    use std::sync::atomic::{AtomicU64, Ordering};

    const ORIGIN: &str = "o.example/log";

    #[derive(Debug)]
    struct TestClock(AtomicU64);

    impl Clock for TestClock {
        fn now(&self) -> Option<u64> {
            Some(self.0.load(Ordering::SeqCst))
        }
    }

    struct Fixture {
        witness: Witness<MemoryState>,
        clock: Arc<TestClock>,
        notary: SigningKey,
        tree: MemoryTree,
    }

    /// 2030-01-01, inside the development certificates' validity.
    const T0: u64 = 1_893_456_000;

    fn fixture(notary_window: (i64, i64)) -> Fixture {
        fixture_keys(|notary| {
            vec![TrustedKey {
                key: notary.public().clone(),
                subject: "CN=o.example/log".into(),
                not_before: notary_window.0,
                not_after: notary_window.1,
                until: None,
            }]
        })
    }

    /// A witness trusting the keys `keys` makes from the notary key.
    fn fixture_keys(keys: impl FnOnce(&SigningKey) -> Vec<TrustedKey>) -> Fixture {
        let cert = certs_from_pem_file(include_str!("../../../certs/court.pem"))
            .unwrap()
            .remove(0);
        let key = SigningKey::from_pkcs8_pem(include_str!("../../../certs/court.key")).unwrap();
        let notary = SigningKey::from_pkcs8_der(&SigningKey::generate_pkcs8().unwrap()).unwrap();
        let clock = Arc::new(TestClock(AtomicU64::new(T0)));
        let witness = Witness::new(
            Identity {
                name: cert.common_name.clone().unwrap(),
                role: Role::Court,
                key,
                certificate: cert,
            },
            vec![LogKeys {
                origin: ORIGIN.into(),
                keys: keys(&notary),
            }],
            MemoryState::new(),
            clock.clone(),
        );
        let mut tree = MemoryTree::new();
        for i in 0..64u32 {
            tree.push_leaf_data(&i.to_be_bytes());
        }
        Fixture {
            witness,
            clock,
            notary,
            tree,
        }
    }

    impl Fixture {
        fn body(&self, old: u64, new: u64) -> String {
            let cp = Checkpoint::new(ORIGIN, new, self.tree.root_at(new).unwrap()).unwrap();
            let mut s = format!("old {old}\n");
            for h in self.tree.consistency_proof(old, new).unwrap() {
                s.push_str(&format!("{}\n", b64(&h)));
            }
            s.push('\n');
            s.push_str(&cp.signed_note(&self.notary).unwrap().to_text());
            s
        }

        fn add(&self, old: u64, new: u64) -> Result<Accepted, Refusal> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(self.witness.add_checkpoint(self.body(old, new).as_bytes()))
        }
    }

    #[test]
    fn cosigns_at_the_witness_clock_and_keeps_the_notary_signature() {
        let f = fixture((0, i64::MAX));
        let ok = f.add(0, 10).unwrap();
        assert_eq!((ok.size, ok.cosigned_at), (10, T0));
        let kept = f.witness.latest(ORIGIN).unwrap();
        assert_eq!(kept.cosignature, ok.line);
        let note = Note::parse(&kept.cosigned_note()).unwrap();
        assert_eq!(note.signatures().len(), 2);
        assert!(is_notary_signature_by(
            &note.signatures()[0],
            ORIGIN,
            f.notary.public()
        ));
    }

    #[test]
    fn a_clock_that_went_back_is_refused_and_a_clock_that_caught_up_is_not() {
        let f = fixture((0, i64::MAX));
        f.add(0, 10).unwrap();
        f.clock.0.store(T0 - 5, Ordering::SeqCst);
        let r = f.add(10, 20);
        assert_eq!(
            r,
            Err(Refusal::ClockBehind {
                clock: T0 - 5,
                last: T0
            })
        );
        assert!(r.unwrap_err().to_string().contains("5 s behind"));
        assert_eq!(f.witness.state().history(ORIGIN).len(), 1);
        // The same second as the last cosignature is fine.
        f.clock.0.store(T0, Ordering::SeqCst);
        assert_eq!(f.add(10, 20).unwrap().cosigned_at, T0);
    }

    #[test]
    fn a_notary_key_outside_its_certificate_validity_is_not_trusted() {
        let f = fixture((0, T0 as i64 - 1));
        let r = f.add(0, 10);
        assert!(
            matches!(r, Err(Refusal::Untrusted(ref m)) if m.contains("not at")),
            "{r:?}"
        );
        let f = fixture((T0 as i64 + 1, i64::MAX));
        assert!(matches!(f.add(0, 10), Err(Refusal::Untrusted(_))));
    }

    fn key(subject: &str, key: &SigningKey, until: Option<u64>) -> TrustedKey {
        TrustedKey {
            key: key.public().clone(),
            subject: subject.into(),
            not_before: 0,
            not_after: i64::MAX,
            until: until.map(|u| u as i64),
        }
    }

    #[test]
    fn an_old_notary_key_is_trusted_until_its_overlap_ends_while_serving() {
        let old = SigningKey::from_pkcs8_der(&SigningKey::generate_pkcs8().unwrap()).unwrap();
        let old_trusted = key("CN=old", &old, Some(T0 + 10));
        let mut f = fixture_keys(|new| vec![key("CN=new", new, None), old_trusted]);
        let new = std::mem::replace(&mut f.notary, old);
        // During the overlap the old key is accepted ...
        assert_eq!(f.add(0, 10).unwrap().size, 10);
        f.clock.0.store(T0 + 9, Ordering::SeqCst);
        assert_eq!(f.add(10, 12).unwrap().size, 12);
        // ... and from its end on, refused with the reason, the state
        // unchanged; the new key goes on.
        f.clock.0.store(T0 + 10, Ordering::SeqCst);
        let r = f.add(12, 20);
        assert!(
            matches!(r, Err(Refusal::Untrusted(ref m)) if m.contains("\"CN=old\" was trusted until 2030-01-01T00:00:10Z (the end of its rotation overlap), not at 2030-01-01T00:00:10Z")),
            "{r:?}"
        );
        assert_eq!(f.witness.latest(ORIGIN).unwrap().size, 12);
        f.notary = new;
        assert_eq!(f.add(12, 20).unwrap().size, 20);
    }

    #[test]
    fn a_key_with_a_renewed_certificate_is_trusted_while_either_is_valid() {
        let mut f = fixture_keys(|notary| {
            vec![
                TrustedKey {
                    not_after: T0 as i64 - 1,
                    ..key("CN=expired", notary, None)
                },
                TrustedKey {
                    not_before: T0 as i64 - 100,
                    ..key("CN=renewed", notary, None)
                },
            ]
        });
        assert_eq!(f.add(0, 10).unwrap().size, 10);
        // Another key is not trusted through either certificate.
        f.notary = SigningKey::from_pkcs8_der(&SigningKey::generate_pkcs8().unwrap()).unwrap();
        assert!(matches!(f.add(10, 20), Err(Refusal::Untrusted(_))));
    }

    #[test]
    fn a_witness_certificate_that_expired_while_serving_stops_cosigning() {
        let f = fixture((0, i64::MAX));
        f.add(0, 10).unwrap();
        // certs/court.pem expires on 2035-01-01.
        f.clock.0.store(2_082_758_400, Ordering::SeqCst); // 2036-01-01
        let r = f.add(10, 20);
        assert!(
            matches!(r, Err(Refusal::Unavailable(ref m)) if m.contains("witness certificate")),
            "{r:?}"
        );
    }

    #[test]
    fn evidence_is_kept_for_bad_proofs_and_forks_but_not_for_other_refusals() {
        let f = fixture((0, i64::MAX));
        f.add(0, 10).unwrap();
        // Stale old size: no evidence.
        assert!(matches!(
            f.add(5, 20),
            Err(Refusal::Conflict { latest: 10, .. })
        ));
        // Bad proof (the proof for 9 -> 20 presented as 10 -> 20).
        let bad = f.body(9, 20).replacen("old 9", "old 10", 1);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let r = rt.block_on(f.witness.add_checkpoint(bad.as_bytes()));
        assert!(matches!(r, Err(Refusal::BadProof(_))), "{r:?}");
        // Fork at the same size.
        let other = Checkpoint::new(ORIGIN, 10, [1; 32]).unwrap();
        let fork = format!(
            "old 10\n\n{}",
            other.signed_note(&f.notary).unwrap().to_text()
        );
        let r = rt.block_on(f.witness.add_checkpoint(fork.as_bytes()));
        assert!(
            matches!(r, Err(Refusal::Conflict { latest: 10, .. })),
            "{r:?}"
        );
        let ev = f.witness.state().evidence();
        assert_eq!(ev.len(), 2);
        assert_eq!(
            (ev[0].kind, ev[0].request.as_str()),
            (EvidenceKind::BadProof, bad.as_str())
        );
        assert_eq!(
            (ev[1].kind, ev[1].request.as_str()),
            (EvidenceKind::Fork, fork.as_str())
        );
        assert_eq!(f.witness.state().history(ORIGIN).len(), 1);
    }
}
