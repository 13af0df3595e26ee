//! Verification of a deposit certificate (contract §6): every check, with a
//! result and a reason a person can read.

use crate::certificate::CertificateJson;
use crate::checkpoint::{Checkpoint, is_notary_signature_by, verify_notary_signature};
use crate::cosignature::Cosignature;
use crate::encoding::{b64, hex_lower, parse_hex32};
use crate::entry::{Entry, LeafFields, Metadata, SubmitterId};
use crate::error::FormatError;
use crate::identity::{CertInfo, Chain, Role, TrustRoots};
use crate::merkle::{Hash, leaf_hash, verify_inclusion};
use crate::note::NoteSignature;
use crate::policy::Policy;
use crate::proof::TlogProof;
use crate::time::UtcMillis;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skipped,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable identifier: format, file, entry, inclusion, origin,
    /// cosignature, notary-signature, policy, certificates.
    pub id: String,
    pub status: Status,
    /// What was checked and, on failure, why it failed.
    pub detail: String,
}

/// A cosignature that verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Witnessed {
    pub role: Role,
    pub name: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`
    pub time: String,
    pub unix_time: u64,
}

/// Where the entry sits in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogPosition {
    pub origin: String,
    pub index: u64,
    pub tree_size: u64,
    /// base64, as in the checkpoint.
    pub root_hash: String,
}

/// Everything a verification found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub valid: bool,
    pub checks: Vec<Check>,
    pub evidence_sha256: Option<String>,
    pub submitter: Option<String>,
    pub received_at: Option<String>,
    pub log: Option<LogPosition>,
    pub witnesses: Vec<Witnessed>,
    /// Earliest verified cosignature time per witness role: the evidence
    /// existed no later than this.
    pub earliest_witnessed: BTreeMap<Role, String>,
}

impl Report {
    fn new() -> Self {
        Report {
            valid: false,
            checks: Vec::new(),
            evidence_sha256: None,
            submitter: None,
            received_at: None,
            log: None,
            witnesses: Vec::new(),
            earliest_witnessed: BTreeMap::new(),
        }
    }

    fn push(&mut self, id: &str, status: Status, detail: impl Into<String>) {
        self.checks.push(Check {
            id: id.to_string(),
            status,
            detail: detail.into(),
        });
    }

    fn pass(&mut self, id: &str, detail: impl Into<String>) {
        self.push(id, Status::Pass, detail);
    }

    fn fail(&mut self, id: &str, detail: impl Into<String>) {
        self.push(id, Status::Fail, detail);
    }

    fn finish(mut self) -> Self {
        self.valid =
            !self.checks.is_empty() && self.checks.iter().all(|c| c.status != Status::Fail);
        self
    }

    /// The first failed check, if any.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.status == Status::Fail)
    }
}

/// A certificate's parts, each parsed by its strict parser.
struct Parsed {
    entry: Option<Entry>,
    leaf: Vec<u8>,
    proof: TlogProof,
    checkpoint: Checkpoint,
    certs: Vec<CertInfo>,
}

/// The verifier's configuration: trust roots, the expected log origin and
/// the witness policy.
#[derive(Debug, Clone)]
pub struct Verifier {
    roots: TrustRoots,
    origin: Option<String>,
    policy: Policy,
}

impl Verifier {
    /// `origin`: the expected log origin; `None` accepts any origin that a
    /// notary certificate under the trust roots vouches for (its CN).
    pub fn new(roots: TrustRoots, origin: Option<String>, policy: Policy) -> Self {
        Verifier {
            roots,
            origin,
            policy,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Verifies a certificate JSON; with `file_sha256`, also that the
    /// evidence file is the one certified.
    pub fn verify_certificate(&self, json: &[u8], file_sha256: Option<&Hash>) -> Report {
        let mut report = Report::new();
        let (cert, parsed) = match parse_certificate(json) {
            Ok(p) => p,
            Err(e) => {
                report.fail("format", e.to_string());
                return report.finish();
            }
        };
        let entry = parsed
            .entry
            .as_ref()
            .expect("certificates carry the evidence");
        report.pass(
            "format",
            format!(
                "{}: strict JSON, tlog-proof with {} hashes, {} certificates",
                cert.format,
                parsed.proof.path.len(),
                parsed.certs.len()
            ),
        );
        report.evidence_sha256 = Some(hex_lower(&entry.evidence_sha256));
        report.submitter = Some(entry.submitter.to_string());
        report.received_at = Some(entry.received.to_text());
        match file_sha256 {
            None => report.push("file", Status::Skipped, "no evidence file given"),
            Some(d) if crate::merkle::hashes_equal(d, &entry.evidence_sha256) => {
                report.pass("file", "the file's SHA-256 equals evidence.sha256")
            }
            Some(d) => report.fail(
                "file",
                format!(
                    "the file's SHA-256 is {}, the certificate is for {}",
                    hex_lower(d),
                    hex_lower(&entry.evidence_sha256)
                ),
            ),
        }
        if entry.leaf_text().as_bytes() == parsed.leaf.as_slice() {
            report.pass(
                "entry",
                "the entry text equals the one rebuilt from the evidence (salted commitments recomputed)",
            );
        } else {
            report.fail(
                "entry",
                "the entry text differs from the one rebuilt from evidence.sha256, salt, metadata, submitter and received_at",
            );
        }
        self.verify_logged(&mut report, &parsed);
        report.finish()
    }

    /// Verifies a bare tlog-proof for an entry text, with the signer
    /// certificates given separately (PEM blocks, any layout).
    pub fn verify_tlog_proof(
        &self,
        entry_text: &[u8],
        proof_text: &str,
        certs: Vec<CertInfo>,
    ) -> Report {
        let mut report = Report::new();
        let parsed = match parse_bare(entry_text, proof_text, certs) {
            Ok(p) => p,
            Err(e) => {
                report.fail("format", e.to_string());
                return report.finish();
            }
        };
        report.pass(
            "format",
            format!(
                "tlog-proof with {} hashes, {} certificates",
                parsed.proof.path.len(),
                parsed.certs.len()
            ),
        );
        if let Ok(f) = LeafFields::parse(std::str::from_utf8(&parsed.leaf).unwrap_or_default()) {
            report.submitter = Some(f.submitter.to_string());
            report.received_at = Some(f.received.to_text());
        }
        report.push(
            "file",
            Status::Skipped,
            "a bare proof carries no salt to check a file with",
        );
        report.push(
            "entry",
            Status::Skipped,
            "a bare proof carries no evidence fields to rebuild the entry from",
        );
        self.verify_logged(&mut report, &parsed);
        report.finish()
    }

    /// Verifies a signed receipt for an entry text: the entry is in the
    /// signed group, and the group is signed by a notary certificate under
    /// the trust roots that was valid when the entry was received.
    pub fn verify_receipt(
        &self,
        receipt_text: &str,
        entry_text: &[u8],
        certs: Vec<CertInfo>,
    ) -> Report {
        let mut report = Report::new();
        let parsed = std::str::from_utf8(entry_text)
            .map_err(|_| FormatError::Entry("not UTF-8".into()))
            .and_then(LeafFields::parse)
            .and_then(|fields| Ok((fields, crate::receipt::Receipt::parse(receipt_text)?)));
        let (fields, receipt) = match parsed {
            Ok(p) => p,
            Err(e) => {
                report.fail("format", e.to_string());
                return report.finish();
            }
        };
        report.pass("format", "notarium/receipt/v1 and notarium/entry/v1");
        report.submitter = Some(fields.submitter.to_string());
        report.received_at = Some(fields.received.to_text());
        match receipt.check_entry(entry_text) {
            Ok(()) => report.pass(
                "inclusion",
                format!(
                    "the entry is item {} of a signed group of {}",
                    receipt.index, receipt.group_size
                ),
            ),
            Err(e) => report.fail("inclusion", e.to_string()),
        }
        match &self.origin {
            Some(o) if *o != receipt.origin => report.fail(
                "origin",
                format!("log origin is {}, expected {o}", receipt.origin),
            ),
            _ => report.pass("origin", format!("log origin is {}", receipt.origin)),
        }
        let sigs: Vec<&NoteSignature> = receipt.notary_signatures().collect();
        let checkpoint_like = Checkpoint::new(&receipt.origin, 0, [0; 32]).expect("origin checked");
        let intermediates: Vec<CertInfo> = certs.iter().filter(|c| c.is_ca).cloned().collect();
        let at = fields.received.unix_seconds().max(0) as u64;
        match self.check_notary(
            &sigs,
            receipt.group.text(),
            &checkpoint_like,
            &certs,
            &intermediates,
            Some(at),
        ) {
            Ok(chain) => report.pass(
                "notary-signature",
                format!(
                    "signed by notary {}, valid when the entry was received",
                    chain.name
                ),
            ),
            Err(why) => report.fail("notary-signature", why),
        }
        report.finish()
    }

    /// Checks 4-6 of contract §6 and the bundle's certificates.
    fn verify_logged(&self, report: &mut Report, p: &Parsed) {
        let cp = &p.checkpoint;
        report.log = Some(LogPosition {
            origin: cp.origin().to_string(),
            index: p.proof.index,
            tree_size: cp.size(),
            root_hash: b64(cp.root()),
        });
        match verify_inclusion(
            &leaf_hash(&p.leaf),
            p.proof.index,
            cp.size(),
            &p.proof.path,
            cp.root(),
        ) {
            Ok(()) => report.pass(
                "inclusion",
                format!(
                    "the entry is leaf {} of the {}-leaf tree with root {}",
                    p.proof.index,
                    cp.size(),
                    b64(cp.root())
                ),
            ),
            Err(e) => report.fail("inclusion", e.to_string()),
        }
        match &self.origin {
            Some(o) if o == cp.origin() => report.pass("origin", format!("log origin is {o}")),
            Some(o) => report.fail(
                "origin",
                format!("log origin is {}, expected {o}", cp.origin()),
            ),
            None => report.pass(
                "origin",
                format!(
                    "log origin {} (not pinned: any notary certificate under the trust roots may vouch for it)",
                    cp.origin()
                ),
            ),
        }

        let intermediates: Vec<CertInfo> = p.certs.iter().filter(|c| c.is_ca).cloned().collect();
        let mut used: BTreeSet<Hash> = BTreeSet::new();
        let note_text = p.proof.checkpoint.text();
        let (notary_sigs, cosig_lines): (Vec<&NoteSignature>, Vec<&NoteSignature>) = p
            .proof
            .checkpoint
            .signatures()
            .iter()
            .partition(|s| s.name == cp.origin());

        // Cosignatures first: the notary certificate is checked at the
        // earliest verified cosignature time.
        let mut witnessed: BTreeMap<Role, BTreeSet<String>> = BTreeMap::new();
        for line in &cosig_lines {
            match self.check_cosignature(line, cp, &p.certs, &intermediates) {
                Ok((chain, cosig)) => {
                    let time = UtcMillis::from_unix_seconds(cosig.timestamp)
                        .map(|t| t.to_text_seconds())
                        .unwrap_or_default();
                    report.pass(
                        "cosignature",
                        format!("{} witness {} cosigned at {time}", chain.role, chain.name),
                    );
                    used.extend(chain.certs.iter().map(|c| c.fingerprint));
                    witnessed
                        .entry(chain.role)
                        .or_default()
                        .insert(chain.name.clone());
                    report.witnesses.push(Witnessed {
                        role: chain.role,
                        name: chain.name,
                        time,
                        unix_time: cosig.timestamp,
                    });
                }
                Err(why) => report.fail("cosignature", format!("{}: {why}", line.name)),
            }
        }
        report
            .witnesses
            .sort_by_key(|w| (w.unix_time, w.role, w.name.clone()));
        for w in &report.witnesses {
            report
                .earliest_witnessed
                .entry(w.role)
                .or_insert_with(|| w.time.clone());
        }
        let earliest = report.witnesses.first().map(|w| w.unix_time);

        match self.check_notary(
            &notary_sigs,
            note_text,
            cp,
            &p.certs,
            &intermediates,
            earliest,
        ) {
            Ok(chain) => {
                used.extend(chain.certs.iter().map(|c| c.fingerprint));
                report.pass(
                    "notary-signature",
                    format!(
                        "signed by notary {} (certificate {}), valid at the earliest witnessed time",
                        chain.name,
                        hex_lower(&chain.signer().fingerprint[..8])
                    ),
                );
            }
            Err(why) => report.fail("notary-signature", why),
        }

        match self.policy.check(&witnessed) {
            Ok(()) => report.pass(
                "policy",
                format!("witness policy \"{}\" is satisfied", self.policy),
            ),
            Err(why) => report.fail(
                "policy",
                format!("witness policy \"{}\" is not satisfied: {why}", self.policy),
            ),
        }

        let unused: Vec<&CertInfo> = p
            .certs
            .iter()
            .filter(|c| !used.contains(&c.fingerprint))
            .collect();
        if unused.is_empty() {
            report.pass(
                "certificates",
                "every certificate included is used by a verified signature",
            );
        } else {
            let names: Vec<&str> = unused.iter().map(|c| c.subject.as_str()).collect();
            report.fail(
                "certificates",
                format!(
                    "certificates not used by any verified signature: {}",
                    names.join("; ")
                ),
            );
        }
    }

    fn check_cosignature(
        &self,
        line: &NoteSignature,
        cp: &Checkpoint,
        certs: &[CertInfo],
        intermediates: &[CertInfo],
    ) -> Result<(Chain, Cosignature), String> {
        let cosig = Cosignature::from_note_signature(line).map_err(|e| e.to_string())?;
        let cert = certs
            .iter()
            .find(|c| {
                !c.is_ca
                    && c.role().is_some_and(Role::is_witness)
                    && c.common_name.as_deref() == Some(line.name.as_str())
                    && cosig.is_by(&line.name, &c.key)
            })
            .ok_or_else(|| {
                format!(
                    "no witness certificate in the file has this name and key ID {}",
                    hex_lower(&line.key_id)
                )
            })?;
        let chain = self
            .roots
            .chain(cert, intermediates)
            .map_err(|e| e.to_string())?;
        chain
            .check_valid_at(cosig.timestamp.min(i64::MAX as u64) as i64)
            .map_err(|e| e.to_string())?;
        cosig.verify(cp, &cert.key).map_err(|_| {
            "the cosignature does not verify over this checkpoint and time".to_string()
        })?;
        Ok((chain, cosig))
    }

    fn check_notary(
        &self,
        sigs: &[&NoteSignature],
        text: &str,
        cp: &Checkpoint,
        certs: &[CertInfo],
        intermediates: &[CertInfo],
        earliest: Option<u64>,
    ) -> Result<Chain, String> {
        let [sig] = sigs else {
            return Err(format!(
                "expected one signature by the log {}, found {}",
                cp.origin(),
                sigs.len()
            ));
        };
        let cert = certs
            .iter()
            .find(|c| {
                !c.is_ca
                    && c.role() == Some(Role::Notary)
                    && c.common_name.as_deref() == Some(cp.origin())
                    && is_notary_signature_by(sig, cp.origin(), &c.key)
            })
            .ok_or_else(|| {
                format!(
                    "no notary certificate in the file has CN {} and key ID {}",
                    cp.origin(),
                    hex_lower(&sig.key_id)
                )
            })?;
        let chain = self
            .roots
            .chain(cert, intermediates)
            .map_err(|e| e.to_string())?;
        verify_notary_signature(text, sig, &cert.key)
            .map_err(|_| "the notary signature does not verify over the checkpoint".to_string())?;
        let at = earliest.ok_or_else(|| {
            "no verified cosignature gives a time at which to check the notary certificate"
                .to_string()
        })?;
        chain
            .check_valid_at(at.min(i64::MAX as u64) as i64)
            .map_err(|e| e.to_string())?;
        Ok(chain)
    }
}

fn parse_certificate(json: &[u8]) -> Result<(CertificateJson, Parsed), FormatError> {
    let cert = CertificateJson::from_json(json)?;
    let ev = &cert.evidence;
    let entry = Entry {
        evidence_sha256: parse_hex32("evidence.sha256", &ev.sha256)?,
        salt: parse_hex32("evidence.salt", &ev.salt)?,
        metadata: ev
            .metadata
            .as_deref()
            .map(Metadata::from_text)
            .transpose()?,
        submitter: SubmitterId::parse(&ev.submitter)?,
        received: UtcMillis::parse(&ev.received_at)?,
    };
    let certs = cert
        .certificates
        .iter()
        .enumerate()
        .map(|(i, pem)| {
            CertInfo::from_canonical_pem(pem).map_err(|e| {
                FormatError::field("certificates", format!("certificate {}: {e}", i + 1))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (i, c) in certs.iter().enumerate() {
        if certs[..i].iter().any(|d| d.fingerprint == c.fingerprint) {
            return Err(FormatError::field(
                "certificates",
                format!("certificate {} is included twice", i + 1),
            ));
        }
    }
    let mut parsed = parse_proof_parts(cert.entry.as_bytes(), &cert.proof, certs)?;
    if parsed.proof.extra.is_some() {
        return Err(FormatError::Proof(
            "v1 certificates carry no unauthenticated extra data".into(),
        ));
    }
    parsed.entry = Some(entry);
    Ok((cert, parsed))
}

fn parse_bare(
    entry_text: &[u8],
    proof_text: &str,
    certs: Vec<CertInfo>,
) -> Result<Parsed, FormatError> {
    let text =
        std::str::from_utf8(entry_text).map_err(|_| FormatError::Entry("not UTF-8".into()))?;
    LeafFields::parse(text)?;
    parse_proof_parts(entry_text, proof_text, certs)
}

fn parse_proof_parts(
    leaf: &[u8],
    proof_text: &str,
    certs: Vec<CertInfo>,
) -> Result<Parsed, FormatError> {
    let proof = TlogProof::parse(proof_text)?;
    if proof.to_text() != proof_text {
        return Err(FormatError::Proof("not in canonical form".into()));
    }
    let checkpoint = Checkpoint::parse(proof.checkpoint.text())?;
    Ok(Parsed {
        entry: None,
        leaf: leaf.to_vec(),
        proof,
        checkpoint,
        certs,
    })
}
