//! For monitors and auditors: the latest final checkpoint and proofs.

use super::{AppState, Error, Missing, OutOfRange};
use crate::store::prove;
use crate::tiles::{self, Tile};
use notarium_core::merkle::Hash;
use notarium_log::tree::Plan;

impl AppState {
    /// `GET /v1/checkpoint`: the latest final checkpoint as a signed note
    /// with its cosignature lines.
    pub async fn final_checkpoint(&self) -> Result<String, Error> {
        match self.store.latest_final().await? {
            Some(f) => Ok(f.note),
            None => Err(Error::NotFound(Missing::FinalCheckpoint)),
        }
    }

    /// `GET /checkpoint` (tlog-tiles) and `GET /v1/checkpoint`'s tree
    /// size: that of the latest final checkpoint (0 before the first).
    pub async fn final_size(&self) -> Result<u64, Error> {
        Ok(self.store.latest_final().await?.map_or(0, |f| f.size))
    }

    /// `GET /tile/...`: a tlog-tiles tile or entry bundle of the latest
    /// final checkpoint's tree (404 beyond it).
    pub async fn tile(&self, tile: Tile) -> Result<Vec<u8>, Error> {
        let size = self.final_size().await?;
        tiles::read(&*self.store, tile, size).await
    }

    /// `GET /v1/proof/inclusion`: RFC 9162 inclusion proof of leaf `index`
    /// in the tree of `size`.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, Error> {
        let log_size = self.log_size_at_least(size).await?;
        if size > log_size || index >= size {
            return Err(Error::OutOfRange(OutOfRange::Inclusion {
                index,
                size,
                log_size,
            }));
        }
        let plan =
            Plan::inclusion(index, size).map_err(|e| Error::internal("a checked range", e))?;
        Ok(prove(&*self.store, &plan).await?)
    }

    /// `GET /v1/proof/consistency`: RFC 9162 consistency proof between the
    /// trees of sizes `old` and `new`.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, Error> {
        let log_size = self.log_size_at_least(new).await?;
        if new > log_size || old > new {
            return Err(Error::OutOfRange(OutOfRange::Consistency {
                old,
                new,
                log_size,
            }));
        }
        let plan =
            Plan::consistency(old, new).map_err(|e| Error::internal("a checked range", e))?;
        Ok(prove(&*self.store, &plan).await?)
    }
}
