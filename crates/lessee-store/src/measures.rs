//! Storage of the measures registry (issue 7): registry documents with an append-only change
//! history, the per-account impacts of measures, and sub-lessee links. [`MeasureStore`] is a
//! supertrait of [`crate::Store`], implemented for [`crate::SqlStore`] in `sql_measures.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lessee_audit::AuditEvent;
use lessee_domain::{Account, AccountId};

use crate::Result;

/// A registry entry: `kind` (`measure`, `exemption`, `adp`, `reseller`), its id, a version
/// for compare-and-set, and the typed document as JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryDoc {
    pub kind: String,
    pub id: String,
    pub version: i64,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RegistryDoc {
    /// The document that follows `previous` (the first version when there is none), written
    /// `now` with `body`; `put_registry` compares `previous`'s version to write it.
    pub fn next(kind: &str, id: &str, previous: Option<&RegistryDoc>, body: String, now: DateTime<Utc>) -> Self {
        RegistryDoc {
            kind: kind.to_owned(),
            id: id.to_owned(),
            version: previous.map_or(1, |d| d.version + 1),
            body,
            created_at: previous.map_or(now, |d| d.created_at),
            updated_at: now,
        }
    }
}

/// One appended change of a registry entry: the document as it became at `version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryChange {
    pub kind: String,
    pub id: String,
    pub version: i64,
    /// `created`, `extended`, `revoked`, `updated`, ...
    pub change: String,
    pub body: String,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// What a measure did to one account (the latest evaluation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImpactRecord {
    pub measure_id: String,
    pub account_id: AccountId,
    pub measure_version: i64,
    /// `upcoming`, `applied` or `lifted`.
    pub state: String,
    /// The measure's verdict on the account (`block`, `close`, `review`, `conditions`, `clear`).
    pub verdict: String,
    /// `YYYY-MM-DD`: the first close-by deadline given; kept on later evaluations.
    pub close_by: Option<String>,
    /// The evaluation's outcome (findings with reasons), JSON; no personal data.
    pub outcome: String,
    pub first_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One account's impact to record, with the account's new decision when it changes.
#[derive(Clone, Debug)]
pub struct ImpactWrite {
    pub impact: ImpactRecord,
    pub decision: Option<Account>,
    pub audit: AuditEvent,
}

#[async_trait]
pub trait MeasureStore: Send + Sync {
    /// Writes a registry entry and appends its change, with the audit record, in one
    /// transaction. `expected`: `None` creates (false when the id exists), `Some(v)` replaces
    /// version `v` (false when another change came first). `doc.version` is the new version.
    async fn put_registry(
        &self,
        doc: &RegistryDoc,
        expected: Option<i64>,
        change: &str,
        changed_by: &str,
        audit: &AuditEvent,
    ) -> Result<bool>;
    async fn registry_doc(&self, kind: &str, id: &str) -> Result<Option<RegistryDoc>>;
    async fn registry_docs(&self, kind: &str) -> Result<Vec<RegistryDoc>>;
    async fn registry_changes(&self, kind: &str, id: &str) -> Result<Vec<RegistryChange>>;

    /// Records impacts (upsert per measure and account; `first_at` and the first `close_by`
    /// kept), each with its account's new decision if any and its audit record, in one
    /// transaction.
    async fn record_impacts(&self, writes: &[ImpactWrite]) -> Result<()>;
    async fn measure_impacts(&self, measure_id: &str) -> Result<Vec<ImpactRecord>>;
    async fn account_impacts(&self, account: AccountId) -> Result<Vec<ImpactRecord>>;

    /// Links a sub-lessee account to its reseller's account.
    async fn link_sub_lessee(&self, account: AccountId, reseller: AccountId, at: DateTime<Utc>) -> Result<()>;
    async fn sub_lessee_reseller(&self, account: AccountId) -> Result<Option<AccountId>>;
    async fn sub_lessees_of(&self, reseller: AccountId) -> Result<Vec<AccountId>>;
    /// The resellers among `resellers` that have registered sub-lessees, with them:
    /// (reseller, sub-lessee) pairs, in no particular order. One statement per few hundred ids
    /// where the backend allows it.
    async fn sub_lessees_of_many(&self, resellers: &[AccountId]) -> Result<Vec<(AccountId, AccountId)>> {
        let mut out = Vec::new();
        for r in resellers {
            out.extend(self.sub_lessees_of(*r).await?.into_iter().map(|s| (*r, s)));
        }
        Ok(out)
    }
}
