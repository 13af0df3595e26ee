//! `notarium serve`: wires the store, intake, sequencer, witnessing and the
//! HTTP API together, and shuts them down gracefully.

use crate::config::Config;
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::sequencer::Sequencer;
use crate::service::AppState;
use crate::witnessing::Witnessing;
use actix_web::{App, HttpServer, web};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A running notary.
pub struct Running {
    pub addr: std::net::SocketAddr,
    /// `https` when the listeners speak TLS (`server.tls_cert_file`), else
    /// `http`.
    pub scheme: &'static str,
    /// The admin listener's address (`server.admin_listen`), if any.
    pub admin_addr: Option<std::net::SocketAddr>,
    admin: Option<(
        actix_web::dev::ServerHandle,
        tokio::task::JoinHandle<std::io::Result<()>>,
    )>,
    shutdown: watch::Sender<bool>,
    server: actix_web::dev::ServerHandle,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    http: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Re-reads the TLS certificate and key on SIGHUP.
    reload: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops taking requests, finishes the batch in flight, stops.
    pub async fn stop(self) {
        if let Some(r) = &self.reload {
            r.abort();
        }
        self.server.stop(true).await;
        if let Some((h, task)) = self.admin {
            h.stop(true).await;
            let _ = task.await;
        }
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        let _ = self.http.await;
    }

    /// Waits for Ctrl-C or SIGTERM, then stops.
    pub async fn until_signal(self) {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing the batch in flight");
        self.stop().await;
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Opens the store and starts everything; returns once listening.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let config = Arc::new(config);
    let store = crate::store::open(config.database_url.as_deref(), &config.data_dir).await?;
    let renderer = crate::render::renderer(&config)?;
    let metrics = Arc::new(Metrics::default());
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (cp_tx, cp_rx) = watch::channel(0u64);
    let intake = Intake::start(
        store.clone(),
        config.key.clone(),
        config.origin.clone(),
        config.limits.intake_queue,
        config.limits.group_max,
        config.limits.intake_workers,
        metrics.clone(),
    );
    let holder = format!(
        "{}:{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "notarium".into()),
        std::process::id()
    );
    let sequencer = Sequencer {
        store: store.clone(),
        key: config.key.clone(),
        origin: config.origin.clone(),
        interval: Duration::from_millis(config.batch_interval_ms),
        batch_size: config.batch_size,
        metrics: metrics.clone(),
        holder,
        checkpoints: cp_tx,
    };
    let witnessing = Witnessing {
        store: store.clone(),
        witnesses: config.witnesses.clone(),
        policy: config.policy.clone(),
        policy_file: config.policy_file.clone(),
        notary_certs: config.notary_certs.clone(),
        metrics: metrics.clone(),
        timeout: Duration::from_millis(config.limits.witness_timeout_ms),
        stuck: Default::default(),
    };
    let mut tasks = vec![
        tokio::spawn(sequencer.run(shutdown_rx.clone())),
        tokio::spawn(witnessing.run(cp_rx, shutdown_rx.clone())),
    ];
    if let Some(tsa) = config.tsa.clone() {
        let stamping = crate::tsa::Stamping {
            store: store.clone(),
            tsa,
            metrics: metrics.clone(),
        };
        tasks.push(tokio::spawn(stamping.run(shutdown_rx.clone())));
    }
    if let Some(dir) = config.tiles_directory.clone() {
        tasks.push(tokio::spawn(crate::tiles::publish(
            store.clone(),
            dir,
            metrics.clone(),
            shutdown_rx.clone(),
        )));
    }
    let state = web::Data::new(AppState::new(
        store,
        intake,
        metrics,
        config.clone(),
        renderer,
    ));
    let admin_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(actix_web::middleware::from_fn(crate::api::count_refusals))
            .configure(crate::api::router)
    });
    // With a TLS certificate, the listeners speak only TLS.
    let server = match &config.tls {
        Some(tls) => server.bind_rustls_0_23(&config.listen, tls.server_config()),
        None => server.bind(&config.listen),
    }
    .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?
    .shutdown_timeout(30)
    .disable_signals();
    let admin = match &config.admin_listen {
        Some(listen) => {
            let state = admin_state;
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(state.clone())
                    .wrap(actix_web::middleware::from_fn(crate::api::count_refusals))
                    .configure(crate::api::admin_router)
            })
            .workers(1);
            let server = match &config.tls {
                Some(tls) => server.bind_rustls_0_23(listen, tls.server_config()),
                None => server.bind(listen),
            }
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen} (server.admin_listen): {e}"))?
            .shutdown_timeout(5)
            .disable_signals();
            let addr = *server.addrs().first().expect("bound");
            let server = server.run();
            let handle = server.handle();
            tracing::info!(%addr, "admin listener (/metrics)");
            Some((addr, handle, tokio::spawn(server)))
        }
        None => {
            if config.metrics_token.is_none() {
                tracing::warn!(
                    "/metrics is not served: set server.admin_listen or server.metrics_token (docs/operations.md)"
                );
            }
            None
        }
    };
    let addr = *server.addrs().first().expect("bound");
    let server = server.run();
    let handle = server.handle();
    let http = tokio::spawn(server);
    let reload = config.tls.clone().map(|tls| {
        #[cfg(unix)]
        return tokio::spawn(tls.reload_on_sighup());
        #[cfg(not(unix))]
        return tokio::spawn(async move { drop(tls) });
    });
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(%addr, %scheme, origin = %config.origin, "notary listening");
    Ok(Running {
        addr,
        scheme,
        reload,
        admin_addr: admin.as_ref().map(|a| a.0),
        admin: admin.map(|(_, h, t)| (h, t)),
        shutdown: shutdown_tx,
        server: handle,
        tasks,
        http,
    })
}
