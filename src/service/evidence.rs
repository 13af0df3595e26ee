//! Evidence: submissions (one, or a batch: all or none), an entry's
//! status, lookup by digest, certificates (contract §8).

use super::{AppState, Caller, Error, Invalid, Missing, entry_of};
use crate::intake::Accepted;
use notarium_core::encoding::parse_hex32_any_case;
use notarium_core::entry::{Entry, MAX_METADATA_BYTES, Metadata};
use notarium_store::StoredEntry;
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::atomic::Ordering;

/// Largest batch.
pub const MAX_BATCH: usize = 1000;

/// Entries a lookup by digest answers at most.
const MAX_LOOKUP: u32 = 100;

/// One submission as the API takes it: `{"sha256": ..., "metadata": ...}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Submission<'a> {
    /// Borrowed from the request body unless it has escapes.
    #[serde(borrow)]
    sha256: Cow<'a, str>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRequest<'a> {
    #[serde(borrow)]
    items: Vec<Submission<'a>>,
}

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

/// Parses a JSON request body: `Invalid::Json` if it is not JSON at all,
/// `Invalid::Request` if it is JSON of the wrong shape.
pub(super) fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        let kind = if e.is_syntax() || e.is_eof() {
            Invalid::Json
        } else {
            Invalid::Request
        };
        Error::invalid(kind, e.to_string())
    })
}

/// A hex SHA-256 digest, in either case.
pub fn parse_sha256(text: &str) -> Result<[u8; 32], Error> {
    parse_hex32_any_case("sha256", text).map_err(|e| Error::invalid(Invalid::Sha256, e.to_string()))
}

/// Validates one item; `at` names it in batch errors.
fn validate(item: Submission, at: Option<usize>) -> Result<Item, Error> {
    let place = || at.map(|i| format!("items[{i}]: ")).unwrap_or_default();
    let digest = parse_hex32_any_case("sha256", &item.sha256)
        .map_err(|e| Error::invalid(Invalid::Sha256, format!("{}{e}", place())))?;
    let metadata = match item.metadata {
        None | Some(serde_json::Value::Null) => None,
        Some(v @ serde_json::Value::Object(_)) => Some(Metadata::normalise(&v).map_err(|_| {
            Error::invalid(
                Invalid::MetadataTooLarge,
                format!(
                    "{}metadata is larger than {MAX_METADATA_BYTES} bytes",
                    place()
                ),
            )
        })?),
        Some(_) => {
            return Err(Error::invalid(
                Invalid::Metadata,
                format!("{}metadata must be a JSON object", place()),
            ));
        }
    };
    Ok((digest, metadata))
}

/// A digest and its normalised metadata: one validated submission.
pub type Item = ([u8; 32], Option<Metadata>);

/// The body of `POST /v1/evidence`, parsed and validated: what the handler
/// stores, or the 4xx error it answers. Pure (no store, no runtime), so the
/// fuzz target `notary_request` calls exactly what the handler calls.
pub fn parse_submission(body: &[u8]) -> Result<Item, Error> {
    validate(parse_json::<Submission>(body)?, None)
}

/// The body of `POST /v1/evidence:batch`, parsed and validated (every item,
/// or the first error). Pure, as [`parse_submission`].
pub fn parse_batch(body: &[u8]) -> Result<Vec<Item>, Error> {
    let batch: BatchRequest = parse_json(body)?;
    if batch.items.is_empty() {
        return Err(Error::invalid(
            Invalid::EmptyBatch,
            "items must not be empty",
        ));
    }
    if batch.items.len() > MAX_BATCH {
        return Err(Error::invalid(
            Invalid::BatchTooLarge,
            format!("{} items; at most {MAX_BATCH} per batch", batch.items.len()),
        ));
    }
    batch
        .items
        .into_iter()
        .enumerate()
        .map(|(i, it)| validate(it, Some(i)))
        .collect()
}

/// Whether `id` has the form of an evidence id (32 lowercase hex
/// characters); any other is answered as not found.
pub fn is_evidence_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl AppState {
    /// `POST /v1/evidence`: one submission, durable when this returns.
    pub async fn submit(&self, caller: &Caller, body: &[u8]) -> Result<Accepted, Error> {
        let item = parse_submission(body)?;
        self.rate_limit(caller, 1)?;
        let accepted = self.intake.submit(&caller.tenant, vec![item]).await?;
        self.metrics.submissions.fetch_add(1, Ordering::Relaxed);
        accepted
            .into_iter()
            .next()
            .ok_or_else(|| Error::Internal("the intake answered no entry for one".into()))
    }

    /// `POST /v1/evidence:batch`: every item valid and stored, or none.
    pub async fn submit_batch(&self, caller: &Caller, body: &[u8]) -> Result<Vec<Accepted>, Error> {
        let items = parse_batch(body)?;
        self.rate_limit(caller, items.len())?;
        let n = items.len();
        let accepted = self.intake.submit(&caller.tenant, items).await?;
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
            Some(index) => self
                .store
                .first_final_covering(index)
                .await?
                .map(|f| f.size),
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
        Ok(crate::render::pdf(&self.renderer, &self.config, &self.verifier, id, json).await?)
    }
}
