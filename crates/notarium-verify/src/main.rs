//! `notarium-verify`: the standalone offline verifier of Notarium deposit
//! certificates. It reads files, never the network; all checks are the
//! core's (`notarium_core::Verifier`).
//!
//! Exit status: 0 valid, 1 invalid, 2 usage or I/O error.
#![forbid(unsafe_code)]

use clap::Parser;
use notarium_core::identity::{CertInfo, certs_from_pem_file};
use notarium_core::{Hash, Policy, Report, Status, TrustRoots, Verifier};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "notarium-verify",
    version,
    about = "Verify a Notarium deposit certificate offline (JSON, PDF, or .tlog-proof with --entry)",
    after_help = "Exit status: 0 valid, 1 invalid, 2 usage or I/O error.\n\
                  Example: notarium-verify certificate.pdf --file contract.pdf --trust certs/root.pem"
)]
struct Args {
    /// The certificate: certificate JSON, a PDF with certificate.json
    /// attached, or a .tlog-proof file or a signed receipt (then --entry
    /// and --certs are needed).
    cert: PathBuf,
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
    /// Witness policy, e.g. "court>=2 arbitration>=1".
    #[arg(long, default_value_t = Policy::default().to_string())]
    policy: String,
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

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, UsageError> {
    std::fs::read(path)
        .map_err(|e| UsageError(format!("cannot read {what} {}: {e}", path.display())))
}

fn read_text(path: &Path, what: &str) -> Result<String, UsageError> {
    String::from_utf8(read_file(path, what)?)
        .map_err(|_| UsageError(format!("{what} {} is not UTF-8 text", path.display())))
}

/// SHA-256 of a file, streamed in 1 MiB blocks.
fn hash_file(path: &Path) -> Result<Hash, UsageError> {
    let err = |e: std::io::Error| {
        UsageError(format!("cannot read evidence file {}: {e}", path.display()))
    };
    let mut f = std::fs::File::open(path).map_err(err)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
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
        let text = read_text(p, "trust file")?;
        let certs = certs_from_pem_file(&text)
            .map_err(|e| UsageError(format!("trust file {}: {e}", p.display())))?;
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
    Json(Vec<u8>),
    Proof(String),
    Receipt(String),
}

fn classify(path: &Path, bytes: Vec<u8>) -> Result<Input, UsageError> {
    if bytes.starts_with(b"%PDF-") {
        let json = notarium_pdf::extract_certificate_json(&bytes)
            .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
        return Ok(Input::Json(json));
    }
    if bytes.starts_with(notarium_core::proof::TLOG_PROOF_HEADER.as_bytes()) {
        let text = String::from_utf8(bytes)
            .map_err(|_| UsageError(format!("{} is not UTF-8 text", path.display())))?;
        return Ok(Input::Proof(text));
    }
    if bytes.starts_with(notarium_core::receipt::RECEIPT_FORMAT.as_bytes()) {
        let text = String::from_utf8(bytes)
            .map_err(|_| UsageError(format!("{} is not UTF-8 text", path.display())))?;
        return Ok(Input::Receipt(text));
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(Input::Json(bytes));
    }
    Err(UsageError(format!(
        "{} is neither a certificate JSON, a PDF, nor a c2sp.org/tlog-proof@v1 file",
        path.display()
    )))
}

fn run(args: &Args) -> Result<Report, UsageError> {
    let policy = Policy::parse(&args.policy).map_err(|e| UsageError(e.to_string()))?;
    let roots = trust_roots(args)?;
    let verifier = Verifier::new(roots, args.origin.clone(), policy);
    let input = classify(&args.cert, read_file(&args.cert, "certificate")?)?;
    match input {
        Input::Json(json) => {
            if args.entry.is_some() || !args.certs.is_empty() {
                return Err(UsageError(
                    "--entry and --certs go with a .tlog-proof file, not a certificate".into(),
                ));
            }
            let digest = args.file.as_deref().map(hash_file).transpose()?;
            Ok(verifier.verify_certificate(&json, digest.as_ref()))
        }
        Input::Proof(text) | Input::Receipt(text) => {
            let is_receipt = text.starts_with(notarium_core::receipt::RECEIPT_FORMAT);
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
            let mut certs: Vec<CertInfo> = Vec::new();
            for p in &args.certs {
                let text = read_text(p, "certificates file")?;
                certs.extend(
                    certs_from_pem_file(&text).map_err(|e| {
                        UsageError(format!("certificates file {}: {e}", p.display()))
                    })?,
                );
            }
            Ok(if is_receipt {
                verifier.verify_receipt(&text, &entry, certs)
            } else {
                verifier.verify_tlog_proof(&entry, &text, certs)
            })
        }
    }
}

fn print_human(path: &Path, r: &Report) {
    println!("notarium-verify {}", path.display());
    for c in &r.checks {
        let status = match c.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skipped => "SKIP",
        };
        println!("  {status}  {:<17} {}", c.id, c.detail);
    }
    println!();
    // Labels in one column as wide as the longest (role names vary).
    let width = r
        .earliest_witnessed
        .keys()
        .map(|role| format!("witnessed ({role})").len())
        .chain([17])
        .max()
        .unwrap_or(17)
        + 2;
    let line = |label: &str, value: &dyn std::fmt::Display| {
        println!("  {label:<width$}{value}");
    };
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
    for (role, time) in &r.earliest_witnessed {
        line(&format!("witnessed ({role})"), time);
    }
    println!();
    if r.valid {
        match r.earliest_witnessed.values().min() {
            Some(t) => {
                println!("VALID: the evidence existed, unaltered, no later than {t} (witnessed).")
            }
            None => println!("VALID"),
        }
    } else {
        let why = r
            .first_failure()
            .map(|c| format!("{}: {}", c.id, c.detail))
            .unwrap_or_default();
        println!("INVALID: {why}");
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("reports serialise")
                );
            } else {
                print_human(&args.cert, &report);
            }
            if report.valid {
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
