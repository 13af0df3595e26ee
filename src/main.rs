//! `notarium`: the notary server, its admin commands, the business client
//! and the demo. Dispatch only; exit codes: 0 ok, 1 failure, 2 usage or
//! configuration error.

use clap::{Parser, Subcommand};
use notarium::config::FileConfig;
use notarium_core::entry::SubmitterId;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mimalloc instead of the system allocator: under load the notary spends
/// much of its time allocating and freeing small buffers (request bodies,
/// entry texts, receipts), which glibc malloc does slowly and behind
/// per-arena locks (docs/benchmarks.md, run 10).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "notarium",
    version,
    about = "Notarium: evidence notarization on a witnessed transparency log"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the notary server.
    Serve {
        /// TOML configuration (see examples/notary.toml).
        #[arg(long, default_value = "notarium.toml")]
        config: PathBuf,
        /// PostgreSQL URL (default: the embedded SQLite store in the data directory).
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// Notarize files: hash locally, submit the digests, wait, save certificates.
    Submit {
        /// Files or directories (recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The notary's base URL (http:// or https://).
        #[arg(long, env = "NOTARIUM_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// For an https:// server: a CA certificate (PEM; repeatable) to
        /// trust besides the system's roots, e.g. a private CA.
        #[arg(long = "ca", value_name = "PEM")]
        ca: Vec<PathBuf>,
        /// API key (or NOTARIUM_API_KEY).
        #[arg(long, env = "NOTARIUM_API_KEY", hide_env_values = true)]
        key: String,
        /// Extra metadata for every file, a JSON object, e.g. '{"case_reference":"(2026) 1234"}'.
        #[arg(long)]
        metadata: Option<String>,
        /// Where certificates, receipts and entries are saved.
        #[arg(long, default_value = "certificates")]
        out: PathBuf,
        /// Seconds to wait for the certificates.
        #[arg(long, default_value_t = 120)]
        wait: u64,
        /// Trust roots (PEM; repeatable): verify each receipt as it arrives
        /// and each certificate before saving it; save none that fails.
        #[arg(long = "trust", value_name = "PEM", requires = "certs")]
        trust: Vec<PathBuf>,
        /// With --trust: the notary's certificate and its chain (PEM;
        /// repeatable), which signs the receipts; its CN pins the log origin.
        #[arg(long = "certs", value_name = "PEM", requires = "trust")]
        certs: Vec<PathBuf>,
        /// With --trust: the witness policy certificates must meet
        /// (default: court>=1 arbitration>=1).
        #[arg(long, requires = "trust")]
        policy: Option<String>,
    },
    /// The whole platform on this machine: notary, court and arbitration
    /// witnesses, sample evidence notarized, certificates written and verified.
    Demo {
        /// The demo's data directory (reset at every run).
        #[arg(long, default_value = "notarium-demo")]
        dir: PathBuf,
        /// Where the notary listens (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Stop after verifying the certificates instead of serving.
        #[arg(long)]
        once: bool,
    },
    /// A DEVELOPMENT RFC 3161 timestamping authority over HTTP
    /// (POST / with application/timestamp-query), for the demo and tests.
    Tsa {
        /// Its key (PKCS#8 PEM, P-256): a development key.
        #[arg(long, default_value = "certs/tsa.key")]
        key: PathBuf,
        /// Its certificate (PEM), with the critical timeStamping EKU.
        #[arg(long, default_value = "certs/tsa.pem")]
        cert: PathBuf,
        /// Where it listens (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:3161")]
        listen: String,
    },
    /// Run a witness node (the notarium-witness command; used by the demo).
    #[command(hide = true)]
    Witness {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Follow a notary's log from its tiles into a local mirror, verify
    /// every checkpoint and compare it with witnesses' (docs/monitor.md).
    /// Exit: 0 ok, 1 split view or rollback found, 2 usage, 3 failure.
    #[command(subcommand_negates_reqs = true, args_conflicts_with_subcommands = true)]
    Monitor {
        #[command(subcommand)]
        command: Option<MonitorCommand>,
        #[command(flatten)]
        trust: notarium::monitor::TrustArgs,
        #[command(flatten)]
        follow: notarium::monitor::FollowArgs,
    },
    /// Tenants and API keys.
    Admin {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand, Debug)]
enum MonitorCommand {
    /// Check a certificate against the mirror: its checkpoint must carry
    /// the named witness's cosignature and be in the mirror's verified tree,
    /// and its entry must be the mirror's at its index. Exit: 0 held, 1 not
    /// held, 2 usage, 3 failure.
    Check {
        #[command(flatten)]
        check: notarium::monitor::CheckArgs,
        #[command(flatten)]
        trust: notarium::monitor::TrustArgs,
    },
}

#[derive(clap::Args, Debug)]
struct StoreArgs {
    /// Read the store location from this configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Data directory of the embedded store.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Tenants (businesses that submit evidence).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Append N synthetic entries of TENANT through the store's own insert
    /// and sequencing paths (for growth measurements; needs --config for the
    /// log key, and no notary sequencing meanwhile). See docs/benchmarks.md.
    BulkLoad {
        /// The tenant the entries belong to (must exist).
        #[arg(long, value_parser = SubmitterId::parse)]
        tenant: SubmitterId,
        /// How many entries to append.
        #[arg(long)]
        entries: u64,
        /// Entries per insert transaction and per checkpoint (1..=100000).
        #[arg(long, default_value_t = notarium::bulk::CHUNK)]
        chunk: usize,
    },
}

#[derive(Subcommand, Debug)]
enum TenantCommand {
    /// Add a tenant; NAME becomes its submitter id ([a-z0-9][a-z0-9._-]{0,62}).
    Add {
        #[arg(value_parser = SubmitterId::parse)]
        name: SubmitterId,
    },
}

#[derive(Subcommand, Debug)]
enum KeyCommand {
    /// Create an API key for TENANT; the key is printed once, only its hash is stored.
    Create {
        #[arg(value_parser = SubmitterId::parse)]
        tenant: SubmitterId,
    },
}

/// A problem the user can fix: exit 2.
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Usage {}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let json = std::env::var("NOTARIUM_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn base_dir(config: &Path) -> PathBuf {
    config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

async fn admin(store: StoreArgs, command: AdminCommand) -> anyhow::Result<()> {
    let (mut url, mut dir) = (store.database_url, store.data_dir);
    if let Some(path) = &store.config {
        let fc = FileConfig::load(path).map_err(|e| Usage(e.to_string()))?;
        url = url.or(fc.server.database_url);
        dir = dir.or_else(|| Some(base_dir(path).join(&fc.server.data_dir)));
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from("data"));
    if let AdminCommand::BulkLoad {
        tenant,
        entries,
        chunk,
    } = &command
    {
        let Some(path) = &store.config else {
            return Err(
                Usage("bulk-load needs --config (for the log key and origin)".into()).into(),
            );
        };
        let mut fc = FileConfig::load(path).map_err(|e| Usage(e.to_string()))?;
        fc.server.database_url = url;
        let cfg = fc
            .resolve(&base_dir(path))
            .map_err(|e| Usage(e.to_string()))?;
        let store = notarium::store::open(cfg.database_url.as_deref(), &cfg.data_dir).await?;
        let started = std::time::Instant::now();
        let done = notarium::bulk::load(
            store,
            cfg.key.clone(),
            cfg.origin.clone(),
            tenant,
            *entries,
            *chunk,
            |size| {
                eprint!(
                    "\rlog size {size}  ({:.0} s)",
                    started.elapsed().as_secs_f64()
                );
            },
        )
        .await
        .map_err(|e| match e.downcast::<notarium::bulk::NoTenant>() {
            Ok(e) => Usage(e.to_string()).into(),
            Err(e) => e,
        })?;
        eprintln!();
        println!(
            "appended {} entries in {:.1} s ({:.0}/s); log size {}",
            done.entries,
            done.seconds,
            done.entries as f64 / done.seconds.max(1e-9),
            done.log_size
        );
        return Ok(());
    }
    let store = notarium::store::open(url.as_deref(), &dir).await?;
    let now = notarium_log::clock::now().millis();
    match command {
        AdminCommand::Tenant {
            command: TenantCommand::Add { name },
        } => {
            store.add_tenant(&name, now).await.map_err(|e| match e {
                notarium_store::StoreError::AlreadyExists(_) => {
                    anyhow::Error::new(Usage(format!("tenant {name} already exists")))
                }
                e => e.into(),
            })?;
            println!("tenant {name} added");
        }
        AdminCommand::Key {
            command: KeyCommand::Create { tenant },
        } => {
            let key = notarium::service::new_api_key();
            store
                .add_api_key(&tenant, &notarium::service::key_hash(&key), now)
                .await
                .map_err(|e| match e {
                    notarium_store::StoreError::NotFound(_) => {
                        anyhow::Error::new(Usage(format!("no tenant {tenant}")))
                    }
                    e => e.into(),
                })?;
            eprintln!("API key for {tenant} (shown once; only its hash is stored):");
            println!("{key}");
        }
        AdminCommand::BulkLoad { .. } => unreachable!("handled above"),
    }
    Ok(())
}

/// The verification of `notarium submit --trust R --certs C [--policy P]`.
fn client_trust(
    trust: &[PathBuf],
    certs: &[PathBuf],
    policy: Option<&str>,
) -> anyhow::Result<Option<notarium::client::Trust>> {
    use notarium_core::identity::certs_from_pem_file;
    if trust.is_empty() {
        return Ok(None);
    }
    let read = |p: &PathBuf, what: &str| -> anyhow::Result<Vec<_>> {
        let text = std::fs::read_to_string(p)
            .map_err(|e| Usage(format!("{what} {}: {e}", p.display())))?;
        let c = certs_from_pem_file(&text)
            .map_err(|e| Usage(format!("{what} {}: {e}", p.display())))?;
        if c.is_empty() {
            return Err(Usage(format!("{what} {} holds no CERTIFICATE", p.display())).into());
        }
        Ok(c)
    };
    let mut roots = Vec::new();
    for p in trust {
        roots.extend(read(p, "--trust")?);
    }
    let mut notary_certs = Vec::new();
    for p in certs {
        notary_certs.extend(read(p, "--certs")?);
    }
    let roots =
        notarium_core::TrustRoots::new(roots).map_err(|e| Usage(format!("--trust: {e}")))?;
    let policy = match policy {
        Some(p) => notarium_core::Policy::parse(p).map_err(|e| Usage(format!("--policy: {e}")))?,
        None => notarium_core::Policy::default(),
    };
    let origin = notary_certs[0].common_name.clone();
    Ok(Some(notarium::client::Trust {
        verifier: notarium_core::Verifier::new(roots, origin, policy),
        notary_certs,
    }))
}

/// The `--ca` certificates; the server URL must be http(s).
fn client_cas(server: &str, files: &[PathBuf]) -> anyhow::Result<Vec<reqwest::Certificate>> {
    let lower = server.to_ascii_lowercase();
    if !lower.starts_with("https://") && !lower.starts_with("http://") {
        return Err(Usage(format!(
            "--server \"{server}\" is not an http:// or https:// URL"
        ))
        .into());
    }
    let mut out = Vec::new();
    for f in files {
        out.extend(notarium::config::load_cas(f, "--ca").map_err(|e| Usage(e.0))?);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn submit(
    paths: Vec<PathBuf>,
    server: String,
    key: String,
    metadata: Option<String>,
    out: PathBuf,
    wait: u64,
    trust: Option<notarium::client::Trust>,
    ca: Vec<reqwest::Certificate>,
) -> anyhow::Result<()> {
    let metadata = match metadata {
        None => None,
        Some(m) => match serde_json::from_str::<serde_json::Value>(&m) {
            Ok(serde_json::Value::Object(o)) => Some(o),
            _ => return Err(Usage(format!("--metadata must be a JSON object, got {m}")).into()),
        },
    };
    let files =
        notarium::client::collect_files(&paths).map_err(|e| Usage(format!("cannot read {e}")))?;
    if files.is_empty() {
        return Err(Usage("no files to submit".into()).into());
    }
    // One check before any file is hashed: an unreachable notary or a
    // certificate this client does not trust is said once, not per file.
    notarium::client::Client::new(&server, &key, &ca)
        .reachable()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the notary at {server}: {e}"))?;
    let opts = notarium::client::SubmitOptions {
        server,
        key,
        metadata,
        out,
        wait: std::time::Duration::from_secs(wait),
        quiet: false,
        trust,
        ca,
    };
    let results = notarium::client::submit_files(&files, &opts).await;
    let mut failed = 0;
    for r in &results {
        match (&r.certificate, &r.error) {
            (Some((json, pdf)), _) => println!(
                "final     {}  ->  {}  {}",
                r.path.display(),
                json.display(),
                pdf.display()
            ),
            (None, Some(e)) => {
                failed += 1;
                eprintln!("error     {}: {e}", r.path.display());
            }
            (None, None) => {}
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} files failed", results.len());
    }
    Ok(())
}

async fn serve(config: PathBuf, database_url: Option<String>) -> anyhow::Result<()> {
    let mut fc = FileConfig::load(&config).map_err(|e| Usage(e.to_string()))?;
    if database_url.is_some() {
        fc.server.database_url = database_url;
    }
    let cfg = fc
        .resolve(&base_dir(&config))
        .map_err(|e| Usage(e.to_string()))?;
    let running = notarium::server::start(cfg).await?;
    // Tests and scripts read the bound addresses (listen may use port 0);
    // the admin listener's first, so that it is known once the main one is.
    if let Some(a) = running.admin_addr {
        println!("notarium admin listening on {}://{a}", running.scheme);
    }
    println!(
        "notarium listening on {}://{}",
        running.scheme, running.addr
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    running.until_signal().await;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Witness { args } = cli.command {
        // The witness runs its own actix system and logging.
        return notarium_witness::cli::run(std::iter::once("notarium-witness".into()).chain(args));
    }
    // The demo speaks for itself on stdout; servers log at info.
    init_tracing(match cli.command {
        // The client says why a server certificate is refused itself.
        Command::Submit { .. } => "warn,rustls_platform_verifier=off",
        Command::Demo { .. } | Command::Monitor { .. } => "warn",
        _ => "info,actix_server=warn",
    });
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("notarium: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let command = match cli.command {
        // The monitor has its own exit codes (1: split view found, 3: failure).
        Command::Monitor {
            command: Some(MonitorCommand::Check { check, trust }),
            ..
        } => return notarium::monitor::check_main(trust, check),
        Command::Monitor {
            command: None,
            trust,
            follow,
        } => return notarium::monitor::follow_main(&rt, trust, follow),
        other => other,
    };
    let result = rt.block_on(async move {
        match command {
            Command::Serve {
                config,
                database_url,
            } => serve(config, database_url).await,
            Command::Admin { store, command } => admin(store, command).await,
            Command::Demo { dir, listen, once } => {
                let ok =
                    notarium::demo::run(notarium::demo::DemoOptions { dir, listen, once }).await?;
                if !ok {
                    anyhow::bail!("some demo certificates did not verify");
                }
                Ok(())
            }
            Command::Witness { .. } | Command::Monitor { .. } => {
                unreachable!("dispatched before")
            }
            Command::Tsa { key, cert, listen } => {
                let tsa = notarium::tsa::load(&key, &cert).map_err(Usage)?;
                notarium::tsa::serve(tsa, &listen).await
            }
            Command::Submit {
                paths,
                server,
                key,
                metadata,
                out,
                wait,
                trust,
                certs,
                policy,
                ca,
            } => {
                let trust = client_trust(&trust, &certs, policy.as_deref())?;
                let ca = client_cas(&server, &ca)?;
                submit(paths, server, key, metadata, out, wait, trust, ca).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("notarium: {e:#}");
            if e.downcast_ref::<Usage>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
