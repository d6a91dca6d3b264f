//! lessee's services: every operation the HTTP API and the CLI offer, in one place, so both
//! edges stay thin. A service function authorizes the caller, runs the domain rules and
//! writes through the [`Store`].
#![forbid(unsafe_code)]

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod error;
pub mod events;
pub mod export;
mod facts;
pub mod geo;
pub mod jobs;
pub mod measures;
pub mod outbox;
mod person_match;
pub mod policy;
pub mod rescreen;
pub mod resellers;
pub mod retention;
pub mod review;
pub mod screening;
pub mod vault;
pub mod verification;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lessee_domain::ClassificationConfig;
use lessee_store::Store;

pub use accounts::{AccountPage, ListQuery, Opened};
pub use audit::{AuditKeys, RequestContext};
pub use auth::{NewToken, Permission, Principal, Purpose, Role, TokenInfo};
pub use error::{Error, ErrorCode, Result};
pub use events::{BatchMode, EventPage, IngestReport};
pub use geo::{EmbeddedGeoIp, GeoIp};
pub use vault::Vault;

/// Where the services read the time. Tests and benchmarks drive it.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Settings of the services.
#[derive(Clone, Debug)]
pub struct Config {
    pub classification: ClassificationConfig,
    /// Records are kept at least this long after the later of closure and last access
    /// (the proposed rule: two years).
    pub retention_days: i64,
    /// Accounts are verified again when their decision is older than this.
    pub reverify_days: i64,
    /// Email and phone confirmations lapse after this many days.
    pub contact_evidence_days: i64,
    /// The access-event compactor stops merging segments at about this many events (larger
    /// merges hold SQLite's one writer longer; fewer segments make queries cheaper).
    pub event_segment_events: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            classification: ClassificationConfig::default(),
            retention_days: 730,
            reverify_days: 365,
            contact_evidence_days: 365,
            event_segment_events: 1_000_000,
        }
    }
}

/// The services, shared by every request.
pub struct Service {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    geo: Arc<dyn GeoIp>,
    vault: Arc<Vault>,
    audit_keys: Arc<AuditKeys>,
    config: Config,
    /// The verification policy in force, loaded from the database on first use.
    policy: std::sync::RwLock<Option<Arc<policy::LoadedPolicy>>>,
    /// How one-time codes reach customers.
    messaging: verification::Messaging,
    /// Secrets that sign identity-verification vendors' webhooks.
    vendor_secrets: verification::VendorSecrets,
    /// The screener built from the current list versions, rebuilt when they change.
    screening: std::sync::RwLock<Option<Arc<screening::Loaded>>>,
    /// Facts the ingestion path looks up on every batch and that never change once stored.
    facts: Arc<events::IngestFacts>,
}

impl Service {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        geo: Arc<dyn GeoIp>,
        vault: Arc<Vault>,
        audit_keys: Arc<AuditKeys>,
        config: Config,
    ) -> Self {
        Service {
            store,
            clock,
            geo,
            vault,
            audit_keys,
            config,
            policy: std::sync::RwLock::new(None),
            messaging: verification::Messaging::default(),
            vendor_secrets: verification::VendorSecrets::default(),
            screening: std::sync::RwLock::new(None),
            facts: Arc::default(),
        }
    }

    /// The same services accepting vendor webhooks signed with these secrets.
    #[must_use]
    pub fn with_vendor_secrets(mut self, secrets: verification::VendorSecrets) -> Self {
        self.vendor_secrets = secrets;
        self
    }

    /// The same services deciding under this compiled policy instead of the database's (for
    /// benchmarks that compare policies; `serve` never calls it). The pin holds until
    /// `refresh_policy` sees another version in the database.
    #[must_use]
    pub fn with_pinned_policy(self, policy: lessee_policy::Policy) -> Self {
        if let Ok(mut g) = self.policy.write() {
            *g = Some(Arc::new(policy::LoadedPolicy { version: 0, policy }));
        }
        self
    }

    /// The same services with these code senders.
    #[must_use]
    pub fn with_messaging(mut self, messaging: verification::Messaging) -> Self {
        self.messaging = messaging;
        self
    }

    /// The services with the system clock and the embedded IP geolocation.
    pub fn with_defaults(store: Arc<dyn Store>, vault: Arc<Vault>, audit_keys: Arc<AuditKeys>) -> Self {
        Service::new(store, Arc::new(SystemClock), Arc::new(EmbeddedGeoIp), vault, audit_keys, Config::default())
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Ready when the database answers.
    pub async fn ready(&self) -> Result<()> {
        self.store.ping().await.map_err(Error::from)
    }

    /// Authenticates a presented bearer token.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let (id, secret) = auth::split(token)?;
        let record = self.store.token(id).await?;
        auth::check(record.as_ref(), secret)
    }

    /// Creates a token; its plaintext is returned once and never stored.
    pub async fn create_token(&self, by: &Principal, ctx: &RequestContext, name: &str, role: Role) -> Result<NewToken> {
        by.require(Permission::TokensManage)?;
        let name = name.trim();
        if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
            return Err(Error::new(ErrorCode::InvalidBody, "a token name is 1 to 100 printable characters"));
        }
        let (token, record) = auth::generate(name, role, self.now());
        self.store.create_token(&record).await?;
        self.audit(by, ctx, Purpose::Audit, "token.create", "token", &token.id, audit::Allowed).await?;
        tracing::info!(token_id = %token.id, role = %role, by = %by.token_id, "API token created");
        Ok(token)
    }

    pub async fn list_tokens(&self, by: &Principal) -> Result<Vec<TokenInfo>> {
        by.require(Permission::TokensManage)?;
        Ok(self.store.list_tokens().await?.into_iter().map(TokenInfo::from).collect())
    }

    pub async fn revoke_token(&self, by: &Principal, ctx: &RequestContext, id: &str) -> Result<()> {
        by.require(Permission::TokensManage)?;
        if self.store.revoke_token(id, self.now()).await? {
            self.audit(by, ctx, Purpose::Audit, "token.revoke", "token", id, audit::Allowed).await?;
            tracing::info!(token_id = %id, by = %by.token_id, "API token revoked");
            Ok(())
        } else {
            Err(Error::not_found("live token"))
        }
    }

    /// Adds a key-encryption key version and rewraps every customer's data key under it. The
    /// data itself is not touched, and old versions keep decrypting until every key is rewrapped,
    /// so this runs while the servers serve.
    pub async fn rotate_keys(&self, by: &Principal, ctx: &RequestContext) -> Result<(u32, u64)> {
        by.require(Permission::TokensManage)?;
        let version = self.vault.rotate()?;
        self.audit(by, ctx, Purpose::Audit, "keys.rotate", "keyring", &format!("v{version}"), audit::Allowed).await?;
        let mut after = None;
        let mut rewrapped = 0u64;
        loop {
            let page = self.store.customer_keys(after, 1000).await?;
            let Some((last, _)) = page.last() else { break };
            after = Some(*last);
            for (id, wrapped) in page {
                if let Some(new) = self.vault.rewrap(id, &wrapped)?
                    && self.store.replace_customer_key(id, &wrapped, &new).await?
                {
                    rewrapped += 1;
                }
            }
        }
        tracing::info!(version, rewrapped, "Key-encryption key rotated.");
        Ok((version, rewrapped))
    }

    /// On a database with no live token, creates an admin token so the operator can start;
    /// returns it (to be written to a 0600 file, never logged).
    pub async fn bootstrap_admin(&self) -> Result<Option<NewToken>> {
        if self.store.live_token_count().await? > 0 {
            return Ok(None);
        }
        self.create_token(&Principal::local_operator(), &RequestContext::local(), "bootstrap admin", Role::Admin)
            .await
            .map(Some)
    }
}
