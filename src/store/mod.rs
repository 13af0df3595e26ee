//! Opening the configured store, and reading the Merkle tree from it.

use notarium_core::merkle::Hash;
use notarium_log::TreeError;
use notarium_log::tree::{Frontier, Plan};
use notarium_store::{Store, StoreError};
use std::path::Path;
use std::sync::Arc;

/// Opens PostgreSQL when a URL is given, else the embedded SQLite file
/// `<data_dir>/notarium.db`; applies migrations.
pub async fn open(database_url: Option<&str>, data_dir: &Path) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = match database_url {
        Some(url) => Arc::new(
            notarium_store::postgres::PostgresStore::connect(url)
                .await
                .map_err(|e| anyhow::anyhow!("PostgreSQL {}: {e}", redact(url)))?,
        ),
        None => {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| anyhow::anyhow!("data directory {}: {e}", data_dir.display()))?;
            let path = data_dir.join("notarium.db");
            Arc::new(
                notarium_store::sqlite::SqliteStore::open(&path)
                    .map_err(|e| anyhow::anyhow!("SQLite store {}: {e}", path.display()))?,
            )
        }
    };
    store
        .migrate()
        .await
        .map_err(|e| anyhow::anyhow!("migrations: {e}"))?;
    Ok(store)
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Why the stored tree could not be read: the store failed, or it answered
/// hashes that do not fit what was asked (a bug or a damaged store, never
/// the caller's fault).
#[derive(Debug, thiserror::Error)]
pub enum TreeReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the store's tree hashes: {0}")]
    Inconsistent(TreeError),
}

/// Runs a proof plan over the stored tree: one read of the nodes the plan
/// lists, then the fold (O(log n) rows, one round trip).
pub async fn prove(store: &dyn Store, plan: &Plan) -> Result<Vec<Hash>, TreeReadError> {
    let hashes = store.read_hashes(plan.ids()).await?;
    plan.fold(&hashes).map_err(TreeReadError::Inconsistent)
}

/// The frontier (right edge) of the stored tree of `size`.
pub async fn frontier(store: &dyn Store, size: u64) -> Result<Frontier, TreeReadError> {
    let hashes = store.read_hashes(&Frontier::plan(size)).await?;
    Frontier::from_hashes(size, hashes).map_err(TreeReadError::Inconsistent)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
