//! Tenants and their API keys (only a key's SHA-256 is stored).

use super::connection::{db_err, is};
use crate::{Result, StoreError};
use deadpool_postgres::GenericClient;
use notarium_core::merkle::Hash;
use tokio_postgres::error::SqlState;

pub(super) async fn add_tenant(
    client: &impl GenericClient,
    tenant: &str,
    now_ms: i64,
) -> Result<()> {
    match client
        .execute(
            "INSERT INTO tenants (tenant, created_ms) VALUES ($1, $2)",
            &[&tenant, &now_ms],
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is(&e, &SqlState::UNIQUE_VIOLATION) => {
            Err(StoreError::AlreadyExists(format!("tenant {tenant}")))
        }
        Err(e) => Err(db_err(e)),
    }
}

pub(super) async fn add_api_key(
    client: &impl GenericClient,
    tenant: &str,
    key_hash: &Hash,
    now_ms: i64,
) -> Result<()> {
    match client
        .execute(
            "INSERT INTO api_keys (key_hash, tenant, created_ms) VALUES ($1, $2, $3)",
            &[&key_hash.as_slice(), &tenant, &now_ms],
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is(&e, &SqlState::UNIQUE_VIOLATION) => {
            Err(StoreError::AlreadyExists("API key".into()))
        }
        Err(e) if is(&e, &SqlState::FOREIGN_KEY_VIOLATION) => {
            Err(StoreError::NotFound(format!("tenant {tenant}")))
        }
        Err(e) => Err(db_err(e)),
    }
}

pub(super) async fn tenant_for_key(
    client: &impl GenericClient,
    key_hash: &Hash,
) -> Result<Option<String>> {
    let stmt = client
        .prepare_cached("SELECT tenant FROM api_keys WHERE key_hash = $1")
        .await
        .map_err(db_err)?;
    let row = client
        .query_opt(&stmt, &[&key_hash.as_slice()])
        .await
        .map_err(db_err)?;
    Ok(row.map(|r| r.get(0)))
}
