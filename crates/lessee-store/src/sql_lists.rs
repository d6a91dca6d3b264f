//! Screening lists and alerts in the store (issue 6): list versions with their parsed entries,
//! and the alerts that screening raises on accounts, with their dispositions.
//!
//! Invariants enforced here:
//! - a list version and all its entries are written in one transaction (an import is all or
//!   nothing), numbered per list from 1;
//! - at most one live (open or escalated) alert per account, subject and list entry (a unique
//!   partial index, so concurrent workers cannot both raise it), and no new alert where one was
//!   already decided for the same entry content and customer data (`entry_hash`, `subject_hash`);
//! - a disposition is a compare-and-set on the alert's status, written with its audit event
//!   and, when it changes the account's decision, with that decision.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lessee_audit::AuditEvent;
use lessee_domain::{Account, AccountId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::{enqueue_audit_tx, from_millis, millis, record_decision_tx};
use crate::{Result, SqlStore, StoreError};

/// A list version to add.
#[derive(Clone, Debug)]
pub struct NewListVersion {
    /// `ofac_sdn`, `un`, `bis_dpl`, `csl`, or a custom list's name.
    pub list: String,
    /// The input format (`ofac_sdn`, `un_xml`, ...).
    pub format: String,
    pub imported_at: DateTime<Utc>,
    /// Who imported it (token id or `local`).
    pub imported_by: String,
    /// Provenance: the URL it was downloaded from, or `file:NAME`.
    pub source: String,
    /// SHA-256 of the input (for OFAC, of its three files' digests).
    pub sha256: String,
}

/// A stored list version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListVersion {
    pub id: i64,
    pub list: String,
    /// 1, 2, ... per list.
    pub version: i64,
    pub format: String,
    pub imported_at: DateTime<Utc>,
    pub imported_by: String,
    pub source: String,
    pub sha256: String,
    pub entry_count: i64,
}

/// One list entry as stored: the list's own id and the parsed entry as JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    pub entity_id: String,
    pub body: String,
}

/// A screening alert.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRecord {
    pub id: String,
    pub account_id: AccountId,
    /// `customer`, `beneficial_owner:N`, `sub_lessee:ID` or `on_behalf_of:N`.
    pub subject: String,
    pub list: String,
    pub entity_id: String,
    pub list_version_id: i64,
    /// The version string the score was computed against (the input's SHA-256).
    pub list_version: String,
    pub score: f64,
    /// A strong hit: the date of birth matched too, or an identifier did.
    pub strong: bool,
    /// JSON: list-side explanation only (never the customer's data).
    pub explanation: String,
    /// SHA-256 of the entry's matching-relevant content.
    pub entry_hash: String,
    /// Keyed hash of the customer data that was screened.
    pub subject_hash: String,
    /// `open`, `escalated`, `true_match` or `false_positive`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub disposed_by: Option<String>,
    pub disposition_reason: Option<String>,
}

/// A disposition to apply by compare-and-set.
#[derive(Clone, Debug)]
pub struct Disposition<'a> {
    pub id: &'a str,
    /// The status the caller read.
    pub from: &'a str,
    pub to: &'a str,
    pub by: &'a str,
    pub reason: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// Storage of screening lists and alerts. Every [`crate::Store`] is one.
#[async_trait]
pub trait ScreeningStore: Send + Sync {
    /// Adds a new version of `v.list` with its entries, in one transaction; returns it.
    async fn add_list_version(
        &self,
        v: &NewListVersion,
        entries: &[StoredEntry],
        audit: &AuditEvent,
    ) -> Result<ListVersion>;
    /// Every version (of one list), oldest first.
    async fn list_versions(&self, list: Option<&str>) -> Result<Vec<ListVersion>>;
    /// The latest version of each list, by list name.
    async fn current_list_versions(&self) -> Result<Vec<ListVersion>>;
    async fn list_version(&self, id: i64) -> Result<Option<ListVersion>>;
    /// The entries of a version, in import order.
    async fn list_entries(&self, version_id: i64) -> Result<Vec<StoredEntry>>;

    /// Adds the alerts that are neither live already nor decided for the same entry content
    /// and customer data; returns the ids added.
    async fn add_alerts(&self, alerts: &[AlertRecord]) -> Result<Vec<String>>;
    /// Alerts, newest first, filtered by account and status.
    async fn alerts(&self, account: Option<AccountId>, status: Option<&str>, limit: u32) -> Result<Vec<AlertRecord>>;
    async fn alert(&self, id: &str) -> Result<Option<AlertRecord>>;
    /// Applies a disposition if the alert is still in `d.from`, with its audit event and the
    /// account's new decision (if any) in the same transaction. False: someone else moved it.
    async fn dispose_alert(&self, d: &Disposition<'_>, decision: Option<&Account>, audit: &AuditEvent) -> Result<bool>;

    /// Every (account, subject ordinal, key) stored among `keys` ([`crate::SCREENING_KEY_PURPOSE`]),
    /// so the caller can tell which keys each subject of an account holds (any order).
    async fn screening_key_hits(&self, keys: &[i64]) -> Result<Vec<(AccountId, i64, i64)>>;
    /// Adds screening keys of accounts as (subject ordinal, key) (beside any already stored; a
    /// backfill).
    async fn add_screening_keys(&self, rows: &[(AccountId, Vec<(i64, i64)>)]) -> Result<()>;
    /// The key scheme every stored account is known to have keys of, if any.
    async fn screening_key_scheme(&self) -> Result<Option<i64>>;
    async fn set_screening_key_scheme(&self, scheme: i64) -> Result<()>;
}

const VERSION_COLUMNS: &str = "id, list, version, format, imported_at, imported_by, source, sha256, entry_count";
const ALERT_COLUMNS: &str = "id, account_id, subject, list, entity_id, list_version_id, list_version, score, strong, \
     explanation, entry_hash, subject_hash, status, created_at, updated_at, disposed_by, disposition_reason";
/// Rows per multi-row INSERT of list entries (3 parameters each).
const ENTRY_CHUNK: usize = 200;
/// Keys per lookup of accounts by screening keys (inlined integer literals).
const SCREENING_KEY_CHUNK: usize = 5000;

fn version_from_row(r: &AnyRow) -> Result<ListVersion> {
    Ok(ListVersion {
        id: r.try_get(0)?,
        list: r.try_get(1)?,
        version: r.try_get(2)?,
        format: r.try_get(3)?,
        imported_at: from_millis(r.try_get(4)?)?,
        imported_by: r.try_get(5)?,
        source: r.try_get(6)?,
        sha256: r.try_get(7)?,
        entry_count: r.try_get(8)?,
    })
}

fn alert_from_row(r: &AnyRow) -> Result<AlertRecord> {
    let account: String = r.try_get(1)?;
    Ok(AlertRecord {
        id: r.try_get(0)?,
        account_id: AccountId::parse(&account)
            .ok_or_else(|| StoreError::Corrupt(format!("bad account id {account}")))?,
        subject: r.try_get(2)?,
        list: r.try_get(3)?,
        entity_id: r.try_get(4)?,
        list_version_id: r.try_get(5)?,
        list_version: r.try_get(6)?,
        score: r.try_get(7)?,
        strong: r.try_get::<i64, _>(8)? != 0,
        explanation: r.try_get(9)?,
        entry_hash: r.try_get(10)?,
        subject_hash: r.try_get(11)?,
        status: r.try_get(12)?,
        created_at: from_millis(r.try_get(13)?)?,
        updated_at: from_millis(r.try_get(14)?)?,
        disposed_by: r.try_get(15)?,
        disposition_reason: r.try_get(16)?,
    })
}

#[async_trait]
impl ScreeningStore for SqlStore {
    async fn screening_key_hits(&self, keys: &[i64]) -> Result<Vec<(AccountId, i64, i64)>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(SCREENING_KEY_CHUNK) {
            // The keys are integers written by this code, not text from outside: inlined as
            // literals, which spares SQLite's parameter lookup (quadratic in the count).
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            let sql = format!("SELECT account_id, subject, key FROM screening_keys WHERE key IN ({})", list.join(","));
            for r in sqlx::query(&sql).persistent(false).fetch_all(&self.read).await? {
                let id: String = r.try_get(0)?;
                let id = AccountId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("bad account id {id}")))?;
                out.push((id, r.try_get::<i64, _>(1)?, r.try_get::<i64, _>(2)?));
            }
        }
        Ok(out)
    }

    async fn add_screening_keys(&self, rows: &[(AccountId, Vec<(i64, i64)>)]) -> Result<()> {
        let ids: Vec<String> = rows.iter().map(|(id, _)| id.to_string()).collect();
        let flat: Vec<(&str, i64, i64)> = rows
            .iter()
            .zip(&ids)
            .flat_map(|((_, keys), id)| keys.iter().map(move |(subject, k)| (id.as_str(), *subject, *k)))
            .collect();
        let mut tx = self.write.begin().await?;
        crate::sql::insert_screening_keys(&mut tx, &flat).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn screening_key_scheme(&self) -> Result<Option<i64>> {
        let row =
            sqlx::query("SELECT scheme FROM screening_key_scheme WHERE id = 1").fetch_optional(&self.read).await?;
        Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?)
    }

    async fn set_screening_key_scheme(&self, scheme: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO screening_key_scheme (id, scheme) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET scheme = excluded.scheme",
        )
        .bind(scheme)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn add_list_version(
        &self,
        v: &NewListVersion,
        entries: &[StoredEntry],
        audit: &AuditEvent,
    ) -> Result<ListVersion> {
        let mut tx = self.write.begin().await?;
        let version: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) + 1 FROM list_versions WHERE list = $1")
            .bind(&v.list)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
        let id: i64 = sqlx::query(
            "INSERT INTO list_versions (list, version, format, imported_at, imported_by, source, sha256, entry_count) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&v.list)
        .bind(version)
        .bind(&v.format)
        .bind(millis(v.imported_at))
        .bind(&v.imported_by)
        .bind(&v.source)
        .bind(&v.sha256)
        .bind(count)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let mut seq = 0i64;
        for chunk in entries.chunks(ENTRY_CHUNK) {
            let marks: Vec<String> =
                (0..chunk.len()).map(|i| format!("({}, ${}, ${}, ${})", id, 3 * i + 1, 3 * i + 2, 3 * i + 3)).collect();
            let sql =
                format!("INSERT INTO list_entries (version_id, seq, entity_id, body) VALUES {}", marks.join(", "));
            let mut q = sqlx::query(&sql);
            for e in chunk {
                seq += 1;
                q = q.bind(seq).bind(&e.entity_id).bind(&e.body);
            }
            q.execute(&mut *tx).await?;
        }
        enqueue_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(ListVersion {
            id,
            list: v.list.clone(),
            version,
            format: v.format.clone(),
            imported_at: DateTime::from_timestamp_millis(millis(v.imported_at)).unwrap_or(v.imported_at),
            imported_by: v.imported_by.clone(),
            source: v.source.clone(),
            sha256: v.sha256.clone(),
            entry_count: count,
        })
    }

    async fn list_versions(&self, list: Option<&str>) -> Result<Vec<ListVersion>> {
        let rows = match list {
            Some(l) => {
                sqlx::query(&format!("SELECT {VERSION_COLUMNS} FROM list_versions WHERE list = $1 ORDER BY id"))
                    .bind(l)
                    .fetch_all(&self.read)
                    .await?
            }
            None => {
                sqlx::query(&format!("SELECT {VERSION_COLUMNS} FROM list_versions ORDER BY id"))
                    .fetch_all(&self.read)
                    .await?
            }
        };
        rows.iter().map(version_from_row).collect()
    }

    async fn current_list_versions(&self) -> Result<Vec<ListVersion>> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM list_versions v WHERE version = \
             (SELECT MAX(version) FROM list_versions w WHERE w.list = v.list) ORDER BY list"
        ))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(version_from_row).collect()
    }

    async fn list_version(&self, id: i64) -> Result<Option<ListVersion>> {
        let row = sqlx::query(&format!("SELECT {VERSION_COLUMNS} FROM list_versions WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(version_from_row).transpose()
    }

    async fn list_entries(&self, version_id: i64) -> Result<Vec<StoredEntry>> {
        let rows = sqlx::query("SELECT entity_id, body FROM list_entries WHERE version_id = $1 ORDER BY seq")
            .bind(version_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok(StoredEntry { entity_id: r.try_get(0)?, body: r.try_get(1)? })).collect()
    }

    async fn add_alerts(&self, alerts: &[AlertRecord]) -> Result<Vec<String>> {
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        let mut added = Vec::new();
        let mut tx = self.write.begin().await?;
        for a in alerts {
            let done = sqlx::query(
                "INSERT INTO screening_alerts (id, account_id, subject, list, entity_id, list_version_id, \
                 list_version, score, strong, explanation, entry_hash, subject_hash, status, created_at, updated_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $13 \
                 WHERE NOT EXISTS (SELECT 1 FROM screening_alerts WHERE account_id = $2 AND subject = $3 \
                 AND list = $4 AND entity_id = $5 AND (status IN ('open', 'escalated') \
                 OR (entry_hash = $11 AND subject_hash = $12))) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&a.id)
            .bind(a.account_id.to_string())
            .bind(&a.subject)
            .bind(&a.list)
            .bind(&a.entity_id)
            .bind(a.list_version_id)
            .bind(&a.list_version)
            .bind(a.score)
            .bind(i64::from(a.strong))
            .bind(&a.explanation)
            .bind(&a.entry_hash)
            .bind(&a.subject_hash)
            .bind(millis(a.created_at))
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                added.push(a.id.clone());
            }
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn alerts(&self, account: Option<AccountId>, status: Option<&str>, limit: u32) -> Result<Vec<AlertRecord>> {
        let mut sql = format!("SELECT {ALERT_COLUMNS} FROM screening_alerts WHERE 1 = 1");
        let mut binds = Vec::new();
        if let Some(a) = account {
            binds.push(a.to_string());
            sql.push_str(&format!(" AND account_id = ${}", binds.len()));
        }
        if let Some(s) = status {
            binds.push(s.to_owned());
            sql.push_str(&format!(" AND status = ${}", binds.len()));
        }
        sql.push_str(&format!(" ORDER BY created_at DESC, id LIMIT {}", limit.clamp(1, 10_000)));
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_all(&self.read).await?.iter().map(alert_from_row).collect()
    }

    async fn alert(&self, id: &str) -> Result<Option<AlertRecord>> {
        let row = sqlx::query(&format!("SELECT {ALERT_COLUMNS} FROM screening_alerts WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(alert_from_row).transpose()
    }

    async fn dispose_alert(&self, d: &Disposition<'_>, decision: Option<&Account>, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE screening_alerts SET status = $1, disposed_by = $2, disposition_reason = $3, updated_at = $4 \
             WHERE id = $5 AND status = $6",
        )
        .bind(d.to)
        .bind(d.by)
        .bind(d.reason)
        .bind(millis(d.at))
        .bind(d.id)
        .bind(d.from)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(account) = decision {
            record_decision_tx(&mut tx, self.backend, account).await?;
        }
        enqueue_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }
}
