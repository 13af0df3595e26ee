//! Verification of a deposit certificate, a bare tlog-proof or a receipt
//! (contract §6, §9): every check, with a result and a reason a person can
//! read, and the one witnessed time that the CLI, the judge's page and the
//! PDF all print.

use crate::certificate::{CertificateJson, MAX_CERTIFICATES};
use crate::checkpoint::{Checkpoint, is_notary_signature_by, verify_notary_signature};
use crate::cosignature::Cosignature;
use crate::encoding::{b64, hex_lower, parse_b64, parse_hex32};
use crate::entry::{Entry, LeafFields, Metadata, SubmitterId};
use crate::error::FormatError;
use crate::identity::{
    CertInfo, Chain, Crl, MAX_ISSUER_CANDIDATES, Role, TrustRoots, seconds_text,
};
use crate::merkle::{Hash, hashes_equal, leaf_hash, sha256, verify_inclusion};
use crate::note::{Note, NoteSignature};
use crate::policy::{Group, GroupTime, Policy};
use crate::proof::TlogProof;
use crate::receipt::Receipt;
use crate::time::UtcMillis;
use crate::tlog_policy::{COSIGNATURE_V1_LEN, PolicyFile};
use serde::Serialize;
use std::collections::BTreeSet;

const TWO_ROLES: &str = "its key or name is certified in two roles, so it counts for neither";

/// The default allowed skew (seconds) between the notary's `received`
/// time and an earlier cosignature time (contract §9).
pub const DEFAULT_MAX_SKEW: u64 = 300;

/// What a check is about (stable identifiers, in the order checks run).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckId {
    /// Strict parsing of every part.
    Format,
    /// The evidence file's digest.
    File,
    /// The entry rebuilt from the evidence fields.
    Entry,
    /// The inclusion proof (or the receipt's group proof).
    Inclusion,
    /// The log origin.
    Origin,
    /// One witness cosignature.
    Cosignature,
    /// One RFC 3161 timestamp token (contract §9).
    Timestamp,
    /// The notary's signature.
    NotarySignature,
    /// The witness policy and the witnessed time.
    Policy,
    /// Every certificate included is used.
    Certificates,
}

impl CheckId {
    /// The identifier as JSON writes it.
    pub fn as_str(self) -> &'static str {
        const NAMES: [&str; 10] = [
            "format",
            "file",
            "entry",
            "inclusion",
            "origin",
            "cosignature",
            "timestamp",
            "notary-signature",
            "policy",
            "certificates",
        ];
        NAMES[self as usize]
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It holds.
    Pass,
    /// It does not: the document is not valid.
    Fail,
    /// Not applicable to this input.
    Skipped,
    /// A signature that verifies but does not count (the detail says why).
    Ignored,
}

/// One check and its result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub id: CheckId,
    /// Its result.
    pub status: Status,
    /// What was checked and, unless it passed, why.
    pub detail: String,
}

/// What was verified.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A deposit certificate (JSON, or from a PDF).
    #[default]
    Certificate,
    /// A bare tlog-proof with its entry.
    TlogProof,
    /// A signed receipt: the notary's promise only, never proof of time.
    Receipt,
}

/// A cosignature that verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Witnessed {
    /// From the witness certificate's OU.
    pub role: Role,
    /// From the witness certificate's CN.
    pub name: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`, the witness's clock.
    pub time: String,
    /// The same, Unix seconds.
    pub unix_time: u64,
    /// Whether the policy counted it (contract §9).
    pub counted: bool,
    /// Why it was not counted.
    pub reason: Option<String>,
}

/// A standard C2SP witness's Ed25519 cosignature that verified (§9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StandardWitnessed {
    /// The policy file's name for the witness.
    pub name: String,
    /// Its key name (the cosignature line's).
    pub key_name: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`, the witness's clock.
    pub time: String,
    /// The same, Unix seconds.
    pub unix_time: u64,
    /// Whether the quorum counted it.
    pub counted: bool,
    /// Why it was not counted.
    pub reason: Option<String>,
}

/// An RFC 3161 timestamp token that verified (contract §9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timestamped {
    /// The TSA's name (its certificate's subject CN, else its subject).
    pub tsa: String,
    /// genTime, `YYYY-MM-DDTHH:MM:SSZ`, the TSA's clock.
    pub time: String,
    /// The same, Unix seconds.
    pub unix_time: u64,
    /// Whether the policy counted it.
    pub counted: bool,
    /// Why it was not counted.
    pub reason: Option<String>,
}

/// What a timestamp token says once its CMS signature, ESSCertIDv2, TSA
/// certificate (critical timeStamping EKU) and chain to a TSA trust root
/// have been checked by a [`TimestampCheck`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsaAttestation {
    /// The TSA's name (its certificate's subject CN, else its subject).
    pub name: String,
    /// The TSA certificate's DER SubjectPublicKeyInfo: who counts once.
    pub spki: Vec<u8>,
    /// genTime, Unix seconds.
    pub time: u64,
}

/// Checks an RFC 3161 token over SHA-256 of the checkpoint body against
/// TSA trust roots. The core only counts what tokens attest: CMS is checked
/// outside it (crate `notarium-timestamp`), which keeps the core small.
pub trait TimestampCheck: std::fmt::Debug + Send + Sync {
    /// What the DER `token` attests over `imprint`, or why it does not verify.
    fn check(&self, token: &[u8], imprint: &Hash) -> Result<TsaAttestation, String>;
}

/// Where the entry sits in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogPosition {
    /// The log origin.
    pub origin: String,
    /// The entry's leaf index.
    pub index: u64,
    /// The checkpoint's tree size.
    pub tree_size: u64,
    /// Base64, as in the checkpoint.
    pub root_hash: String,
}

/// Everything a verification found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// What was verified.
    pub kind: Kind,
    /// A certificate or proof whose every check passed, with a witnessed
    /// time. Never true for a receipt.
    pub valid: bool,
    /// Every check passed (for a receipt: the notary's signature holds).
    pub verified: bool,
    /// A witnessed time was established.
    pub witnessed: bool,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// Hex SHA-256 of the evidence file.
    pub evidence_sha256: Option<String>,
    /// The submitter id.
    pub submitter: Option<String>,
    /// The notary's own received time (its claim, not an attestation).
    pub received_at: Option<String>,
    /// Where the entry is.
    pub log: Option<LogPosition>,
    /// Every cosignature that verified, earliest first.
    pub witnesses: Vec<Witnessed>,
    /// Every timestamp token that verified, earliest first.
    pub timestamps: Vec<Timestamped>,
    /// Every standard witness cosignature that verified, earliest first.
    pub standard_witnesses: Vec<StandardWitnessed>,
    /// How each requirement of the policy fared.
    pub groups: Vec<GroupTime>,
    /// Contract §9: the moment the policy was first satisfied
    /// (`YYYY-MM-DDTHH:MM:SSZ`): the evidence existed no later than this.
    pub witnessed_at: Option<String>,
    /// The same, Unix seconds.
    pub witnessed_unix: Option<u64>,
}

impl Report {
    fn new(kind: Kind) -> Self {
        Report { kind, ..Report::default() }
    }

    /// A parsed input, or a failed format check.
    fn parsed<T>(&mut self, r: Result<T, FormatError>) -> Option<T> {
        r.map_err(|e| self.fail(CheckId::Format, e.to_string())).ok()
    }

    fn push(&mut self, id: CheckId, status: Status, detail: impl Into<String>) {
        let detail = detail.into();
        self.checks.push(Check { id, status, detail });
    }

    fn pass(&mut self, id: CheckId, detail: impl Into<String>) {
        self.push(id, Status::Pass, detail);
    }

    fn fail(&mut self, id: CheckId, detail: impl Into<String>) {
        self.push(id, Status::Fail, detail);
    }

    fn result(&mut self, id: CheckId, r: Result<String, String>) {
        match r {
            Ok(d) => self.pass(id, d),
            Err(d) => self.fail(id, d),
        }
    }

    /// The format check of a certificate or proof that parsed, and its facts.
    fn parsed_logged(&mut self, p: &Parsed, what: &str) {
        let (hashes, certs) = (p.proof.path.len(), p.certs.len());
        self.pass(
            CheckId::Format,
            format!("{what}tlog-proof with {hashes} hashes, {certs} certificates"),
        );
        self.submitter = Some(p.submitter.to_string());
        self.received_at = Some(p.received.to_text());
    }

    /// A signature that verified: its check, counted or ignored, and its
    /// line in the report (`file_name`: a standard witness's, in the file).
    fn attested(&mut self, a: &Attestation, file_name: Option<&str>) {
        let time = seconds_text(a.time as i64);
        let said = format!("{} at {time}", a.label);
        let id = if a.group == Group::Tsa { CheckId::Timestamp } else { CheckId::Cosignature };
        match &a.ignored {
            None => self.pass(id, said),
            Some(why) => self.push(id, Status::Ignored, format!("{said}, not counted: {why}")),
        }
        let (name, unix_time, counted, reason) =
            (a.name.clone(), a.time, a.ignored.is_none(), a.ignored.clone());
        match a.group {
            Group::Role(role) => {
                self.witnesses.push(Witnessed { role, name, time, unix_time, counted, reason })
            }
            Group::Standard => self.standard_witnesses.push(StandardWitnessed {
                name: file_name.expect("a standard witness is in a policy file").to_string(),
                key_name: name,
                time,
                unix_time,
                counted,
                reason,
            }),
            Group::Tsa => {
                self.timestamps.push(Timestamped { tsa: name, time, unix_time, counted, reason })
            }
        }
    }

    fn finish(mut self) -> Self {
        self.verified =
            !self.checks.is_empty() && self.checks.iter().all(|c| c.status != Status::Fail);
        self.witnessed = self.witnessed_unix.is_some();
        self.valid = self.verified && self.witnessed && self.kind != Kind::Receipt;
        self
    }

    /// The first failed check, if any.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.status == Status::Fail)
    }
}

/// A certificate's or proof's parts, each parsed by its strict parser.
struct Parsed {
    leaf: Vec<u8>,
    submitter: SubmitterId,
    received: UtcMillis,
    proof: TlogProof,
    checkpoint: Checkpoint,
    certs: Vec<CertInfo>,
    /// The certificate's RFC 3161 tokens, DER.
    tokens: Vec<Vec<u8>>,
}

/// A signature that verified, before counting (contract §9): an X.509
/// witness's cosignature, a standard witness's or a TSA's token. One party
/// is one key and one name, whatever signed.
struct Attestation {
    /// The role, `standard` or `tsa`.
    group: Group,
    /// What the report says, before " at <time>".
    label: String,
    /// The witness or TSA name, and its public key (DER SPKI, or Ed25519).
    name: String,
    key: Vec<u8>,
    time: u64,
    /// Revoked (per the CRLs given) from this Unix time.
    revoked: Option<(i64, String)>,
    /// Why it does not count, once decided.
    ignored: Option<String>,
    /// A standard witness's index in the policy file.
    witness: usize,
}

impl Attestation {
    fn new(group: Group, label: String, name: &str, key: &[u8], time: u64) -> Self {
        let (name, key) = (name.to_string(), key.to_vec());
        Attestation { group, label, name, key, time, revoked: None, ignored: None, witness: 0 }
    }
}

/// The verifier's configuration: trust roots, the expected log origin, the
/// witness policy, the allowed clock skew and revocation lists.
#[derive(Debug, Clone)]
pub struct Verifier {
    roots: TrustRoots,
    origin: Option<String>,
    policy: Policy,
    max_skew: u64,
    crls: Vec<Crl>,
    tsa: Option<std::sync::Arc<dyn TimestampCheck>>,
    standard: Option<PolicyFile>,
}

impl Verifier {
    /// `origin`: the expected log origin; `None` accepts any origin that a
    /// notary certificate under the trust roots vouches for (its CN).
    pub fn new(roots: TrustRoots, origin: Option<String>, policy: Policy) -> Self {
        let (max_skew, crls, tsa, standard) = (DEFAULT_MAX_SKEW, Vec::new(), None, None);
        Verifier { roots, origin, policy, max_skew, crls, tsa, standard }
    }

    /// A cosignature dated more than `seconds` before the entry's received
    /// time does not count (default [`DEFAULT_MAX_SKEW`]).
    pub fn with_max_skew(mut self, seconds: u64) -> Self {
        self.max_skew = seconds;
        self
    }

    /// Revocation lists to apply (contract §9).
    pub fn with_crls(mut self, crls: Vec<Crl>) -> Self {
        self.crls = crls;
        self
    }

    /// Checks timestamp tokens (contract §9); without it they are reported
    /// as not checked and count for nothing.
    pub fn with_timestamps(mut self, check: std::sync::Arc<dyn TimestampCheck>) -> Self {
        self.tsa = Some(check);
        self
    }

    /// A C2SP tlog-policy file: its witnesses' Ed25519 cosignatures are
    /// checked and its quorum is one more group of the policy (§9).
    pub fn with_policy_file(mut self, file: PolicyFile) -> Self {
        self.standard = Some(file);
        self
    }

    /// The witness policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Verifies a certificate JSON; with `file_sha256`, also that the
    /// evidence file is the one certified.
    pub fn verify_certificate(&self, json: &[u8], file_sha256: Option<&Hash>) -> Report {
        let mut report = Report::new(Kind::Certificate);
        let Some((entry, parsed)) = report.parsed(parse_certificate(json)) else {
            return report.finish();
        };
        report.parsed_logged(&parsed, "notarium/certificate/v1: strict JSON, ");
        let digest = hex_lower(&entry.evidence_sha256);
        report.evidence_sha256 = Some(digest.clone());
        match file_sha256 {
            None => report.push(CheckId::File, Status::Skipped, "no evidence file given"),
            Some(d) if hashes_equal(d, &entry.evidence_sha256) => {
                report.pass(CheckId::File, "the file's SHA-256 equals evidence.sha256")
            }
            Some(d) => report.fail(
                CheckId::File,
                format!("the file's SHA-256 is {}, the certificate is for {digest}", hex_lower(d)),
            ),
        }
        match entry.leaf_text().as_bytes() == parsed.leaf.as_slice() {
            true => report.pass(CheckId::Entry, "the entry text equals the one rebuilt from the evidence (salted commitments recomputed)"),
            false => report.fail(CheckId::Entry, "the entry text differs from the one rebuilt from evidence.sha256, salt, metadata, submitter and received_at"),
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
        let mut report = Report::new(Kind::TlogProof);
        let parsed = LeafFields::parse(entry_text).and_then(|f| {
            parse_proof_parts(entry_text, (f.submitter, f.received), proof_text, certs)
        });
        let Some(parsed) = report.parsed(parsed) else {
            return report.finish();
        };
        report.parsed_logged(&parsed, "");
        let why = "a bare proof carries no salt to check a file with";
        report.push(CheckId::File, Status::Skipped, why);
        let why = "a bare proof carries no evidence fields to rebuild the entry from";
        report.push(CheckId::Entry, Status::Skipped, why);
        self.verify_logged(&mut report, &parsed);
        report.finish()
    }

    /// Verifies a signed receipt for an entry text (contract §9): the entry
    /// is in the signed group, and the group is signed by a notary
    /// certificate under the trust roots. A receipt is the notary's word
    /// alone: it is never valid as a certificate and proves no time.
    pub fn verify_receipt(
        &self,
        receipt_text: &str,
        entry_text: &[u8],
        certs: Vec<CertInfo>,
    ) -> Report {
        let mut report = Report::new(Kind::Receipt);
        let parsed = LeafFields::parse(entry_text)
            .and_then(|fields| Ok((fields, Receipt::parse(receipt_text)?)))
            .and_then(|p| check_certificate_count(&certs).map(|()| p));
        let Some((fields, receipt)) = report.parsed(parsed) else {
            return report.finish();
        };
        report.pass(CheckId::Format, "notarium/receipt/v1 and notarium/entry/v1");
        report.submitter = Some(fields.submitter.to_string());
        report.received_at = Some(fields.received.to_text());
        let (i, n) = (receipt.index, receipt.group_size);
        let inclusion = receipt.check_entry(entry_text).map_err(|e| e.to_string());
        let said = inclusion.map(|()| format!("the entry is item {i} of a signed group of {n}"));
        report.result(CheckId::Inclusion, said);
        report.result(CheckId::Origin, self.check_origin(&receipt.origin));
        let sigs: Vec<&NoteSignature> = receipt.notary_signatures().collect();
        let claimed = fields.received.unix_seconds();
        let notary = self
            .check_notary(&sigs, receipt.group.text(), &receipt.origin, &certs, Some(claimed))
            .map(|chain| {
                format!(
                    "signed by notary {}, whose certificate is valid at the time the notary claims ({}), which nothing attests",
                    chain.name,
                    seconds_text(claimed)
                )
            });
        report.result(CheckId::NotarySignature, notary);
        report.finish()
    }

    /// Verifies a signed checkpoint note alone (contract §9, the monitor):
    /// the notary's signature and every cosignature, with certificates from
    /// `certs` under the trust roots. Returns the checkpoint and its
    /// cosigners' names; any signature that fails is an error.
    pub fn check_checkpoint(
        &self,
        note: &str,
        certs: &[CertInfo],
    ) -> Result<(Checkpoint, Vec<String>), String> {
        let note = Note::parse(note).map_err(|e| e.to_string())?;
        let cp = Checkpoint::parse(note.text()).map_err(|e| e.to_string())?;
        self.check_origin(cp.origin())?;
        let (notary, cosigs): (Vec<&NoteSignature>, Vec<&NoteSignature>) =
            note.signatures().iter().partition(|s| s.name == cp.origin());
        let (mut out, mut earliest) = (Vec::new(), None::<i64>);
        for line in cosigs {
            let (chain, a) = self
                .check_cosignature(line, &cp, certs)
                .map_err(|why| format!("{}: {why}", line.name))?;
            earliest = Some(earliest.map_or(a.time as i64, |e| e.min(a.time as i64)));
            out.push(chain.name);
        }
        self.check_notary(&notary, note.text(), cp.origin(), certs, earliest)?;
        Ok((cp, out))
    }

    fn check_origin(&self, origin: &str) -> Result<String, String> {
        match &self.origin {
            Some(o) if o == origin => Ok(format!("log origin is {o}")),
            Some(o) => Err(format!("log origin is {origin}, expected {o}")),
            None => Ok(format!(
                "log origin {origin} (not pinned: any notary certificate under the trust roots may vouch for it)"
            )),
        }
    }

    /// Checks 4-6 of contract §6 with the rules of §9, and the bundle's
    /// certificates.
    fn verify_logged(&self, report: &mut Report, p: &Parsed) {
        let cp = &p.checkpoint;
        let (i, n, root, origin) = (p.proof.index, cp.size(), b64(cp.root()), cp.origin().into());
        let inclusion = verify_inclusion(&leaf_hash(&p.leaf), i, n, &p.proof.path, cp.root());
        let said = inclusion
            .map(|()| format!("the entry is leaf {i} of the {n}-leaf tree with root {root}"));
        report.result(CheckId::Inclusion, said.map_err(|e| e.to_string()));
        report.log = Some(LogPosition { origin, index: i, tree_size: n, root_hash: root });
        report.result(CheckId::Origin, self.check_origin(cp.origin()));

        let (notary_sigs, cosig_lines): (Vec<&NoteSignature>, Vec<&NoteSignature>) =
            p.proof.checkpoint.signatures().iter().partition(|s| s.name == cp.origin());
        let mut used: BTreeSet<Hash> = BTreeSet::new();
        let mut all = self.attestations(report, p, &cosig_lines, &mut used);
        let witnessed = self.count(&mut all, p.received.unix_seconds());
        let pf = self.standard.as_ref();
        for a in &all {
            report.attested(a, pf.and_then(|f| f.witnesses.get(a.witness)).map(|w| w.0.as_str()));
        }

        // The notary signed before any witness saw the checkpoint: its
        // certificate is checked at the earliest counted cosignature time.
        // SPEC: contract §6.5: the notary certificate is "valid at the
        // earliest valid cosignature time" (valid: counted, since §9).
        let earliest = all
            .iter()
            .find(|a| matches!(a.group, Group::Role(_)) && a.ignored.is_none())
            .map(|a| a.time as i64);
        let text = p.proof.checkpoint.text();
        let notary = self
            .check_notary(&notary_sigs, text, cp.origin(), &p.certs, earliest)
            .and_then(|chain| {
            used.extend(chain.certs.iter().map(|c| c.fingerprint));
            // A revoked notary certificate counts only if the evidence was
            // witnessed before the revocation took effect.
            if let Some((r, why)) = self.revocation(&chain)?
                && !witnessed.0.as_ref().is_ok_and(|&w| (w as i64) < r)
            {
                return Err(format!("{why}, not after the witnessed time"));
            }
            if let Some(f) = pf {
                f.check_log(cp.origin(), chain.signer().key.spki_der())?;
            }
            Ok(format!(
                "signed by notary {} (certificate {}), valid at the earliest counted cosignature time",
                chain.name,
                hex_lower(&chain.signer().fingerprint[..8])
            ))
        });
        report.result(CheckId::NotarySignature, notary);

        let (at, groups) = witnessed;
        report.groups = groups;
        let policy = match pf {
            Some(_) => format!("{} and the policy file's quorum", self.policy),
            None => self.policy.to_string(),
        };
        report.witnessed_unix = at.as_ref().ok().copied();
        report.witnessed_at = report.witnessed_unix.map(|t| seconds_text(t as i64));
        let said = match at {
            Ok(t) => Ok(format!(
                "witness policy \"{policy}\" is satisfied, first at {}",
                seconds_text(t as i64)
            )),
            Err(why) => Err(format!("witness policy \"{policy}\" is not satisfied: {why}")),
        };
        report.result(CheckId::Policy, said);

        let unused: Vec<&str> = p
            .certs
            .iter()
            .filter(|c| !used.contains(&c.fingerprint))
            .map(|c| c.subject.as_str())
            .collect();
        let said = match unused.join("; ") {
            u if u.is_empty() => {
                Ok("every certificate included is used by a verified signature".into())
            }
            u => Err(format!("certificates not used by any verified signature: {u}")),
        };
        report.result(CheckId::Certificates, said);
    }

    /// Every cosignature line and timestamp token that verifies, before
    /// counting; each that does not is a failed (or ignored) check. `used`
    /// gains the certificates of the X.509 witnesses' chains.
    fn attestations(
        &self,
        report: &mut Report,
        p: &Parsed,
        lines: &[&NoteSignature],
        used: &mut BTreeSet<Hash>,
    ) -> Vec<Attestation> {
        let cp = &p.checkpoint;
        let mut all = Vec::new();
        let pf = self.standard.as_ref();
        for line in lines {
            let found = pf.and_then(|f| f.witnesses.iter().position(|(_, k)| k.is_signer_of(line)));
            if let (Some(f), Some(witness)) = (pf, found) {
                let (name, key) = &f.witnesses[witness];
                match key.verify_cosignature(line, &cp.body()) {
                    Ok(time) => {
                        let label = format!("standard witness {name} ({}) cosigned", key.name);
                        let a = Attestation::new(Group::Standard, label, &key.name, &key.key, time);
                        all.push(Attestation { witness, ..a });
                    }
                    Err(why) => {
                        report.fail(CheckId::Cosignature, format!("standard witness {name}: {why}"))
                    }
                }
                continue;
            }
            // SPEC: signed-note: "Verifiers MUST ignore signatures from
            // unknown keys": a standard witness's line, unless a policy
            // file names its key (no X.509 witness has its name).
            let x509 = p.certs.iter().any(|c| c.common_name.as_deref() == Some(&line.name));
            if !x509 && line.signature.len() == COSIGNATURE_V1_LEN {
                let why = "no --policy-file names its key: not checked, not counted";
                let said =
                    format!("{}: a standard witness's Ed25519 cosignature; {why}", line.name);
                report.push(CheckId::Cosignature, Status::Ignored, said);
                continue;
            }
            match self.check_cosignature(line, cp, &p.certs) {
                Ok((chain, a)) => {
                    used.extend(chain.certs.iter().map(|c| c.fingerprint));
                    all.push(a);
                }
                Err(why) => report.fail(CheckId::Cosignature, format!("{}: {why}", line.name)),
            }
        }
        // Contract §9: RFC 3161 tokens over SHA-256 of the checkpoint body.
        let imprint = sha256(p.proof.checkpoint.text().as_bytes());
        for token in &p.tokens {
            let (status, why) = match self.tsa.as_ref().map(|t| t.check(token, &imprint)) {
                Some(Ok(t)) => {
                    let label = format!("TSA {} timestamped the checkpoint", t.name);
                    all.push(Attestation::new(Group::Tsa, label, &t.name, &t.spki, t.time));
                    continue;
                }
                Some(Err(why)) => (Status::Fail, why),
                None => (Status::Skipped, "not checked: no TSA trust root".into()),
            };
            report.push(CheckId::Timestamp, status, format!("an RFC 3161 token: {why}"));
        }
        // Report order: X.509 witnesses, standard witnesses, TSAs, each by time.
        all.sort_by_key(|a| (a.group == Group::Tsa, a.group == Group::Standard, a.time, a.group));
        all
    }

    fn revocation(&self, chain: &Chain) -> Result<Option<(i64, String)>, String> {
        Crl::revocation(&self.crls, &chain.certs)
    }

    /// Decides which verified signatures count (contract §9) and when the
    /// policy was first satisfied. `all` is sorted by time within each group.
    fn count(
        &self,
        all: &mut [Attestation],
        received: i64,
    ) -> (Result<u64, String>, Vec<GroupTime>) {
        // SPEC: contract §9: "A cosignature dated more than the allowed skew
        // (default 300 s, --max-skew) before the entry's received time does
        // not count and is reported with its reason." (So a TSA's token.)
        let (floor, skew) = (received.saturating_sub(self.max_skew as i64), self.max_skew);
        for a in all.iter_mut().filter(|a| (a.time as i64) < floor) {
            let before = received - a.time as i64;
            a.ignored = Some(format!(
                "dated {before} s before the entry was received, more than the allowed skew of {skew} s"
            ));
        }
        // SPEC: contract §9: "Each distinct public key (SPKI) and each
        // distinct witness name counts at most once over the whole policy; a
        // key or name certified in two roles counts for neither." TSAs and
        // the policy file's witnesses are groups of their own.
        let same = |a: &Attestation, b: &Attestation| a.key == b.key || a.name == b.name;
        for i in 0..all.len() {
            if all.iter().any(|b| b.group != all[i].group && same(b, &all[i])) {
                all[i].ignored = Some(TWO_ROLES.into());
            }
        }
        // Signatures linked by a shared key or name, directly or through
        // others, are one party, which counts at its earliest time.
        let first = first_of_party(all.len(), |i, j| {
            same(&all[i], &all[j]) && all[i].ignored.is_none() && all[j].ignored.is_none()
        });
        for (i, f) in first.into_iter().enumerate().filter(|&(i, f)| f != i) {
            let what = if all[i].group == Group::Tsa { "TSA" } else { "witness" };
            let why =
                format!("the same {what} (by key or name) as {}, which counts once", all[f].name);
            all[i].ignored.get_or_insert(why);
        }
        let parties = |all: &[Attestation], with_revoked: bool| -> Vec<(Group, u64)> {
            let counted =
                |a: &&Attestation| a.ignored.is_none() && (with_revoked || a.revoked.is_none());
            all.iter().filter(counted).map(|a| (a.group, a.time)).collect()
        };
        // SPEC: contract §9: "A signature by a revoked certificate counts only
        // if the witnessed time computed without it precedes the
        // revocation's invalidityDate (else its revocationDate)." Here
        // "without it" means without any revoked signer, the stricter reading.
        let (before, _) = self.policy.satisfied_at(&parties(all, false), None);
        for a in all.iter_mut().filter(|a| a.ignored.is_none()) {
            if let Some((r, why)) = &a.revoked
                && !before.as_ref().is_ok_and(|&w| (w as i64) < *r)
            {
                a.ignored =
                    Some(format!("{why}, and the policy was not met without it before then"));
            }
        }
        // The policy file's quorum is one more group: each witness counts
        // once, at its earliest counted time.
        let quorum = self.standard.as_ref().and_then(|pf| {
            let mut times = vec![None; pf.witnesses.len()];
            for a in all.iter().filter(|a| a.group == Group::Standard && a.ignored.is_none()) {
                times[a.witness].get_or_insert(a.time);
            }
            pf.quorum_time(&times)
        });
        self.policy.satisfied_at(&parties(all, true), quorum)
    }

    fn check_cosignature(
        &self,
        line: &NoteSignature,
        cp: &Checkpoint,
        certs: &[CertInfo],
    ) -> Result<(Chain, Attestation), String> {
        let cosig = Cosignature::from_note_signature(line).map_err(|e| e.to_string())?;
        let time = i64::try_from(cosig.timestamp)
            .map_err(|_| "the cosignature time is out of range".to_string())?;
        // The certificates with this name and key (a renewed one may sit
        // beside an expired one): the first that holds at the time counts.
        let mut why = format!(
            "no witness certificate in the file has this name and key ID {}",
            hex_lower(&line.key_id)
        );
        let candidates = certs.iter().filter(|c| {
            !c.is_ca
                && c.common_name.as_deref() == Some(line.name.as_str())
                && cosig.is_by(&line.name, &c.key)
        });
        let mut found = None;
        for cert in candidates.take(MAX_ISSUER_CANDIDATES) {
            let checked = match Role::of(cert).is_some_and(Role::is_witness) {
                false => Err(format!("\"{}\" is not a court or arbitration witness", cert.subject)),
                true => Chain::build(&self.roots, cert, certs, time).map_err(|e| e.to_string()),
            };
            match checked {
                Ok(_) if cosig.verify(cp, &cert.key).is_err() => {
                    why = "the cosignature does not verify over this checkpoint and time".into()
                }
                Ok(chain) => {
                    found = Some(chain);
                    break;
                }
                Err(e) => why = e,
            }
        }
        let chain = found.ok_or(why)?;
        let label = format!("{} witness {} cosigned", chain.role, chain.name);
        let (group, key) = (Group::Role(chain.role), chain.signer().key.spki_der());
        let a = Attestation::new(group, label, &chain.name, key, cosig.timestamp);
        let revoked = self.revocation(&chain)?;
        Ok((chain, Attestation { revoked, ..a }))
    }

    /// The notary's signature over `text` and its chain, valid at `at`
    /// (`None`: no time is known, so the chain is checked but the signature
    /// cannot count).
    fn check_notary(
        &self,
        sigs: &[&NoteSignature],
        text: &str,
        origin: &str,
        certs: &[CertInfo],
        at: Option<i64>,
    ) -> Result<Chain, String> {
        let [sig] = sigs else {
            return Err(format!(
                "expected one signature by the log {origin}, found {}",
                sigs.len()
            ));
        };
        let cert = certs
            .iter()
            .find(|c| {
                !c.is_ca
                    && Role::of(c) == Some(Role::Notary)
                    && c.common_name.as_deref() == Some(origin)
                    && is_notary_signature_by(sig, origin, &c.key)
            })
            .ok_or_else(|| {
                format!(
                    "no notary certificate in the file has CN {origin} and key ID {}",
                    hex_lower(&sig.key_id)
                )
            })?;
        verify_notary_signature(text, sig, &cert.key).map_err(|_| {
            format!("the notary signature does not verify over the signed text of {origin}")
        })?;
        // Without a time, the chain is still checked (at the certificate's
        // own start) so that its faults are reported, but it cannot count.
        let chain = Chain::build(&self.roots, cert, certs, at.unwrap_or(cert.not_before))
            .map_err(|e| e.to_string())?;
        match at {
            Some(_) => Ok(chain),
            None => {
                Err("no counted cosignature gives a time at which to check the notary certificate"
                    .into())
            }
        }
    }
}

/// Contract §9 counting: items (sorted by time) linked by a shared key or
/// name, directly or through others, are one party, named by its earliest
/// member; returns each item's. `linked(i, j)`, j < i: they share one.
fn first_of_party(n: usize, linked: impl Fn(usize, usize) -> bool) -> Vec<usize> {
    let mut party: Vec<usize> = (0..n).collect();
    let root = |party: &[usize], mut i: usize| {
        while party[i] != i {
            i = party[i];
        }
        i
    };
    for i in 0..n {
        for j in (0..i).filter(|&j| linked(i, j)) {
            let (ri, rj) = (root(&party, i), root(&party, j));
            party[ri.max(rj)] = ri.min(rj);
        }
    }
    (0..n).map(|i| root(&party, i)).collect()
}

fn parse_certificate(json: &[u8]) -> Result<(Entry, Parsed), FormatError> {
    let cert = CertificateJson::from_json(json)?;
    let ev = &cert.evidence;
    let entry = Entry {
        evidence_sha256: parse_hex32("evidence.sha256", &ev.sha256)?,
        salt: parse_hex32("evidence.salt", &ev.salt)?,
        metadata: ev.metadata.as_deref().map(Metadata::from_text).transpose()?,
        submitter: SubmitterId::parse(&ev.submitter)?,
        received: UtcMillis::parse(&ev.received_at)?,
    };
    check_certificate_count(&cert.certificates)?;
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
    if let Some(i) =
        (0..certs.len()).find(|&i| certs[..i].iter().any(|d| d.fingerprint == certs[i].fingerprint))
    {
        let why = format!("certificate {} is included twice", i + 1);
        return Err(FormatError::field("certificates", why));
    }
    let mut parsed = parse_proof_parts(
        cert.entry.as_bytes(),
        (entry.submitter.clone(), entry.received),
        &cert.proof,
        certs,
    )?;
    if cert.timestamps.len() > MAX_CERTIFICATES {
        return Err(FormatError::field("timestamps", format!("more than {MAX_CERTIFICATES}")));
    }
    parsed.tokens =
        cert.timestamps.iter().map(|t| parse_b64("timestamps", t)).collect::<Result<_, _>>()?;
    if parsed.proof.extra.is_some() {
        return Err(FormatError::Proof(
            "v1 certificates carry no unauthenticated extra data".into(),
        ));
    }
    Ok((entry, parsed))
}

fn parse_proof_parts(
    leaf: &[u8],
    (submitter, received): (SubmitterId, UtcMillis),
    proof_text: &str,
    certs: Vec<CertInfo>,
) -> Result<Parsed, FormatError> {
    check_certificate_count(&certs)?;
    let proof = TlogProof::parse(proof_text)?;
    if proof.to_text() != proof_text {
        return Err(FormatError::Proof("not in canonical form".into()));
    }
    let checkpoint = Checkpoint::parse(proof.checkpoint.text())?;
    let tokens = Vec::new();
    Ok(Parsed { leaf: leaf.to_vec(), submitter, received, proof, checkpoint, certs, tokens })
}

/// Counted before any is parsed (issue 19: 1,700 of them cost seconds).
fn check_certificate_count<T>(certs: &[T]) -> Result<(), FormatError> {
    match certs.len() > MAX_CERTIFICATES {
        true => Err(FormatError::field("certificates", format!("more than {MAX_CERTIFICATES}"))),
        false => Ok(()),
    }
}
