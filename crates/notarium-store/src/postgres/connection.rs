//! Connecting: the pool, the session settings every connection gets, and
//! driver errors as the store reports them.

use super::PostgresStore;
use crate::{Result, StoreError};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::time::Duration;
use tokio_postgres::error::SqlState;

/// Pooled connections at most.
const POOL_SIZE: usize = 16;

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`,
    /// with `sslmode` and `sslrootcert` as libpq reads them: see
    /// [`super::tls`]) and checks that it answers.
    pub async fn connect(url: &str) -> Result<Self> {
        let super::tls::Parsed {
            config: mut base,
            mode,
            tls,
        } = super::tls::parse(url)?;
        if base.get_application_name().is_none() {
            base.application_name("notarium");
        }
        let cfg = with_settings(base, &["synchronous_commit=on"]);
        let store = PostgresStore {
            pool: pool(cfg.clone(), tls.clone())?,
            lease_config: lease_settings(cfg),
            tls,
            ssl_mode: mode,
            lease: tokio::sync::Mutex::new(None),
        };
        store.check_synchronous_commit().await?;
        Ok(store)
    }

    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_err)
    }

    /// The first connection: the server answers, and keeps commits durable.
    async fn check_synchronous_commit(&self) -> Result<()> {
        let client = self.pool.get().await.map_err(|e| {
            StoreError::Database(format!(
                "cannot connect to PostgreSQL ({}, sslmode={}): {}",
                describe(&self.lease_config),
                self.ssl_mode.as_str(),
                match e {
                    deadpool_postgres::PoolError::Backend(e) => pg_text(&e),
                    e => e.to_string(),
                }
            ))
        })?;
        let sync: String = client
            .query_one("SHOW synchronous_commit", &[])
            .await
            .map_err(db_err)?
            .get(0);
        if sync != "on" {
            return Err(StoreError::Database(format!(
                "the server refused synchronous_commit=on (it is {sync})"
            )));
        }
        Ok(())
    }
}

fn pool(
    cfg: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
) -> Result<Pool> {
    let mgr = Manager::from_config(
        cfg,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(mgr)
        .max_size(POOL_SIZE)
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(Duration::from_secs(10)))
        .wait_timeout(Some(Duration::from_secs(30)))
        .build()
        .map_err(|e| StoreError::Database(format!("connection pool: {e}")))
}

/// The lease connection also asks the server to probe the client every
/// 10 s (gone after ~40 s), so a vanished sequencer host releases the lock
/// without waiting for the OS default of hours.
fn lease_settings(cfg: tokio_postgres::Config) -> tokio_postgres::Config {
    with_settings(
        cfg,
        &[
            "tcp_keepalives_idle=10",
            "tcp_keepalives_interval=10",
            "tcp_keepalives_count=3",
        ],
    )
}

/// Appends `-c name=value` settings to the connection's startup options.
fn with_settings(mut cfg: tokio_postgres::Config, settings: &[&str]) -> tokio_postgres::Config {
    let mut options = cfg.get_options().unwrap_or_default().to_owned();
    for s in settings {
        if !options.is_empty() {
            options.push(' ');
        }
        options.push_str("-c ");
        options.push_str(s);
    }
    cfg.options(&options);
    cfg
}

/// host:port/dbname as text, without credentials.
pub(super) fn describe(cfg: &tokio_postgres::Config) -> String {
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", cfg.get_dbname().unwrap_or(""))
}

/// A driver error as text, with the server's message and SQLSTATE if any.
pub(super) fn pg_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} ({})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(": ");
                s.push_str(d);
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(c) = src {
                s.push_str(": ");
                s.push_str(&c.to_string());
                src = c.source();
            }
            s
        }
    }
}

pub(super) fn db_err(e: tokio_postgres::Error) -> StoreError {
    StoreError::Database(pg_text(&e))
}

fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => db_err(e),
        e => StoreError::Database(format!("connection pool: {e}")),
    }
}

pub(super) fn is(e: &tokio_postgres::Error, code: &SqlState) -> bool {
    e.code() == Some(code)
}
