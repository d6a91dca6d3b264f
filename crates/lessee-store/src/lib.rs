//! Storage for lessee.
//!
//! [`Store`] is the one interface the services use. [`SqlStore`] implements it on both
//! backends through sqlx's runtime-generic driver: the SQL is written once in the subset both
//! SQLite and PostgreSQL accept (`$N` placeholders, `ON CONFLICT`, BIGINT milliseconds, TEXT
//! JSON), and each backend has its own migrations so the schemas can diverge where it pays
//! (e.g. partitioned tables on PostgreSQL). SQLite writes go through a single connection
//! (SQLite has one writer; queuing in the pool beats `SQLITE_BUSY` retries) while reads use a
//! pool of their own; on PostgreSQL both are one pool.
//!
//! Invariants enforced here:
//! - an account, its first decision and its idempotency key are written in one transaction,
//!   so a crash leaves all or none of them;
//! - an idempotency key maps to exactly one account, even under concurrent replays from
//!   several server processes (primary key on `(scope, key)`; the loser reads the winner's).
#![forbid(unsafe_code)]

mod audit_batch;
mod audit_queue;
pub use audit_queue::QUEUE_SUFFIX as AUDIT_QUEUE_SUFFIX;
mod batch;
mod bulk;
pub mod keyblocks;
pub mod measures;
mod sql;
mod sql_jobs;
mod sql_lists;
mod sql_measures;
#[cfg(feature = "testing")]
pub mod testing;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lessee_audit::{AuditEvent, Hash, LogEntry, NodeId};
use lessee_domain::{Account, AccountId, Decision};

pub use bulk::NewAccount;
pub use measures::{ImpactRecord, ImpactWrite, MeasureStore, RegistryChange, RegistryDoc};
pub use sql::{Backend, PoolConfig, SqlStore};
pub use sql_lists::{AlertRecord, Disposition, ListVersion, NewListVersion, ScreeningStore, StoredEntry};
pub use sqlx::Error as SqlxError;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an account with this external_id already exists")]
    ExternalIdTaken { existing: Option<AccountId> },
    #[error("the idempotency key was used with a different request")]
    IdempotencyMismatch,
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("invalid database URL: {0}")]
    Config(String),
    #[error("audit log: {0}")]
    Audit(String),
    /// The account does not exist, or its personal data was destroyed.
    #[error("no such account")]
    NotFound,
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// An idempotency key as the store keeps it: scoped to the caller, with a hash of the request.
#[derive(Clone, Debug)]
pub struct IdempotencyKey {
    /// Whose key it is (the API token id): two callers' keys never collide.
    pub scope: String,
    pub key: String,
    /// SHA-256 of the request body, hex; a replay with another body is refused.
    pub request_hash: String,
}

/// A customer's application as stored: ciphertext under the customer's data key, and that key
/// wrapped by a key-encryption key held outside the database. The store never sees plaintext.
#[derive(Clone)]
pub struct SealedApplication {
    pub ciphertext: Vec<u8>,
    pub wrapped_key: Vec<u8>,
}

impl std::fmt::Debug for SealedApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedApplication({} bytes)", self.ciphertext.len())
    }
}

/// The [`BlindEntry::purpose`] of a screening key: the value is a keyed 64-bit hash in decimal,
/// stored compactly in its own table (`screening_keys`) rather than as a blind index row.
pub const SCREENING_KEY_PURPOSE: &str = "screening_key";

/// One keyed blind index of a value, for lookups by equality.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlindEntry {
    /// `email`, `phone`, `national_id`, ...
    pub purpose: String,
    /// Hex of the index.
    pub value: String,
    /// `customer`, `beneficial_owner:N`, `sub_lessee:ID`, `on_behalf_of:N`.
    pub subject: String,
}

/// An account row whose application is still plaintext (written before encryption existed).
#[derive(Clone)]
pub struct LegacyApplication {
    pub account_id: AccountId,
    pub json: String,
}

/// One access event as stored: the address and principal sealed, the address's prefix indexes.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub id: i64,
    pub account_id: AccountId,
    pub at: DateTime<Utc>,
    /// 1 access, 2 administrative.
    pub kind: i16,
    pub action: String,
    pub sealed: Vec<u8>,
    /// Blind indexes of the address's prefixes, finest first (64-bit truncations).
    pub ip: [i64; 4],
    /// The store's ingestion order (assigned on insert; ignored when writing). Pages are
    /// ordered by (`at`, `seq`).
    pub seq: i64,
}

/// What one compaction step did (see [`Store::compact_events`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compaction {
    /// Segments merged (0: nothing to do).
    pub merged: usize,
    /// Events in the segment they became.
    pub events: u64,
}

/// Segments merged at once by [`Store::compact_events`].
pub const COMPACTION_FANOUT: usize = 16;

/// A job to put on the queue (see [`Store::enqueue_jobs`]).
#[derive(Clone, Debug)]
pub struct NewJob {
    /// What to run, e.g. `rescreen.list`; the service dispatches on it.
    pub kind: String,
    /// At most one *pending* job per (`kind`, `key`): enqueueing a duplicate is a no-op. A job
    /// already running does not absorb a new one.
    pub key: Option<String>,
    /// Ids and versions, never personal data.
    pub payload: serde_json::Value,
    /// Not before.
    pub run_at: DateTime<Utc>,
}

/// A claimed job (see [`Store::claim_jobs`]).
#[derive(Clone, Debug)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub key: Option<String>,
    pub payload: serde_json::Value,
    /// Claims so far, this one included.
    pub attempts: i32,
}

/// Jobs of one kind in one state (`pending`, `running`, `done`, `dead`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct JobCount {
    pub kind: String,
    pub state: String,
    pub count: i64,
}

/// Which events to read.
#[derive(Clone, Debug)]
pub enum EventQuery {
    /// One account's events.
    Account(AccountId),
    /// Events whose address has one of these prefix indexes at this level (0 finest .. 3).
    IpPrefixes { level: usize, values: Vec<i64> },
}

/// A legal hold: on one account, or on every account seen from an address range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegalHold {
    pub id: String,
    pub account_id: Option<AccountId>,
    pub cidr: Option<String>,
    pub reason: String,
    pub reference: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
}

/// What `create_account` did.
#[derive(Clone, Debug)]
pub enum Created {
    /// A new account was written.
    New(Account),
    /// The idempotency key had been used for this same request: the account it created.
    Replayed(Account),
}

impl Created {
    pub fn account(&self) -> &Account {
        match self {
            Created::New(a) | Created::Replayed(a) => a,
        }
    }
}

/// Filters for listing accounts; `None` means any.
#[derive(Clone, Debug, Default)]
pub struct AccountFilter {
    pub external_id: Option<String>,
    pub outcome: Option<String>,
    pub classification: Option<String>,
    pub account_type: Option<String>,
    pub customer_kind: Option<String>,
}

/// Keyset pagination: accounts after `after` (ids are time-ordered), at most `limit`.
#[derive(Clone, Debug)]
pub struct Page {
    pub after: Option<AccountId>,
    pub limit: u32,
}

/// An API token as stored: the secret only as a hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub role: String,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A version of the verification policy (the written CIP), as installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRecord {
    /// 1, 2, …: the order of installation.
    pub version: i64,
    /// `name@version+sha256:…`, what decisions record.
    pub policy_id: String,
    pub sha256: String,
    /// The policy file as given.
    pub source: String,
    /// Why it changed.
    pub note: String,
    /// The token (or `local-operator`) that installed it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A one-time-code challenge: only the keyed hash of the code is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeRecord {
    pub account_id: AccountId,
    /// `email` or `phone`.
    pub channel: String,
    /// Hex of the keyed hash.
    pub hash: String,
    pub expires_at: DateTime<Utc>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// A decision waiting to be delivered to the provider.
#[derive(Clone, Debug)]
pub struct PendingDelivery {
    pub account_id: AccountId,
    pub seq: i64,
    pub external_id: String,
    pub decision: Decision,
    /// Attempts made before this one.
    pub attempts: i32,
}

/// A review case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewRecord {
    pub id: String,
    pub account_id: AccountId,
    /// `open`, `claimed`, `awaiting_second`, `closed`.
    pub status: String,
    /// The engine's outcome when the case was opened.
    pub engine_outcome: String,
    /// `manual_review` (opened by a decision) or the analyst's reason.
    pub reason: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub claimed_by: Option<String>,
    pub proposed_outcome: Option<String>,
    pub proposed_by: Option<String>,
    pub proposed_note: Option<String>,
    pub second_by: Option<String>,
    pub decided_outcome: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// The storage interface of lessee.
#[async_trait]
pub trait Store: ScreeningStore + MeasureStore + Send + Sync + 'static {
    /// Which backend this is, for logs and `/readyz`.
    fn backend(&self) -> Backend;
    /// Checks the database answers.
    async fn ping(&self) -> Result<()>;
    /// Applies pending schema migrations.
    async fn migrate(&self) -> Result<()>;

    /// Writes a new account with its sealed application, blind indexes, first decision and an
    /// audit record, in one transaction, honouring the idempotency key if one is given.
    async fn create_account(
        &self,
        account: &Account,
        application: &SealedApplication,
        indexes: &[BlindEntry],
        audit: &AuditEvent,
        idempotency: Option<&IdempotencyKey>,
    ) -> Result<Created>;
    async fn account(&self, id: AccountId) -> Result<Option<Account>>;
    /// Several accounts by id in one query (missing ids are left out).
    async fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>>;
    async fn list_accounts(&self, filter: &AccountFilter, page: &Page) -> Result<Vec<Account>>;
    /// The rows `list_accounts` returns without a filter, for scans of every account (a
    /// re-evaluation). SQL stores read a page as one aggregated row: the same rows, without
    /// a hand-off from the database driver per row.
    async fn scan_accounts(&self, page: &Page) -> Result<Vec<Account>> {
        self.list_accounts(&AccountFilter::default(), page).await
    }
    /// The account's decisions, oldest first; empty if the account does not exist.
    async fn decisions(&self, id: AccountId) -> Result<Vec<Decision>>;
    /// The stored application, sealed.
    async fn sealed_application(&self, id: AccountId) -> Result<Option<SealedApplication>>;
    /// The sealed applications of `ids` that have one (destroyed or never sealed: absent), in
    /// no particular order. One statement per few hundred ids where the backend allows it.
    async fn sealed_applications(&self, ids: &[AccountId]) -> Result<Vec<(AccountId, SealedApplication)>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(s) = self.sealed_application(*id).await? {
                out.push((*id, s));
            }
        }
        Ok(out)
    }
    /// Accounts with a blind index of this purpose and value.
    async fn accounts_by_blind_index(&self, purpose: &str, value: &str) -> Result<Vec<AccountId>>;
    /// Rows still holding a plaintext application, up to `limit`.
    async fn legacy_applications(&self, limit: u32) -> Result<Vec<LegacyApplication>>;
    /// Replaces a plaintext application by its sealed form (and indexes), in one transaction.
    async fn seal_legacy(
        &self,
        id: AccountId,
        sealed: &SealedApplication,
        indexes: &[BlindEntry],
        at: DateTime<Utc>,
    ) -> Result<()>;

    /// Wrapped data keys after `after` (account id order), at most `limit`.
    async fn customer_keys(&self, after: Option<AccountId>, limit: u32) -> Result<Vec<(AccountId, Vec<u8>)>>;
    /// Replaces a wrapped data key (after a rewrap), if it is still `old`.
    async fn replace_customer_key(&self, id: AccountId, old: &[u8], new: &[u8]) -> Result<bool>;

    /// Resolves provider external ids to account ids (unknown ones are left out).
    async fn account_ids_by_external(&self, external_ids: &[String]) -> Result<Vec<(String, AccountId)>>;
    /// Wrapped data keys of these accounts.
    async fn wrapped_keys(&self, ids: &[AccountId]) -> Result<Vec<(AccountId, Vec<u8>)>>;
    /// Writes a batch of events and moves each account's `last_accessed_at` forward, with an
    /// audit record, in one transaction.
    async fn insert_events(&self, events: &[StoredEvent], audit: &AuditEvent) -> Result<()>;
    /// [`Store::insert_events`], and in the same transaction the notes of
    /// [`Store::open_reviews_noting`] for `noted` at `noted_at` (one writer transaction per
    /// batch instead of two).
    async fn insert_events_noting(
        &self,
        events: &[StoredEvent],
        audit: &AuditEvent,
        noted: &[(AccountId, String)],
        noted_at: DateTime<Utc>,
    ) -> Result<()>;
    /// Events in `[from, to)` (ms) matching the query, ordered by (at, seq), after `after`
    /// (an (at, seq) pair), at most `limit`.
    async fn events(
        &self,
        query: &EventQuery,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(i64, i64)>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>>;
    /// One step of the access-event compactor: merges the oldest [`COMPACTION_FANOUT`]
    /// segments of the lowest tier that has that many, among segments of fewer than
    /// `max_events / COMPACTION_FANOUT` events, into one sorted segment of the next tier.
    /// Safe to run from any number of processes at once; queries see either the old segments
    /// or the new one, never both or neither.
    async fn compact_events(&self, max_events: u64) -> Result<Compaction>;
    /// Number of access-event segments (what a query visits at most).
    async fn event_segments(&self) -> Result<u64>;
    /// The account's last access, if any event was seen.
    async fn last_accessed(&self, id: AccountId) -> Result<Option<DateTime<Utc>>>;

    /// Marks an account closed; false if it is unknown or already closed.
    async fn close_account(&self, id: AccountId, at: DateTime<Utc>, audit: &AuditEvent) -> Result<bool>;
    async fn create_hold(&self, hold: &LegalHold, audit: &AuditEvent) -> Result<()>;
    /// Releases a hold; false if it is unknown or already released.
    async fn release_hold(&self, id: &str, at: DateTime<Utc>, audit: &AuditEvent) -> Result<bool>;
    async fn holds(&self, include_released: bool) -> Result<Vec<LegalHold>>;
    /// Closed, not destroyed accounts whose closure and last access are both at or before `cutoff`.
    async fn retention_candidates(&self, cutoff: DateTime<Utc>, limit: u32) -> Result<Vec<AccountId>>;
    /// Destroys an account's personal data: deletes its data key (its sealed application and
    /// access events become unreadable), its sealed application and blind indexes, with an audit
    /// record, in one transaction.
    async fn destroy_account(&self, id: AccountId, at: DateTime<Utc>, audit: &AuditEvent) -> Result<()>;

    /// Writes one audit record durably (its own transaction); the sequencer gives it its place
    /// in the tree.
    async fn append_audit(&self, event: &AuditEvent) -> Result<()>;
    /// Sequences up to `limit` pending audit records into the tree, in one transaction; returns
    /// how many. Safe with many processes (serialized by the database).
    async fn sequence_audit(&self, limit: u32) -> Result<u64>;
    /// Number of audit records.
    async fn audit_size(&self) -> Result<u64>;
    /// Audit records from `from` (a sequence number), at most `limit`, in order.
    async fn audit_entries(&self, from: u64, limit: u32) -> Result<Vec<LogEntry>>;
    /// The sequenced records whose target id is `target_id` with `from <= seq < below`, in order
    /// (at most `limit`).
    async fn audit_entries_for_target(
        &self,
        target_id: &str,
        from: u64,
        below: u64,
        limit: u32,
    ) -> Result<Vec<LogEntry>>;
    /// Stored Merkle node hashes among `ids` (missing ones are left out).
    async fn audit_nodes(&self, ids: &[NodeId]) -> Result<Vec<(NodeId, Hash)>>;
    /// Stores a signed checkpoint note for a tree size.
    async fn save_checkpoint(&self, tree_size: u64, note: &str, at: DateTime<Utc>) -> Result<()>;
    /// The newest signed checkpoint: (tree size, note).
    async fn latest_checkpoint(&self) -> Result<Option<(u64, String)>>;

    /// Installs a policy version and enqueues its audit record, in one transaction. False when
    /// `record.version` is already taken (another server installed one first).
    async fn add_policy(&self, record: &PolicyRecord, audit: &AuditEvent) -> Result<bool>;
    /// Every installed version, oldest first.
    async fn policies(&self) -> Result<Vec<PolicyRecord>>;
    /// The version in force: the latest installed.
    async fn current_policy(&self) -> Result<Option<PolicyRecord>>;
    /// The number of the latest version (cheap; servers poll it to pick up changes).
    async fn current_policy_version(&self) -> Result<Option<i64>>;

    /// Records a new decision on an account (the next sequence number), writes the updated
    /// account view (`account.decision` is the new decision; the classification may change),
    /// and enqueues the audit record: one transaction. Returns the decision's sequence number.
    async fn record_decision(&self, account: &Account, audit: &AuditEvent) -> Result<i64>;
    /// A resubmission: replaces the sealed application (under the account's existing data key)
    /// and its blind indexes, and records the new decision, in one transaction.
    async fn replace_application(
        &self,
        account: &Account,
        ciphertext: &[u8],
        indexes: &[BlindEntry],
        audit: &AuditEvent,
    ) -> Result<i64>;

    /// Stores a challenge (replacing any earlier one on the channel) and its audit record.
    async fn put_challenge(&self, c: &ChallengeRecord, audit: &AuditEvent) -> Result<()>;
    async fn challenge(&self, id: AccountId, channel: &str) -> Result<Option<ChallengeRecord>>;
    /// Counts an attempt if no one else did since `seen` was read (compare-and-set): false when
    /// another attempt raced this one.
    async fn count_attempt(&self, id: AccountId, channel: &str, seen: i32) -> Result<bool>;
    /// Evidence states of an account: (kind, state), e.g. ("email", "confirmed").
    async fn evidence_states(&self, id: AccountId) -> Result<Vec<(String, String)>>;
    /// Confirms evidence: deletes the channel's challenge, sets the evidence state, records the
    /// account's new decision and the audit record, in one transaction.
    async fn confirm_evidence(&self, account: &Account, channel: &str, state: &str, audit: &AuditEvent) -> Result<i64>;

    /// Applies a vendor's result once: records the delivery id, sets the evidence state, records
    /// the account's new decision and the audit record, in one transaction. False (and nothing
    /// written) when this delivery was applied before.
    async fn apply_vendor_result(
        &self,
        vendor: &str,
        delivery_id: &str,
        account: &Account,
        kind: &str,
        state: &str,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Opens a review case on an account (one open case per account): false when one is open.
    async fn open_review(
        &self,
        account: AccountId,
        reason: &str,
        by: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Review cases with this status (all when `None`), oldest first.
    async fn reviews(&self, status: Option<&str>, account: Option<AccountId>, limit: u32) -> Result<Vec<ReviewRecord>>;
    async fn review(&self, id: &str) -> Result<Option<ReviewRecord>>;
    /// Writes a case's new state if its status is still `expected` (compare-and-set); with
    /// `decision`, also records the account's new decision. One transaction with the audit.
    async fn update_review(
        &self,
        review: &ReviewRecord,
        expected: &str,
        decision: Option<&Account>,
        audit: &AuditEvent,
    ) -> Result<bool>;
    /// Open, not destroyed accounts whose current decision is older than `cutoff` (at most
    /// `limit`, oldest first): due for periodic re-verification.
    async fn accounts_decided_before(&self, cutoff: DateTime<Utc>, limit: u32) -> Result<Vec<AccountId>>;
    /// Confirmed evidence of `kinds` recorded before `cutoff`: (account, kind), to expire.
    async fn evidence_confirmed_before(
        &self,
        kinds: &[&str],
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(AccountId, String)>>;
    /// Countries these accounts were already seen accessing from: (account, ISO code).
    async fn access_countries(&self, ids: &[AccountId]) -> Result<Vec<(AccountId, String)>>;
    /// Opens review cases (account, reason, audit record of the opening) opened by `by` at
    /// `at`, and notes that the accounts in `noted` were seen accessing from those countries
    /// (what [`Store::access_countries`] reads), all in one transaction: a country is noted if
    /// and only if its case is open (with no cases, it only notes). Returns the accounts a case was
    /// opened on; the others had one open already (or do not exist).
    async fn open_reviews_noting(
        &self,
        cases: &[(AccountId, String, AuditEvent)],
        by: &str,
        at: DateTime<Utc>,
        noted: &[(AccountId, String)],
    ) -> Result<Vec<AccountId>>;
    /// The accounts among `ids` that have a review case not yet closed.
    async fn open_review_accounts(&self, ids: &[AccountId]) -> Result<Vec<AccountId>>;
    /// Claims up to `limit` undelivered decisions due at `now` for `lease_ms` (another deliverer
    /// skips them meanwhile), oldest first.
    async fn claim_deliveries(&self, now: DateTime<Utc>, lease_ms: i64, limit: u32) -> Result<Vec<PendingDelivery>>;
    /// Marks a decision delivered.
    async fn mark_delivered(&self, id: AccountId, seq: i64, at: DateTime<Utc>) -> Result<()>;
    /// Records a failed attempt and when to try again (`None`: never, a permanent failure).
    async fn mark_undelivered(&self, id: AccountId, seq: i64, next: Option<DateTime<Utc>>, error: &str) -> Result<()>;
    /// Decisions not delivered: (due or waiting, given up).
    async fn delivery_backlog(&self) -> Result<(i64, i64)>;

    /// Puts jobs on the queue (one transaction); returns how many were new (not deduplicated).
    async fn enqueue_jobs(&self, jobs: &[NewJob]) -> Result<usize>;
    /// Claims up to `limit` jobs due at `now` for `worker`, for `lease_ms`: pending jobs, and
    /// running jobs whose lease ran out (their worker died). Other workers skip them meanwhile
    /// (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer). Oldest due first.
    async fn claim_jobs(&self, worker: &str, now: DateTime<Utc>, lease_ms: i64, limit: u32) -> Result<Vec<Job>>;
    /// Marks a job done; false if `worker` no longer holds it (its lease ran out and another
    /// worker claimed it).
    async fn complete_job(&self, id: i64, worker: &str) -> Result<bool>;
    /// Records a failed run: pending again at `retry_at`, or `dead` (`None`). False if `worker`
    /// no longer holds it.
    async fn fail_job(&self, id: i64, worker: &str, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<bool>;
    /// Jobs by kind and state.
    async fn job_counts(&self) -> Result<Vec<JobCount>>;
    /// Deletes jobs finished before `before` (wall clock, as `created_at` and `finished_at`
    /// are: they are for operators, not for the schedule); returns how many.
    async fn prune_jobs(&self, before: DateTime<Utc>) -> Result<u64>;

    async fn create_token(&self, token: &TokenRecord) -> Result<()>;
    async fn token(&self, id: &str) -> Result<Option<TokenRecord>>;
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>>;
    /// Marks a token revoked; false if there is no such live token.
    async fn revoke_token(&self, id: &str, at: DateTime<Utc>) -> Result<bool>;
    /// Number of live (unrevoked) tokens.
    async fn live_token_count(&self) -> Result<i64>;
}
