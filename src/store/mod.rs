//! Opening the configured store, and reading the Merkle tree from it.

use notarium_core::error::MerkleError;
use notarium_core::merkle::{Hash, HashReader, NodeId};
use notarium_store::Store;
use std::cell::RefCell;
use std::collections::HashMap;
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
pub fn redact(url: &str) -> String {
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

/// Runs a core tree function over hashes stored in `store`. The core is
/// synchronous and the store is not, so this runs `f` twice: first to learn
/// which nodes it reads (which never depends on their values), then with
/// those nodes fetched in one query. O(log n) rows per proof.
pub async fn with_stored_hashes<T>(
    store: &dyn Store,
    f: impl Fn(&dyn HashReader) -> Result<T, MerkleError>,
) -> Result<T, MerkleError> {
    let recorder = Recorder::default();
    f(&recorder)?;
    let ids = recorder.ids.into_inner();
    let hashes = store
        .read_hashes(&ids)
        .await
        .map_err(|e| MerkleError::Store(e.to_string()))?;
    let map: HashMap<NodeId, Hash> = ids.into_iter().zip(hashes).collect();
    f(&MapReader(map))
}

#[derive(Default)]
struct Recorder {
    ids: RefCell<Vec<NodeId>>,
}

impl HashReader for Recorder {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MerkleError> {
        self.ids.borrow_mut().extend_from_slice(ids);
        Ok(vec![[0; 32]; ids.len()])
    }
}

struct MapReader(HashMap<NodeId, Hash>);

impl HashReader for MapReader {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MerkleError> {
        ids.iter()
            .map(|id| {
                self.0
                    .get(id)
                    .copied()
                    .ok_or_else(|| MerkleError::Store(format!("node {id:?} not fetched")))
            })
            .collect()
    }
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
