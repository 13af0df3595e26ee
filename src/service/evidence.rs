//! Evidence: submissions (one, or a batch: all or none), an entry's
//! status, lookup by digest, certificates (contract §8).

use super::{AppState, Caller, Error, Missing, entry_of};
use crate::intake::{Accepted, OnceKey};
use notarium_core::entry::Entry;
use notarium_request::{
    is_evidence_id, parse_batch, parse_idempotency_key, parse_sha256, parse_submission,
};
use notarium_store::StoredEntry;
use sha2::{Digest, Sha256};
use std::sync::atomic::Ordering;

/// Entries a lookup by digest answers at most.
const MAX_LOOKUP: u32 = 100;

/// What the notary knows of one of the caller's entries.
#[derive(Debug, Clone)]
pub struct EntryStatus {
    pub id: String,
    pub entry: Entry,
    /// Its index in the log, once sequenced.
    pub index: Option<u64>,
    /// The size of the first final checkpoint that covers it: set exactly
    /// when the entry is final (has a certificate).
    pub final_size: Option<u64>,
}

/// An `Idempotency-Key` header value (see [`parse_idempotency_key`]) and
/// the request it is for: SHA-256 of the endpoint, a newline and the
/// exact body bytes.
fn once_key(header: &[u8], endpoint: &str, body: &[u8]) -> Result<OnceKey, Error> {
    let key = parse_idempotency_key(header)?;
    let mut h = Sha256::new();
    h.update(endpoint.as_bytes());
    h.update(b"\n");
    h.update(body);
    Ok(OnceKey {
        key,
        request: h.finalize().into(),
    })
}

impl AppState {
    /// `POST /v1/evidence`: one submission, durable when this returns.
    /// Under an `Idempotency-Key` (contract §9; see [`once_key`]) a repeat
    /// within 24 hours stores nothing and gets the first answer.
    pub async fn submit(
        &self,
        caller: &Caller,
        body: &[u8],
        key: Option<&[u8]>,
    ) -> Result<Accepted, Error> {
        let once = key
            .map(|k| once_key(k, "POST /v1/evidence", body))
            .transpose()?;
        let item = parse_submission(body)?;
        self.rate_limit(caller, 1)?;
        let accepted = self
            .intake
            .submit_once(&caller.tenant, vec![item], once)
            .await?;
        self.metrics.submissions.fetch_add(1, Ordering::Relaxed);
        accepted
            .into_iter()
            .next()
            .ok_or_else(|| Error::Internal("the intake answered no entry for one".into()))
    }

    /// `POST /v1/evidence:batch`: every item valid and stored, or none;
    /// under an `Idempotency-Key`, as [`AppState::submit`].
    pub async fn submit_batch(
        &self,
        caller: &Caller,
        body: &[u8],
        key: Option<&[u8]>,
    ) -> Result<Vec<Accepted>, Error> {
        let once = key
            .map(|k| once_key(k, "POST /v1/evidence:batch", body))
            .transpose()?;
        let items = parse_batch(body)?;
        self.rate_limit(caller, items.len())?;
        let n = items.len();
        let accepted = self.intake.submit_once(&caller.tenant, items, once).await?;
        self.metrics
            .submissions
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(accepted)
    }

    /// The caller's entry `id`; another tenant's is indistinguishable from
    /// a missing one.
    async fn own_entry(&self, caller: &Caller, id: &str) -> Result<StoredEntry, Error> {
        let missing = || Error::NotFound(Missing::Evidence(id.to_string()));
        if !is_evidence_id(id) {
            return Err(missing());
        }
        self.store
            .get_entry(&caller.tenant, id)
            .await?
            .ok_or_else(missing)
    }

    async fn status_of(&self, e: StoredEntry) -> Result<EntryStatus, Error> {
        let final_size = match e.log_index {
            Some(index) => self.issuable(index).await?.map(|(f, _)| f.size),
            None => None,
        };
        Ok(EntryStatus {
            entry: entry_of(&e)?,
            id: e.entry.id,
            index: e.log_index,
            final_size,
        })
    }

    /// `GET /v1/evidence/{id}`
    pub async fn status(&self, caller: &Caller, id: &str) -> Result<EntryStatus, Error> {
        let e = self.own_entry(caller, id).await?;
        self.status_of(e).await
    }

    /// `GET /v1/evidence?sha256=`: the caller's entries with this digest.
    pub async fn lookup(&self, caller: &Caller, sha256: &str) -> Result<Vec<EntryStatus>, Error> {
        let digest = parse_sha256(sha256)?;
        let entries = self
            .store
            .find_entries(&caller.tenant, &digest, MAX_LOOKUP)
            .await?;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            out.push(self.status_of(e).await?);
        }
        Ok(out)
    }

    async fn final_certificate(&self, caller: &Caller, id: &str) -> Result<String, Error> {
        let e = self.own_entry(caller, id).await?;
        self.certificate(&e).await?.ok_or(Error::NotFinal)
    }

    /// `GET /v1/evidence/{id}/certificate.json`: the same bytes every time.
    pub async fn certificate_json(&self, caller: &Caller, id: &str) -> Result<String, Error> {
        self.final_certificate(caller, id).await
    }

    /// `GET /v1/evidence/{id}/certificate.pdf`
    pub async fn certificate_pdf(&self, caller: &Caller, id: &str) -> Result<Vec<u8>, Error> {
        let json = self.final_certificate(caller, id).await?;
        Ok(crate::render::pdf(
            &self.store,
            &self.renderer,
            &self.config,
            &self.verifier,
            id,
            json,
        )
        .await?)
    }
}
