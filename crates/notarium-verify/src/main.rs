//! `notarium-verify`: the standalone offline verifier of Notarium deposit
//! certificates. It reads files, never the network; all checks are the
//! core's (`notarium_core::Verifier`).
//!
//! Exit status: 0 valid (for a receipt: its signature verified), 1 invalid,
//! 2 usage or I/O error.
#![forbid(unsafe_code)]

mod exhibit;

use clap::Parser;
use notarium_core::identity::{CertInfo, Crl, certs_from_pem_file, seconds_text};
use notarium_core::tlog_policy::PolicyFile;
use notarium_core::verify::DEFAULT_MAX_SKEW;
use notarium_core::{Hash, Kind, Policy, Report, Status, TrustRoots, Verifier};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "notarium-verify",
    version,
    about = "Verify a Notarium deposit certificate offline (JSON, PDF, or .tlog-proof with --entry)",
    after_help = "Exit status: 0 valid (a receipt: its signature verified; an exhibit: equivocation proven), 1 invalid, 2 usage or I/O error.\n\
                  Example: notarium-verify certificate.pdf --file contract.pdf --trust certs/root.pem"
)]
struct Args {
    /// The certificate: certificate JSON, a PDF with certificate.json
    /// attached, or a .tlog-proof file or a signed receipt (then --entry
    /// and --certs are needed).
    #[arg(required_unless_present = "exhibit", conflicts_with = "exhibit")]
    cert: Option<PathBuf>,
    /// An equivocation exhibit written by `notarium monitor`: exit 0 if its
    /// two signed checkpoints cannot both be true, 1 if it shows no
    /// equivocation (docs/monitor.md).
    #[arg(long, value_name = "FILE")]
    exhibit: Option<PathBuf>,
    /// The evidence file; its SHA-256 must equal the certified digest. Read
    /// as a stream, any size.
    #[arg(long)]
    file: Option<PathBuf>,
    /// PEM file(s) of trust roots (repeatable). Default: $NOTARIUM_TRUST.
    #[arg(long = "trust", value_name = "PEM")]
    trust: Vec<PathBuf>,
    /// Expected log origin, e.g. notarium.example/log. Without it, any origin
    /// certified by the trust roots as a notary is accepted.
    #[arg(long, env = "NOTARIUM_ORIGIN")]
    origin: Option<String>,
    /// Witness policy, e.g. "court>=2 arbitration>=1" [default:
    /// court>=1 arbitration>=1]. Not for receipts, which are never witnessed.
    #[arg(long)]
    policy: Option<String>,
    /// A C2SP tlog-policy file (log, witness, group, quorum lines): its
    /// witnesses' Ed25519 cosignatures are checked and its quorum must be
    /// met too, on top of --policy. Not for receipts.
    #[arg(long = "policy-file", value_name = "FILE")]
    policy_file: Option<PathBuf>,
    /// A cosignature dated more than this many seconds before the entry's
    /// received time does not count.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_MAX_SKEW)]
    max_skew: u64,
    /// PEM file(s) of the roots of trusted RFC 3161 timestamping
    /// authorities (repeatable): the certificate's timestamp tokens are
    /// checked against them and the policy may name tsa>=k. Without it,
    /// tokens are reported as not checked and count for nothing.
    #[arg(long = "tsa-trust", value_name = "PEM")]
    tsa_trust: Vec<PathBuf>,
    /// Certificate revocation list(s) of the issuing CAs, DER or PEM
    /// (repeatable).
    #[arg(long = "crl", value_name = "FILE")]
    crl: Vec<PathBuf>,
    /// With a .tlog-proof or a receipt: the entry text file it proves.
    #[arg(long)]
    entry: Option<PathBuf>,
    /// With a .tlog-proof or a receipt: PEM file of the signer certificates.
    #[arg(long = "certs", value_name = "PEM")]
    certs: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// A usage or I/O problem (exit 2), with a message naming it.
struct UsageError(String);

/// Largest file read: a certificate PDF is at most
/// `notarium_pdf::MAX_PDF_BYTES`, and every other input is smaller than the
/// largest CRL one would meet (issue 19: the verifier's memory is bounded
/// whatever it is given).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, UsageError> {
    read_at_most(path, what, MAX_FILE_BYTES)
}

/// Reads `path`, refusing it unread beyond `limit` bytes.
fn read_at_most(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>, UsageError> {
    let err = |e: std::io::Error| UsageError(format!("cannot read {what} {}: {e}", path.display()));
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(err)?;
    if bytes.len() as u64 > limit {
        return Err(UsageError(format!(
            "{what} {} is larger than {limit} bytes, which no {what} is",
            path.display()
        )));
    }
    Ok(bytes)
}

fn read_text(path: &Path, what: &str) -> Result<String, UsageError> {
    String::from_utf8(read_file(path, what)?)
        .map_err(|_| UsageError(format!("{what} {} is not UTF-8 text", path.display())))
}

/// SHA-256 of a file, streamed.
fn hash_file(path: &Path) -> Result<Hash, UsageError> {
    let err = |e: std::io::Error| {
        UsageError(format!("cannot read evidence file {}: {e}", path.display()))
    };
    let mut f = std::fs::File::open(path).map_err(err)?;
    notarium_core::merkle::sha256_stream(|b| f.read(b), |_| {}).map_err(err)
}

fn pem_certs(path: &Path, what: &str) -> Result<Vec<CertInfo>, UsageError> {
    certs_from_pem_file(&read_text(path, what)?)
        .map_err(|e| UsageError(format!("{what} {}: {e}", path.display())))
}

fn trust_roots(args: &Args) -> Result<TrustRoots, UsageError> {
    let mut paths = args.trust.clone();
    if paths.is_empty() {
        match std::env::var_os("NOTARIUM_TRUST") {
            Some(p) => paths.push(PathBuf::from(p)),
            None => {
                return Err(UsageError(
                    "no trust root given: pass --trust ROOT.pem or set NOTARIUM_TRUST \
                     (the development root is certs/root.pem)"
                        .into(),
                ));
            }
        }
    }
    let mut roots = Vec::new();
    for p in &paths {
        let certs = pem_certs(p, "trust file")?;
        if certs.is_empty() {
            return Err(UsageError(format!(
                "trust file {} holds no CERTIFICATE",
                p.display()
            )));
        }
        roots.extend(certs);
    }
    TrustRoots::new(roots).map_err(|e| UsageError(format!("trust roots: {e}")))
}

enum Input {
    /// The certificate JSON, and the PDF it was attached to.
    Json(Vec<u8>, Option<Vec<u8>>),
    Proof(String),
    Receipt(String),
}

fn classify(path: &Path, bytes: Vec<u8>) -> Result<Input, UsageError> {
    let text = |bytes: Vec<u8>| {
        String::from_utf8(bytes)
            .map_err(|_| UsageError(format!("{} is not UTF-8 text", path.display())))
    };
    if bytes.starts_with(b"%PDF-") {
        let json = notarium_pdf::extract_certificate_json(&bytes)
            .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
        return Ok(Input::Json(json, Some(bytes)));
    }
    if bytes.starts_with(notarium_core::proof::TLOG_PROOF_HEADER.as_bytes()) {
        return Ok(Input::Proof(text(bytes)?));
    }
    if bytes.starts_with(notarium_core::receipt::RECEIPT_FORMAT.as_bytes()) {
        return Ok(Input::Receipt(text(bytes)?));
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(Input::Json(bytes, None));
    }
    Err(UsageError(format!(
        "{} is neither a certificate JSON, a PDF, a c2sp.org/tlog-proof@v1 file nor a notarium/receipt/v1",
        path.display()
    )))
}

/// `--exhibit FILE`: the verdict, and whether the equivocation is proven.
fn run_exhibit(args: &Args, path: &Path) -> Result<bool, UsageError> {
    let json = read_file(path, "exhibit")?;
    let verifier = Verifier::new(trust_roots(args)?, args.origin.clone(), Policy::default());
    println!("notarium-verify --exhibit {}", path.display());
    Ok(match exhibit::verify(&json, &verifier) {
        exhibit::Verdict::Proven(why) => {
            println!("EQUIVOCATION PROVEN: {why}.");
            true
        }
        exhibit::Verdict::NotProven(why) => {
            println!("NOT PROVEN: {why}.");
            false
        }
    })
}

/// The notary's seal on a certificate PDF (docs/format.md "The PDF seal"):
/// a PAdES signature over the whole file. The certificate itself is what
/// the attachment says (contract §9); the seal says the file is the one the
/// notary issued. `invalid` (altered or malformed) fails the verification;
/// `untrusted` (intact, but its signer or its timestamp's TSA is not under
/// the given roots) and `absent` are reported.
struct SealReport {
    status: &'static str,
    detail: String,
    signer: Option<String>,
    /// The signature timestamp: genTime text and TSA.
    timestamp: Option<(String, String)>,
}

impl SealReport {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "status": self.status,
            "detail": self.detail,
            "signer": self.signer,
            "timestamp": self.timestamp.as_ref().map(|(time, tsa)| serde_json::json!({
                "time": time,
                "tsa": tsa,
            })),
        })
    }
}

fn check_seal(pdf: &[u8], roots: &TrustRoots, tsa_roots: Option<&TrustRoots>) -> SealReport {
    use notarium_timestamp::cades::{DetachedError, verify_detached};
    let report = |status, detail: String| SealReport {
        status,
        detail,
        signer: None,
        timestamp: None,
    };
    let sig = match notarium_pdf::pdf_signature(pdf) {
        Ok(None) => return report("absent", "the PDF is not sealed".into()),
        Ok(Some(sig)) => sig,
        Err(e) => return report("invalid", e.to_string()),
    };
    if sig.sub_filter != "ETSI.CAdES.detached" {
        return report(
            "invalid",
            format!(
                "the PDF signature is /{}, not /ETSI.CAdES.detached",
                sig.sub_filter
            ),
        );
    }
    let digest = notarium_core::merkle::sha256(&sig.signed_parts(pdf).concat());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    match verify_detached(&sig.cms, &digest, roots, tsa_roots, now) {
        Ok(info) => {
            let signer = &info.chain[0];
            let name = signer.common_name.clone().unwrap_or(signer.subject.clone());
            let timestamp = info.timestamp.as_ref().map(|t| {
                (
                    t.gen_time_text(),
                    t.tsa_common_name.clone().unwrap_or(t.tsa.clone()),
                )
            });
            let when = match (&timestamp, info.timestamp_unchecked) {
                (Some((time, tsa)), _) => format!(", timestamped {time} by TSA {tsa}"),
                (None, true) => ", timestamp not checked (no --tsa-trust)".into(),
                (None, false) => ", not timestamped".into(),
            };
            SealReport {
                status: "valid",
                detail: format!("the whole file is sealed by {name}{when}"),
                signer: Some(name),
                timestamp,
            }
        }
        Err(DetachedError::Untrusted(e)) => report("untrusted", format!("intact, but {e}")),
        Err(DetachedError::Invalid(e)) => report("invalid", e.to_string()),
    }
}

fn run(args: &Args, cert: &Path) -> Result<(Report, Option<SealReport>), UsageError> {
    let limit = notarium_pdf::MAX_PDF_BYTES as u64;
    let input = classify(cert, read_at_most(cert, "certificate", limit)?)?;
    let flag = match (&args.policy, &args.policy_file) {
        (Some(_), _) => Some("--policy"),
        (None, Some(_)) => Some("--policy-file"),
        (None, None) => None,
    };
    if let (Input::Receipt(_), Some(flag)) = (&input, flag) {
        return Err(UsageError(format!(
            "{flag} does not apply to a receipt: a receipt is the notary's signature alone, never witnessed"
        )));
    }
    let policy = match &args.policy {
        Some(p) => Policy::parse(p).map_err(|e| UsageError(e.to_string()))?,
        None => Policy::default(),
    };
    let mut crls = Vec::new();
    for p in &args.crl {
        let found = Crl::from_file(&read_file(p, "CRL")?)
            .map_err(|e| UsageError(format!("CRL {}: {e}", p.display())))?;
        // A file that names no revocation list would silently mean
        // "nothing is revoked".
        if found.is_empty() {
            return Err(UsageError(format!(
                "CRL {} holds no X509 CRL PEM block",
                p.display()
            )));
        }
        crls.extend(found);
    }
    let roots = trust_roots(args)?;
    let mut verifier = Verifier::new(roots.clone(), args.origin.clone(), policy)
        .with_max_skew(args.max_skew)
        .with_crls(crls);
    if let Some(p) = &args.policy_file {
        let text = String::from_utf8(read_at_most(p, "policy file", 64 * 1024)?)
            .map_err(|_| UsageError(format!("policy file {} is not UTF-8 text", p.display())))?;
        let file =
            PolicyFile::parse(&text).map_err(|e| UsageError(format!("{}: {e}", p.display())))?;
        verifier = verifier.with_policy_file(file);
    }
    let mut tsa_roots = None;
    if !args.tsa_trust.is_empty() {
        let mut roots = Vec::new();
        for p in &args.tsa_trust {
            roots.extend(pem_certs(p, "TSA trust file")?);
        }
        let roots = TrustRoots::new(roots).map_err(|e| UsageError(format!("--tsa-trust: {e}")))?;
        tsa_roots = Some(roots.clone());
        let tsa = notarium_timestamp::TsaTrust::new(roots, Vec::new());
        verifier = verifier.with_timestamps(std::sync::Arc::new(tsa));
    }
    let (text, is_receipt) = match input {
        Input::Json(json, pdf) => {
            if args.entry.is_some() || !args.certs.is_empty() {
                return Err(UsageError(
                    "--entry and --certs go with a .tlog-proof file or a receipt, not a certificate".into(),
                ));
            }
            let digest = args.file.as_deref().map(hash_file).transpose()?;
            let seal = pdf.map(|pdf| check_seal(&pdf, &roots, tsa_roots.as_ref()));
            return Ok((verifier.verify_certificate(&json, digest.as_ref()), seal));
        }
        Input::Proof(text) => (text, false),
        Input::Receipt(text) => (text, true),
    };
    let what = if is_receipt {
        "a receipt"
    } else {
        "a .tlog-proof"
    };
    if args.file.is_some() {
        return Err(UsageError(format!(
            "--file needs the certificate JSON or PDF: {what} carries no salt"
        )));
    }
    let entry_path = args.entry.as_deref().ok_or_else(|| {
        UsageError(format!(
            "{what} needs --entry ENTRY (the entry text it proves)"
        ))
    })?;
    let entry = read_file(entry_path, "entry")?;
    let mut certs = Vec::new();
    for p in &args.certs {
        certs.extend(pem_certs(p, "certificates file")?);
    }
    let report = if is_receipt {
        verifier.verify_receipt(&text, &entry, certs)
    } else {
        verifier.verify_tlog_proof(&entry, &text, certs)
    };
    Ok((report, None))
}

fn print_human(path: &Path, r: &Report, seal: Option<&SealReport>) {
    println!("notarium-verify {}", path.display());
    for c in &r.checks {
        let status = match c.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skipped => "SKIP",
            Status::Ignored => "NOTE",
        };
        println!("  {status}  {:<17} {}", c.id.as_str(), c.detail);
    }
    if let Some(seal) = seal {
        let status = match seal.status {
            "valid" => "PASS",
            "invalid" => "FAIL",
            _ => "NOTE",
        };
        println!(
            "  {status}  {:<17} {}: {}",
            "pdf_seal", seal.status, seal.detail
        );
    }
    println!();
    let line = |label: &str, value: &dyn std::fmt::Display| println!("  {label:<22}{value}");
    if let Some(d) = &r.evidence_sha256 {
        line("evidence SHA-256", d);
    }
    if let Some(s) = &r.submitter {
        line("submitter", s);
    }
    if let Some(t) = &r.received_at {
        line("received (notary)", t);
    }
    if let Some(l) = &r.log {
        line(
            "log",
            &format_args!(
                "{} entry {} of tree size {}",
                l.origin, l.index, l.tree_size
            ),
        );
    }
    for g in &r.groups {
        let at = g
            .satisfied_at
            .map_or("not met".to_string(), |t| seconds_text(t as i64));
        line(
            &format!("{}>={}", g.group, g.required),
            &format_args!("{at} ({} counted)", g.counted),
        );
    }
    for w in r.standard_witnesses.iter().filter(|w| w.counted) {
        line(
            "standard witness",
            &format_args!("{} by {} ({})", w.time, w.name, w.key_name),
        );
    }
    for t in r.timestamps.iter().filter(|t| t.counted) {
        line(
            "timestamp (RFC 3161)",
            &format_args!("{} by TSA {}", t.time, t.tsa),
        );
    }
    if let Some(t) = &r.witnessed_at {
        line("witnessed time", t);
    }
    if let Some((time, tsa)) = seal.and_then(|s| s.timestamp.as_ref()) {
        line(
            "PDF sealed",
            &format_args!("{time} (timestamp by TSA {tsa})"),
        );
    }
    println!();
    if let Some(seal) = seal.filter(|s| s.status == "invalid") {
        println!("INVALID: pdf_seal: {}", seal.detail);
        return;
    }
    match (r.kind, r.verified, &r.witnessed_at) {
        (Kind::Receipt, true, _) => {
            println!("RECEIPT VERIFIED (notary's signature only: not witnessed, no proof of time)")
        }
        (_, true, Some(t)) if r.valid => {
            println!("VALID: the evidence existed, unaltered, no later than {t} (witnessed).")
        }
        _ => {
            let why = r
                .first_failure()
                .map(|c| format!("{}: {}", c.id.as_str(), c.detail))
                .unwrap_or_default();
            println!("INVALID: {why}");
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cert = match (&args.exhibit, &args.cert) {
        (Some(e), _) => {
            return match run_exhibit(&args, e) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(UsageError(msg)) => {
                    eprintln!("notarium-verify: {msg}");
                    ExitCode::from(2)
                }
            };
        }
        (None, Some(c)) => c.clone(),
        (None, None) => unreachable!("clap requires the certificate without --exhibit"),
    };
    match run(&args, &cert) {
        Ok((report, seal)) => {
            let seal_broken = seal.as_ref().is_some_and(|s| s.status == "invalid");
            if args.json {
                let mut v = serde_json::to_value(&report).expect("reports serialise");
                if let Some(seal) = &seal {
                    v["pdf_seal"] = seal.json();
                    if seal_broken {
                        v["valid"] = false.into();
                    }
                }
                println!(
                    "{}",
                    serde_json::to_string_pretty(&v).expect("reports serialise")
                );
            } else {
                print_human(&cert, &report, seal.as_ref());
            }
            let ok = report.valid || (report.kind == Kind::Receipt && report.verified);
            if ok && !seal_broken {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(UsageError(msg)) => {
            eprintln!("notarium-verify: {msg}");
            ExitCode::from(2)
        }
    }
}
