//! The notary's durable state behind one interface, with two
//! implementations: embedded SQLite (default, one process) and PostgreSQL
//! (any number of front-ends, one sequencer).
//!
//! Rules every implementation enforces (and the conformance suite checks):
//! - `insert_entries` is durable when it returns (fsync'd commit) and atomic:
//!   all rows or none.
//! - Exactly one sequencer writes the log. `acquire_sequencer` grants a
//!   [`Lease`] with a strictly increasing epoch; `append_batch` commits only
//!   if the lease's epoch is still the current one and the log size is the
//!   one the caller extended (fencing), so a deposed sequencer can never
//!   fork the log or leave a gap.
//! - Tree node hashes, checkpoints and final checkpoints are immutable once
//!   written.
#![forbid(unsafe_code)]

use async_trait::async_trait;
use notarium_core::entry::{Metadata, SubmitterId};
use notarium_core::merkle::Hash;
use notarium_log::tree::NodeId;

mod common;
pub mod postgres;
pub mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// A storage failure. `NotLeader` and `Conflict` are expected outcomes of
/// the sequencer fencing; the rest are operational errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("this process no longer holds the sequencer lease")]
    NotLeader,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("already exists: {0}")]
    AlreadyExists(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("database: {0}")]
    Database(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A submission, as stored before it is sequenced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntry {
    /// Opaque unique id (32 lowercase hex characters). The notary's is 48
    /// bits of milliseconds then 80 random bits; the store may name the
    /// entry anew when it stores it (see [`Store::insert_entries`]).
    pub id: String,
    /// The tenant's submitter id.
    pub tenant: SubmitterId,
    pub evidence_sha256: Hash,
    pub salt: [u8; 32],
    /// Exact metadata JSON text, if any.
    pub metadata: Option<Metadata>,
    /// Milliseconds since the Unix epoch.
    pub received_ms: i64,
    /// RFC 9162 leaf hash of the entry text.
    pub leaf_hash: Hash,
}

/// An `Idempotency-Key` on the entries `rows` (a range of the slice given
/// to [`Store::insert_claimed`]); claims of one call name distinct keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub tenant: SubmitterId,
    /// The header's value, as the client sent it (1 to 255 visible ASCII
    /// characters).
    pub key: String,
    /// SHA-256 of the endpoint and the request body.
    pub request: Hash,
    pub rows: std::ops::Range<usize>,
}

/// The earlier use of a claimed key: what it was for, the ids its entries
/// were stored under and the receipts first answered for them, in request
/// order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Earlier {
    pub request: Hash,
    pub ids: Vec<String>,
    pub receipts: Vec<String>,
}

/// How long a tenant's `Idempotency-Key` names its first request (contract
/// §9): 24 hours. Older keys are forgotten ([`Store::forget_keys`]).
pub const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// The rows of `entries` outside every claim whose answer is `Some`
/// (the rows a [`Store::insert_claimed`] call stores), in order.
pub(crate) fn unclaimed_rows(
    len: usize,
    claims: &[Claim],
    earlier: &[Option<Earlier>],
) -> Vec<usize> {
    let mut keep = vec![true; len];
    for (c, e) in claims.iter().zip(earlier) {
        if e.is_some() {
            keep[c.rows.clone()].iter_mut().for_each(|k| *k = false);
        }
    }
    (0..len).filter(|&i| keep[i]).collect()
}

/// Checks that `entries` are exactly the log indices `start..end`, in
/// order (what [`Store::sequenced_entries`] answers).
pub(crate) fn check_sequenced(entries: &[StoredEntry], start: u64, end: u64) -> Result<()> {
    let mut want = start;
    for e in entries {
        if e.log_index != Some(want) {
            return Err(StoreError::NotFound(format!("sequenced entry {want}")));
        }
        want += 1;
    }
    if want != end {
        return Err(StoreError::NotFound(format!("sequenced entry {want}")));
    }
    Ok(())
}

/// An entry and, once sequenced, its index in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    pub entry: NewEntry,
    pub log_index: Option<u64>,
}

/// A pending entry as the sequencer needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingLeaf {
    pub id: String,
    pub leaf_hash: Hash,
    /// Where the entry sits in the store's queue: opaque, handed back in
    /// [`Batch::entries`] so the store finds it without searching by id.
    pub queue_pos: u64,
}

/// A checkpoint signed by the notary (not yet, or not necessarily, final).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointRow {
    pub size: u64,
    pub root: Hash,
    /// The signed note with the notary's signature only.
    pub note: String,
    pub created_ms: i64,
}

/// A checkpoint whose cosignatures satisfy the policy. Frozen once written:
/// certificates built from it are byte-identical forever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalCheckpoint {
    pub size: u64,
    /// The signed note with the notary's signature and the cosignatures.
    pub note: String,
    /// Canonical PEM of every signer certificate and intermediate.
    pub certificates: Vec<String>,
    pub finalized_ms: i64,
}

/// An RFC 3161 timestamp token over a final checkpoint's body (contract
/// §9), stored only after the notary checked it: its imprint, nonce,
/// signature and chain. One per checkpoint and TSA; the first stored is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampToken {
    /// The final checkpoint's size.
    pub size: u64,
    /// The TSA, as configured (its URL).
    pub tsa: String,
    /// The DER TimeStampToken (CMS ContentInfo).
    pub token: Vec<u8>,
    /// Its genTime, Unix seconds.
    pub gen_time: i64,
    /// When the notary stored it, milliseconds since the Unix epoch.
    pub stored_ms: i64,
}

/// The right to sequence the log, fenced by `epoch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub epoch: i64,
    pub holder: String,
}

/// The log's head as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogState {
    pub size: u64,
    pub root: Hash,
    pub epoch: i64,
}

/// One sequenced batch, committed atomically by [`Store::append_batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The log size this batch extends.
    pub old_size: u64,
    /// Pending entries, as [`Store::next_pending`] returned them, in index
    /// order: the i-th gets index `old_size + i`.
    pub entries: Vec<PendingLeaf>,
    /// Every perfect subtree hash the new leaves complete.
    pub nodes: Vec<(NodeId, Hash)>,
    /// The checkpoint of the new size, signed by the notary.
    pub checkpoint: CheckpointRow,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations (idempotent).
    async fn migrate(&self) -> Result<()>;

    // Tenants and API keys.
    async fn add_tenant(&self, tenant: &SubmitterId, now_ms: i64) -> Result<()>;
    /// `key_hash`: SHA-256 of the API key (keys are 256-bit random).
    async fn add_api_key(&self, tenant: &SubmitterId, key_hash: &Hash, now_ms: i64) -> Result<()>;
    async fn tenant_for_key(&self, key_hash: &Hash) -> Result<Option<SubmitterId>>;

    // Submissions.
    /// Stores all entries in one durable transaction (group commit) and
    /// names them: on return each entry's `id` is the one it is stored and
    /// found under. SQLite keeps the id it was given (and refuses one it
    /// holds already: `AlreadyExists`); PostgreSQL names each entry by its
    /// commit group and slot and keeps the given id's last 56 bits as the
    /// id's random part (migration 0008), so it needs ids of 32 lowercase
    /// hex characters.
    async fn insert_entries(&self, entries: &mut [NewEntry]) -> Result<()>;
    /// [`Store::insert_entries`] for submissions that carry an
    /// `Idempotency-Key` (contract §9), in the same one transaction: each
    /// claim's key is recorded with the ids of its entries and their
    /// `receipts` (one per entry, aligned with `entries`), unless the
    /// tenant used the key at or after `since_ms`. Then that claim's rows
    /// are not stored and its answer is the [`Earlier`] use; a use before
    /// `since_ms` is forgotten and the key taken anew. Entries outside
    /// every claim are stored as by `insert_entries`. A concurrent use of
    /// the same key (another front-end) waits for the first to commit, so
    /// one key never names two sets of entries.
    async fn insert_claimed(
        &self,
        entries: &mut [NewEntry],
        claims: &[Claim],
        receipts: &[String],
        now_ms: i64,
        since_ms: i64,
    ) -> Result<Vec<Option<Earlier>>>;
    /// Deletes the `Idempotency-Key` records made before `before_ms` (they
    /// no longer name anything); returns how many.
    async fn forget_keys(&self, before_ms: i64) -> Result<u64>;
    /// An entry of `tenant` (None for another tenant's or unknown id).
    async fn get_entry(&self, tenant: &SubmitterId, id: &str) -> Result<Option<StoredEntry>>;
    /// The tenant's entries with this evidence digest, oldest first (at most `limit`).
    async fn find_entries(
        &self,
        tenant: &SubmitterId,
        evidence_sha256: &Hash,
        limit: u32,
    ) -> Result<Vec<StoredEntry>>;
    async fn pending_count(&self) -> Result<u64>;
    /// Reclaims the room of entries that have left the pending queue. On
    /// PostgreSQL each entry is inserted into the queue and deleted from it
    /// once; until a VACUUM the dead rows stay in the queue's table and its
    /// indexes (one of them keyed by digest, so at random), and the queue
    /// would grow with the log on a server where autovacuum is off or slow.
    /// The sequencer calls this every few seconds; it is cheap on a queue
    /// kept small. The default does nothing (stores that reuse room at once).
    async fn tidy_queue(&self) -> Result<()> {
        Ok(())
    }

    // Sequencing.
    /// Tries to become the sequencer; `None` when another process holds it.
    async fn acquire_sequencer(&self, holder: &str) -> Result<Option<Lease>>;
    /// Whether `lease` is still held (the connection holding it is alive
    /// and its epoch is current).
    async fn lease_alive(&self, lease: &Lease) -> Result<bool>;
    async fn release_sequencer(&self, lease: &Lease) -> Result<()>;
    async fn log_state(&self) -> Result<LogState>;
    /// The oldest pending entries, in submission order (by commit: the
    /// entries of one `insert_entries` call are consecutive).
    async fn next_pending(&self, limit: u32) -> Result<Vec<PendingLeaf>>;
    /// Commits a batch if `lease` is current and the log size is
    /// `batch.old_size`; otherwise `NotLeader` or `Conflict`, and nothing changes.
    /// The batch takes pending entries as `next_pending` returned them; a
    /// store may refuse (`Conflict`) one that skips or repeats an entry of
    /// one commit (PostgreSQL sequences each commit group front to back).
    async fn append_batch(&self, lease: &Lease, batch: &Batch) -> Result<()>;

    // The tree.
    /// Hashes of stored perfect subtrees, in the order asked; `NotFound`
    /// if any is missing.
    async fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>>;
    /// The hashes of the consecutive perfect subtrees `start..end` of
    /// 2^`level` leaves each, in order (a C2SP tlog-tiles hash tile is
    /// 256 of them at a level that is a multiple of 8); `NotFound` if any
    /// is missing. The stores read them in one query; this default asks
    /// [`Store::read_hashes`].
    async fn read_level(&self, level: u8, start: u64, end: u64) -> Result<Vec<Hash>> {
        let ids: Vec<NodeId> = (start..end).map(|i| NodeId::new(level, i)).collect();
        self.read_hashes(&ids).await
    }
    /// The sequenced entries with log indices `start..end`, in index order
    /// (each with its `log_index`), in one query; `NotFound` if any index
    /// in the range is not sequenced. For tlog-tiles entry bundles.
    async fn sequenced_entries(&self, start: u64, end: u64) -> Result<Vec<StoredEntry>>;

    // Checkpoints and witnessing.
    async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>>;
    async fn checkpoint(&self, size: u64) -> Result<Option<CheckpointRow>>;
    /// Records (or replaces) `witness`'s cosignature line for checkpoint `size`.
    async fn add_cosignature(
        &self,
        size: u64,
        witness: &str,
        line: &str,
        timestamp: u64,
    ) -> Result<()>;
    /// Cosignature lines stored for checkpoint `size`, as (witness, line).
    async fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>>;
    /// Freezes a final checkpoint; a second call for the same size is a no-op
    /// that keeps the first value.
    async fn finalize(&self, fin: &FinalCheckpoint) -> Result<()>;
    async fn latest_final(&self) -> Result<Option<FinalCheckpoint>>;
    /// The smallest final checkpoint whose tree includes leaf `index`.
    async fn first_final_covering(&self, index: u64) -> Result<Option<FinalCheckpoint>>;

    /// Stores a checked timestamp token for final checkpoint `t.size`
    /// (durable when this returns). A token already stored for this size
    /// and TSA is kept and this call changes nothing (idempotent);
    /// `NotFound` if the checkpoint is not final.
    async fn add_timestamp_token(&self, t: &TimestampToken) -> Result<()>;
    /// The tokens stored for final checkpoint `size`, ordered by TSA.
    async fn timestamp_tokens(&self, size: u64) -> Result<Vec<TimestampToken>>;
    /// The smallest final checkpoint with a size in `after+1 ..= through`
    /// that holds fewer than `required` timestamp tokens: what the stamping
    /// task works on next. One query, however many checkpoints it passes,
    /// so a restarted notary finds its place without walking its history.
    async fn first_final_lacking_tokens(
        &self,
        after: u64,
        through: u64,
        required: usize,
    ) -> Result<Option<FinalCheckpoint>>;

    /// The RFC 3161 token kept for the PDF seal signature whose imprint
    /// (SHA-256 of the signature value) this is, if any.
    async fn seal_token(&self, imprint: &Hash) -> Result<Option<Vec<u8>>>;
    /// Keeps a checked token for a PDF seal signature's imprint (durable
    /// when this returns) and returns the token kept: the first one given
    /// for an imprint stays, so every later PDF embeds the same token.
    async fn keep_seal_token(
        &self,
        imprint: &Hash,
        token: &[u8],
        stored_ms: i64,
    ) -> Result<Vec<u8>>;

    /// Store reachable (for /readyz).
    async fn ping(&self) -> Result<()>;
}
