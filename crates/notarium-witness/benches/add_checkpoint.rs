//! Durable add-checkpoint requests per second, against baselines measured in
//! the same run on the same machine:
//!
//! 1. raw SQLite: one durable commit per transaction (WAL, synchronous=FULL),
//!    the cost the witness would pay without group commit;
//! 2. a bare actix-web POST handler over HTTP (same client, same load);
//! 3. the witness over HTTP: actix + tlog-witness checks + ECDSA verify and
//!    sign + SQLite WAL synchronous=FULL with group commit, each answer
//!    durable before it is sent;
//! 4. the witness service without HTTP.
//!
//! Load: `LOGS` logs (each with its own notary key), one client task per
//! log submitting that log's next checkpoint (old size = the previous one,
//! with its consistency proof) as soon as the previous answer came back, so
//! every request is a real durable cosignature. Server CPU time is read from
//! /proc (per thread, client threads excluded) to give requests per second
//! per core. Run: `cargo bench -p notarium-witness`.

use actix_web::{App, HttpResponse, HttpServer, web};
use notarium_core::checkpoint::Checkpoint;
use notarium_core::encoding::b64;
use notarium_core::identity::{Role, certs_from_pem_file};
use notarium_log::SigningKey;
use notarium_log::sign::SignCheckpoint;
use notarium_log::tree::MemoryTree;
use notarium_witness::http::{AppState, bind};
use notarium_witness::state::SqliteState;
use notarium_witness::witness::{Identity, LogKeys, SystemClock, TrustedKey, Witness};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const LOGS: usize = 64;
const PHASE: Duration = Duration::from_secs(4);
/// Checkpoints prepared per log (more than a phase can use).
const STEPS: u64 = 600;
const CLIENT_THREAD: &str = "bench-client";

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// CPU nanoseconds of this process's threads, excluding the client's.
fn server_cpu_ns() -> u64 {
    let mut total = 0;
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let main_tid = std::process::id().to_string();
    for t in dir.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == CLIENT_THREAD || t.file_name().to_str() == Some(main_tid.as_str()) {
            continue;
        }
        let sched = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
        total += sched
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

struct Prepared {
    /// Per log, the request bodies in order (old = previous size).
    bodies: Vec<Vec<String>>,
    logs: Vec<LogKeys>,
}

fn prepare() -> Prepared {
    let mut tree = MemoryTree::new();
    for i in 0..STEPS * 3 {
        tree.push_leaf_data(format!("leaf {i}").as_bytes());
    }
    let mut bodies = Vec::new();
    let mut logs = Vec::new();
    for l in 0..LOGS {
        let origin = format!("bench{l}.example/log");
        let key = SigningKey::from_pkcs8_der(&SigningKey::generate_pkcs8().unwrap()).unwrap();
        logs.push(LogKeys {
            origin: origin.clone(),
            keys: vec![TrustedKey {
                key: key.public().clone(),
                subject: format!("CN={origin}"),
                not_before: 0,
                not_after: i64::MAX,
                until: None,
            }],
        });
        let mut v = Vec::new();
        let mut old = 0;
        for step in 1..=STEPS {
            // Sizes grow by 1 to 3 leaves: proofs of varying shape.
            let new = step * 3 - (step % 3);
            let cp = Checkpoint::new(&origin, new, tree.root_at(new).unwrap()).unwrap();
            let mut body = format!("old {old}\n");
            for h in tree.consistency_proof(old, new).unwrap() {
                body.push_str(&b64(&h));
                body.push('\n');
            }
            body.push('\n');
            body.push_str(&cp.signed_note(&key).unwrap().to_text());
            v.push(body);
            old = new;
        }
        bodies.push(v);
    }
    Prepared { bodies, logs }
}

fn witness(dir: &Path, logs: Vec<LogKeys>) -> Witness<SqliteState> {
    let cert =
        certs_from_pem_file(&std::fs::read_to_string(repo().join("certs/court.pem")).unwrap())
            .unwrap()
            .remove(0);
    let key = SigningKey::from_pkcs8_pem(
        &std::fs::read_to_string(repo().join("certs/court.key")).unwrap(),
    )
    .unwrap();
    let name = cert.common_name.clone().unwrap();
    let path = dir.join("state.sqlite");
    SqliteState::create(
        &path,
        &notarium_witness::state::sqlite::StateInfo {
            name: name.clone(),
            spki: b64(key.public().spki_der()),
            created_at: 0,
        },
    )
    .unwrap();
    let state = SqliteState::open(&path, 1000).unwrap();
    Witness::new(
        Identity {
            name,
            role: Role::of(&cert).unwrap(),
            key,
            certificate: cert,
        },
        logs,
        state,
        Arc::new(SystemClock),
    )
}

/// Runs an actix server on its own thread; returns its address and a stopper.
fn run_server(
    make: impl FnOnce() -> std::io::Result<(actix_web::dev::Server, SocketAddr)> + Send + 'static,
) -> (
    SocketAddr,
    actix_web::dev::ServerHandle,
    std::thread::JoinHandle<()>,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let (server, addr) = make().unwrap();
                tx.send((addr, server.handle())).unwrap();
                server.await.unwrap();
            })
        })
        .unwrap();
    let (addr, handle) = rx.recv().unwrap();
    (addr, handle, t)
}

#[derive(Debug)]
struct Measured {
    ok: u64,
    bad: u64,
    secs: f64,
    server_cpu_secs: f64,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.secs
    }
    fn per_core(&self) -> f64 {
        self.ok as f64 / self.server_cpu_secs.max(1e-9)
    }
}

/// One client task per log, each sending its log's bodies in order.
fn load(url: String, bodies: Arc<Vec<Vec<String>>>) -> Measured {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        notarium_http::tls::install_default_provider();
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(LOGS)
            .build()
            .unwrap();
        // Warm up the connections.
        for _ in 0..LOGS {
            let _ = client.get(format!("{url}/healthz")).send().await;
        }
        let ok = Arc::new(AtomicU64::new(0));
        let bad = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let cpu0 = server_cpu_ns();
        let start = Instant::now();
        let mut tasks = Vec::new();
        for l in 0..bodies.len() {
            let (client, url, bodies) = (client.clone(), url.clone(), bodies.clone());
            let (ok, bad, stop) = (ok.clone(), bad.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                for b in &bodies[l] {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = client
                        .post(format!("{url}/add-checkpoint"))
                        .body(b.clone())
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().as_u16() == 200 => {
                            let _ = r.bytes().await;
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => {
                            let s = r.status();
                            let t = r.text().await.unwrap_or_default();
                            if bad.fetch_add(1, Ordering::Relaxed) < 3 {
                                eprintln!("unexpected {s}: {t}");
                            }
                        }
                        Err(e) => {
                            bad.fetch_add(1, Ordering::Relaxed);
                            eprintln!("request failed: {e}");
                        }
                    }
                }
            }));
        }
        tokio::time::sleep(PHASE).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        let cpu = server_cpu_ns() - cpu0;
        Measured {
            ok: ok.load(Ordering::Relaxed),
            bad: bad.load(Ordering::Relaxed),
            secs,
            server_cpu_secs: cpu as f64 / 1e9,
        }
    })
}

fn raw_sqlite_commits(dir: &Path) -> f64 {
    let conn = rusqlite::Connection::open(dir.join("raw.sqlite")).unwrap();
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)")
        .unwrap();
    let row = vec![7u8; 400];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < PHASE {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        conn.execute("INSERT INTO t (v) VALUES (?1)", [&row])
            .unwrap();
        conn.execute_batch("COMMIT").unwrap();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    // `cargo test --benches` runs benches with no arguments but `--bench`
    // absent; keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        println!("add_checkpoint bench: run with `cargo bench -p notarium-witness`");
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = tempfile::tempdir().unwrap();
    println!("machine: {cores} core(s); {LOGS} logs, one client task per log; {PHASE:?} per phase");

    let raw = raw_sqlite_commits(dir.path());
    println!("baseline raw SQLite (WAL, synchronous=FULL, 1 commit per txn): {raw:>8.0} commits/s");

    let prepared = prepare();
    let bodies = Arc::new(prepared.bodies);

    let (addr, handle, t) = run_server(move || {
        let server = HttpServer::new(|| {
            App::new()
                .route(
                    "/add-checkpoint",
                    web::post().to(|body: web::Bytes| async move {
                        HttpResponse::Ok().body(format!("\u{2014} bare {}\n", body.len()))
                    }),
                )
                .route(
                    "/healthz",
                    web::get().to(|| async { HttpResponse::Ok().finish() }),
                )
        })
        .workers(cores)
        .disable_signals()
        .bind("127.0.0.1:0")?;
        let addr = server.addrs()[0];
        Ok((server.run(), addr))
    });
    let bare = load(format!("http://{addr}"), bodies.clone());
    actix_web::rt::System::new().block_on(handle.stop(true));
    t.join().unwrap();
    println!(
        "baseline bare actix POST handler over HTTP:            {:>8.0} req/s, {:>8.0} req/s per server core (failures: {})",
        bare.rate(),
        bare.per_core(),
        bare.bad
    );

    let w = witness(dir.path(), prepared.logs.clone());
    let data = web::Data::new(AppState::new(w));
    let d2 = data.clone();
    let (addr, handle, t) = run_server(move || {
        let b = bind(d2, "127.0.0.1:0".parse().unwrap(), "", Some(cores), false)?;
        Ok((b.server, b.addr))
    });
    let wit = load(format!("http://{addr}"), bodies.clone());
    actix_web::rt::System::new().block_on(handle.stop(true));
    t.join().unwrap();
    let stats = data.witness.state().stats();
    let commits = stats.commits.load(Ordering::Relaxed);
    let updates = stats.updates.load(Ordering::Relaxed);
    println!(
        "witness add-checkpoint over HTTP (durable, group commit): {:>8.0} req/s, {:>8.0} req/s per server core (failures: {}; {} commits, {:.1} updates per commit, largest {})",
        wit.rate(),
        wit.per_core(),
        wit.bad,
        commits,
        updates as f64 / commits.max(1) as f64,
        stats.largest_batch.load(Ordering::Relaxed)
    );
    drop(data);

    // The service alone, without HTTP: LOGS concurrent callers.
    let dir2 = tempfile::tempdir().unwrap();
    let w = Arc::new(witness(dir2.path(), prepared.logs));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .unwrap();
    let (n, secs) = rt.block_on(async {
        let start = Instant::now();
        let done = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for l in 0..LOGS {
            let (w, bodies, done, stop) = (w.clone(), bodies.clone(), done.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                for b in &bodies[l] {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    w.add_checkpoint(b.as_bytes()).await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        tokio::time::sleep(PHASE).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
        (done.load(Ordering::Relaxed), start.elapsed().as_secs_f64())
    });
    let service = n as f64 / secs;
    println!("witness service without HTTP (durable, group commit): {service:>8.0} req/s");

    println!();
    println!(
        "RESULT witness {:.0} req/s total on {cores} cores shared with the load generator; {:.0} req/s per server core (goal >= 2000)",
        wit.rate(),
        wit.per_core()
    );
    println!(
        "RESULT ratio to bare actix: {:.2} of its throughput, {:.2} of its per-core rate; {:.1}x raw one-commit-per-request SQLite",
        wit.rate() / bare.rate(),
        wit.per_core() / bare.per_core(),
        wit.rate() / raw
    );
    assert_eq!(wit.bad, 0, "every witness request must be cosigned");
}
