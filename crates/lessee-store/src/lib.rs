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

mod sql;
#[cfg(feature = "testing")]
pub mod testing;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lessee_domain::{Account, AccountId, Application, Decision};

pub use sql::{Backend, PoolConfig, SqlStore};
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

/// The storage interface of lessee.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is, for logs and `/readyz`.
    fn backend(&self) -> Backend;
    /// Checks the database answers.
    async fn ping(&self) -> Result<()>;
    /// Applies pending schema migrations.
    async fn migrate(&self) -> Result<()>;

    /// Writes a new account with its application and first decision, honouring the
    /// idempotency key if one is given.
    async fn create_account(
        &self,
        account: &Account,
        application: &Application,
        idempotency: Option<&IdempotencyKey>,
    ) -> Result<Created>;
    async fn account(&self, id: AccountId) -> Result<Option<Account>>;
    async fn list_accounts(&self, filter: &AccountFilter, page: &Page) -> Result<Vec<Account>>;
    /// The account's decisions, oldest first; empty if the account does not exist.
    async fn decisions(&self, id: AccountId) -> Result<Vec<Decision>>;
    /// The stored application (personal data).
    async fn application(&self, id: AccountId) -> Result<Option<Application>>;

    async fn create_token(&self, token: &TokenRecord) -> Result<()>;
    async fn token(&self, id: &str) -> Result<Option<TokenRecord>>;
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>>;
    /// Marks a token revoked; false if there is no such live token.
    async fn revoke_token(&self, id: &str, at: DateTime<Utc>) -> Result<bool>;
    /// Number of live (unrevoked) tokens.
    async fn live_token_count(&self) -> Result<i64>;
}
