//! The `notarium-witness` command line: serve, init, export. Exit codes: 0
//! success, 1 a failure while running, 2 a configuration, state or usage
//! problem found before serving. A library module so that `notarium demo`
//! can run witnesses as separate processes of its own binary.

use crate::config::{ConfigFile, LogFormat, Settings};
use crate::http::{AppState, MetricsAccess, bind_admin, bind_with_tls};
use crate::state::sqlite::{ClockReset, Record, StateInfo};
use crate::state::{EvidenceKind, SqliteState};
use crate::witness::{SystemClock, Witness};
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::{Parser, Subcommand};
use notarium_core::identity::seconds_text;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "notarium-witness",
    version,
    about = "Notarium witness node (C2SP tlog-witness): cosigns the notary's checkpoints for a court or an arbitration commission"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve POST <prefix>/add-checkpoint, GET <prefix>/checkpoint, /metrics.
    Serve {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Overrides `listen` (and NOTARIUM_WITNESS_LISTEN).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Create the state first if the file does not exist (for demos and
        /// tests; a production witness runs `init` once, so that a wrong
        /// state path can never make it start over).
        #[arg(long)]
        init_if_missing: bool,
    },
    /// Create a fresh witness state and print the witness's public identity.
    Init {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Print the identity as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print every checkpoint kept for a log (JSON lines, oldest first),
    /// then the refused requests kept as evidence.
    Export {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long, value_name = "ORIGIN")]
        origin: String,
    },
    /// Recover from a clock that jumped forward: the witness never cosigns
    /// with a time earlier than its last cosignature, so one cosignature
    /// made while the clock was ahead blocks cosigning until real time
    /// catches up. With the witness stopped and its clock corrected, this
    /// sets the last cosignature time back to the clock's time and records
    /// the reset in the state (docs/operations.md).
    ResetClock {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The current UTC time as the operator read it from a trusted
        /// source (YYYY-MM-DDTHH:MM:SSZ); the system clock must agree
        /// within 60 s, so that a clock still wrong is not made the record.
        #[arg(long, value_name = "TIME")]
        confirm_time: String,
    },
}

/// How far `reset-clock --confirm-time` may be from the system clock.
const CONFIRM_TOLERANCE_S: i64 = 60;

/// A problem found before serving: exit code 2.
#[derive(Debug)]
struct Setup(String);

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn load(config: &Path, listen: Option<String>) -> Result<Settings, Setup> {
    let mut file = ConfigFile::read(config).map_err(|e| Setup(e.to_string()))?;
    if let Some(l) = listen {
        file.listen = l;
    }
    Settings::from_file(config, file, now()).map_err(|e| Setup(e.to_string()))
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Parses `args` (the first is the program name) and runs the command.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Serve {
            config,
            listen,
            init_if_missing,
        } => serve(&config, listen, init_if_missing),
        Command::Init { config, json } => init(&config, json),
        Command::Export { config, origin } => export(&config, &origin),
        Command::ResetClock {
            config,
            confirm_time,
        } => reset_clock(&config, &confirm_time),
    };
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(Setup(msg))) => {
            eprintln!("notarium-witness: error: {msg}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("notarium-witness: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn spki_b64(settings: &Settings) -> String {
    STANDARD.encode(settings.identity.key.public().spki_der())
}

fn state_info(settings: &Settings) -> StateInfo {
    StateInfo {
        name: settings.identity.name.clone(),
        spki: spki_b64(settings),
        created_at: now() as u64,
    }
}

fn serve(
    config: &Path,
    listen: Option<String>,
    init_if_missing: bool,
) -> anyhow::Result<Result<(), Setup>> {
    let settings = match load(config, listen) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    init_tracing(settings.log_format);
    if init_if_missing && !settings.state.exists() {
        if let Err(e) = SqliteState::create(&settings.state, &state_info(&settings)) {
            return Ok(Err(Setup(e.to_string())));
        }
        tracing::warn!(state = %settings.state.display(), "created a fresh witness state (--init-if-missing)");
    }
    let state = match SqliteState::open(&settings.state, settings.max_evidence_per_log) {
        Ok(s) => s,
        Err(e) => return Ok(Err(Setup(e.to_string()))),
    };
    let id = &settings.identity;
    if state.info().name != id.name {
        return Ok(Err(Setup(format!(
            "witness state {} belongs to the witness \"{}\", but the configured certificate names \"{}\"",
            settings.state.display(),
            state.info().name,
            id.name
        ))));
    }
    let spki = spki_b64(&settings);
    if state.info().spki != spki {
        tracing::warn!(
            state = %settings.state.display(),
            "the witness key differs from the one this state was created with (certificate renewal?); recording the new key"
        );
        state
            .set_spki(&spki)
            .context("recording the new witness key")?;
    }
    let now = now() as u64;
    if let Some(last) = state.last_cosigned_at_on_open()
        && last > now
    {
        tracing::error!(
            clock = now,
            last_cosigned_at = last,
            behind_seconds = last - now,
            "the clock is behind the last cosignature (the clock went back, or was ahead when it last cosigned): add-checkpoint will answer 503 until it catches up; if the clock is right now, stop the witness and run `notarium-witness reset-clock` (docs/operations.md)"
        );
    }
    let prefix = settings.prefix.clone();
    let listen = settings.listen;
    tracing::info!(
        name = %id.name,
        role = %id.role,
        key_id = %hex::encode(id.key_id()),
        state = %settings.state.display(),
        logs = settings.logs.len(),
        "starting witness"
    );
    let Settings {
        identity,
        logs,
        admin_listen,
        metrics_token,
        tls,
        ..
    } = settings;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if admin_listen.is_none() && metrics_token.is_none() {
        tracing::warn!(
            "/metrics is not served: set admin_listen or metrics_token (docs/operations.md)"
        );
    }
    let witness = Witness::new(identity, logs, state, Arc::new(SystemClock));
    let mut app = AppState::new(witness);
    app.metrics_access = MetricsAccess {
        admin_listener: admin_listen.is_some(),
        token: metrics_token,
    };
    let data = actix_web::web::Data::new(app);
    if let Some(last) = data.witness.state().last_cosigned_at_on_open() {
        data.metrics.clock_behind(last.saturating_sub(now));
    }
    let run = actix_web::rt::System::new().block_on({
        let data = data.clone();
        async move {
            let bound = match bind_with_tls(data.clone(), listen, &prefix, None, true, tls.as_ref())
            {
                Ok(b) => b,
                Err(e) => return Ok(Err(Setup(format!("cannot listen on {listen}: {e}")))),
            };
            let admin = match admin_listen.map(|a| (a, bind_admin(data, a, true, tls.as_ref()))) {
                None => None,
                Some((_, Ok(b))) => Some(b),
                Some((a, Err(e))) => {
                    return Ok(Err(Setup(format!(
                        "cannot listen on {a} (admin_listen): {e}"
                    ))));
                }
            };
            // The readiness line: tests and supervisors wait for it (the
            // admin listener's first, so that it is known once it is seen).
            let mut out = std::io::stdout().lock();
            let admin = admin.map(|b| {
                let _ = writeln!(
                    out,
                    "notarium-witness admin listening on {scheme}://{}",
                    b.addr
                );
                let handle = b.server.handle();
                (handle, actix_web::rt::spawn(b.server))
            });
            writeln!(
                out,
                "notarium-witness listening on {scheme}://{}{prefix}",
                bound.addr
            )?;
            out.flush()?;
            drop(out);
            // The TLS certificate and key are re-read on SIGHUP.
            #[cfg(unix)]
            let reload = tls.map(|t| actix_web::rt::spawn(t.reload_on_sighup()));
            tracing::info!(addr = %bound.addr, prefix = %prefix, %scheme, "listening");
            bound.server.await?;
            #[cfg(unix)]
            if let Some(r) = reload {
                r.abort();
            }
            if let Some((handle, task)) = admin {
                handle.stop(true).await;
                let _ = task.await;
            }
            Ok::<_, anyhow::Error>(Ok(()))
        }
    });
    // Every request has been answered; let the writer finish and stop.
    data.witness.state().shutdown();
    tracing::info!("stopped");
    run
}

fn init(config: &Path, json: bool) -> anyhow::Result<Result<(), Setup>> {
    let settings = match load(config, None) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let id = &settings.identity;
    let info = state_info(&settings);
    if let Err(e) = SqliteState::create(&settings.state, &info) {
        return Ok(Err(Setup(e.to_string())));
    }
    let key_id = hex::encode(id.key_id());
    let fingerprint = hex::encode(id.certificate.fingerprint);
    let mut out = std::io::stdout().lock();
    if json {
        let v = serde_json::json!({
            "name": id.name,
            "role": id.role.as_str(),
            "key_id": key_id,
            "spki": info.spki,
            "certificate_sha256": fingerprint,
            "state": settings.state.display().to_string(),
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(out, "witness state created: {}", settings.state.display())?;
        writeln!(out, "name: {}", id.name)?;
        writeln!(out, "role: {}", id.role)?;
        writeln!(out, "key ID: {key_id}")?;
        writeln!(out, "SPKI: {}", info.spki)?;
        writeln!(out, "certificate SHA-256: {fingerprint}")?;
    }
    Ok(Ok(()))
}

fn export(config: &Path, origin: &str) -> anyhow::Result<Result<(), Setup>> {
    // Only the state path is needed: an old witness whose certificate has
    // expired or whose key is kept offline can still export what it kept.
    let file = match ConfigFile::read(config) {
        Ok(f) => f,
        Err(e) => return Ok(Err(Setup(e.to_string()))),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let result = SqliteState::export(&file.state, origin, |r| {
        let v = match r {
            Record::Cosigned { id, cosigned: c } => serde_json::json!({
                "kind": "cosigned",
                "id": id,
                "origin": c.origin,
                "size": c.size,
                "root": STANDARD.encode(c.root),
                "cosigned_at": c.cosigned_at,
                "note": c.cosigned_note(),
            }),
            Record::Evidence { id, evidence: e } => serde_json::json!({
                "kind": "evidence",
                "id": id,
                "origin": e.origin,
                "evidence": match e.kind { EvidenceKind::BadProof => "bad-proof", EvidenceKind::Fork => "fork" },
                "received_at": e.received_at,
                "reason": e.reason,
                "request": e.request,
            }),
        };
        writeln!(out, "{v}")
    });
    match result {
        Ok((c, e)) => {
            out.flush()?;
            eprintln!(
                "notarium-witness: exported {c} cosigned checkpoint(s) and {e} evidence record(s) for \"{origin}\""
            );
            Ok(Ok(()))
        }
        Err(crate::state::StoreError::Open { path, why }) => {
            Ok(Err(Setup(format!("witness state {path}: {why}"))))
        }
        Err(e) => Err(e.into()),
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (or with milliseconds) as Unix seconds.
fn parse_utc(s: &str) -> Option<i64> {
    let ms = if s.len() == 20 && s.ends_with('Z') {
        format!("{}.000Z", &s[..19])
    } else {
        s.to_string()
    };
    notarium_core::time::UtcMillis::parse(&ms)
        .ok()
        .map(|t| t.unix_seconds())
}

fn reset_clock(config: &Path, confirm_time: &str) -> anyhow::Result<Result<(), Setup>> {
    let file = match ConfigFile::read(config) {
        Ok(f) => f,
        Err(e) => return Ok(Err(Setup(e.to_string()))),
    };
    let Some(confirmed) = parse_utc(confirm_time) else {
        return Ok(Err(Setup(format!(
            "--confirm-time \"{confirm_time}\" is not a UTC time YYYY-MM-DDTHH:MM:SSZ"
        ))));
    };
    let clock = now();
    if (clock - confirmed).abs() > CONFIRM_TOLERANCE_S {
        return Ok(Err(Setup(format!(
            "the system clock reads {} but --confirm-time says {}: correct the clock first (nothing was changed)",
            seconds_text(clock),
            seconds_text(confirmed)
        ))));
    }
    let clock = clock.max(0) as u64;
    match SqliteState::reset_clock(&file.state, clock) {
        Ok(ClockReset::NotBehind { last }) => {
            println!(
                "nothing to reset: the clock ({}) is not behind the last cosignature ({}); nothing was changed",
                seconds_text(clock as i64),
                last.map_or_else(|| "none".to_string(), |t| seconds_text(t as i64))
            );
            Ok(Ok(()))
        }
        Ok(ClockReset::Reset { from, to }) => {
            println!(
                "the last cosignature time was {} ({} s ahead of the clock); it is now {}: the witness cosigns again from the clock's time. Cosignatures made while the clock was ahead keep their times (see `export`).",
                seconds_text(from as i64),
                from - to,
                seconds_text(to as i64)
            );
            Ok(Ok(()))
        }
        Err(crate::state::StoreError::Open { path, why }) => {
            Ok(Err(Setup(format!("witness state {path}: {why}"))))
        }
        Err(e) => Err(e.into()),
    }
}
