//! [`MeasureStore`] on SQLite and PostgreSQL (same SQL on both).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lessee_audit::AuditEvent;
use lessee_domain::AccountId;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::measures::{ImpactRecord, ImpactWrite, MeasureStore, RegistryChange, RegistryDoc};
use crate::sql::{Backend, enqueue_audit_tx, from_millis, millis, open_review_tx, record_decision_tx};
use crate::{Result, SqlStore, StoreError};

fn doc_from_row(r: &AnyRow) -> Result<RegistryDoc> {
    Ok(RegistryDoc {
        kind: r.try_get(0)?,
        id: r.try_get(1)?,
        version: r.try_get(2)?,
        body: r.try_get(3)?,
        created_at: from_millis(r.try_get(4)?)?,
        updated_at: from_millis(r.try_get(5)?)?,
    })
}

fn account_id(s: &str) -> Result<AccountId> {
    AccountId::parse(s).ok_or_else(|| StoreError::Corrupt(format!("account id {s}")))
}

const IMPACT_COLUMNS: &str =
    "measure_id, account_id, measure_version, state, verdict, close_by, outcome, first_at, updated_at";

fn impact_from_row(r: &AnyRow) -> Result<ImpactRecord> {
    Ok(ImpactRecord {
        measure_id: r.try_get(0)?,
        account_id: account_id(&r.try_get::<String, _>(1)?)?,
        measure_version: r.try_get(2)?,
        state: r.try_get(3)?,
        verdict: r.try_get(4)?,
        close_by: r.try_get(5)?,
        outcome: r.try_get(6)?,
        first_at: from_millis(r.try_get(7)?)?,
        updated_at: from_millis(r.try_get(8)?)?,
    })
}

#[async_trait]
impl MeasureStore for SqlStore {
    async fn put_registry(
        &self,
        doc: &RegistryDoc,
        expected: Option<i64>,
        change: &str,
        changed_by: &str,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let done = match expected {
            None => {
                sqlx::query(
                    "INSERT INTO registry (kind, id, version, body, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, id) DO NOTHING",
                )
                .bind(&doc.kind)
                .bind(&doc.id)
                .bind(doc.version)
                .bind(&doc.body)
                .bind(millis(doc.created_at))
                .bind(millis(doc.updated_at))
                .execute(&mut *tx)
                .await?
            }
            Some(v) => {
                sqlx::query(
                    "UPDATE registry SET version = $1, body = $2, updated_at = $3 \
                     WHERE kind = $4 AND id = $5 AND version = $6",
                )
                .bind(doc.version)
                .bind(&doc.body)
                .bind(millis(doc.updated_at))
                .bind(&doc.kind)
                .bind(&doc.id)
                .bind(v)
                .execute(&mut *tx)
                .await?
            }
        };
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO registry_changes (kind, id, version, change, body, changed_by, changed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&doc.kind)
        .bind(&doc.id)
        .bind(doc.version)
        .bind(change)
        .bind(&doc.body)
        .bind(changed_by)
        .bind(millis(doc.updated_at))
        .execute(&mut *tx)
        .await?;
        enqueue_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn registry_doc(&self, kind: &str, id: &str) -> Result<Option<RegistryDoc>> {
        let row = sqlx::query(
            "SELECT kind, id, version, body, created_at, updated_at FROM registry WHERE kind = $1 AND id = $2",
        )
        .bind(kind)
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(doc_from_row).transpose()
    }

    async fn registry_docs(&self, kind: &str) -> Result<Vec<RegistryDoc>> {
        let rows = sqlx::query(
            "SELECT kind, id, version, body, created_at, updated_at FROM registry WHERE kind = $1 \
             ORDER BY created_at, id",
        )
        .bind(kind)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(doc_from_row).collect()
    }

    async fn registry_changes(&self, kind: &str, id: &str) -> Result<Vec<RegistryChange>> {
        let rows = sqlx::query(
            "SELECT kind, id, version, change, body, changed_by, changed_at FROM registry_changes \
             WHERE kind = $1 AND id = $2 ORDER BY version",
        )
        .bind(kind)
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RegistryChange {
                    kind: r.try_get(0)?,
                    id: r.try_get(1)?,
                    version: r.try_get(2)?,
                    change: r.try_get(3)?,
                    body: r.try_get(4)?,
                    changed_by: r.try_get(5)?,
                    changed_at: from_millis(r.try_get(6)?)?,
                })
            })
            .collect()
    }

    async fn record_impacts(&self, writes: &[ImpactWrite]) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        // One impact and at most one decision per account in a call (a re-evaluation page):
        // multi-row statements. Otherwise (an account twice) row by row, in order, as each
        // write builds on the one before.
        let mut impacts = std::collections::HashSet::new();
        let mut decided = std::collections::HashSet::new();
        let distinct = writes.iter().all(|w| {
            impacts.insert((w.impact.measure_id.as_str(), w.impact.account_id))
                && w.decision.as_ref().is_none_or(|a| decided.insert(a.id))
        });
        let mut tx = self.write.begin().await?;
        if distinct {
            self.record_impacts_batched(&mut tx, writes).await?;
        } else {
            for w in writes {
                upsert_impacts(self, &mut tx, std::slice::from_ref(&w.impact)).await?;
                if let Some(account) = &w.decision {
                    record_decision_tx(&mut tx, self.backend, account).await?;
                }
                enqueue_audit_tx(&mut tx, &w.audit).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn measure_impacts(&self, measure_id: &str) -> Result<Vec<ImpactRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {IMPACT_COLUMNS} FROM measure_impacts WHERE measure_id = $1 ORDER BY account_id"
        ))
        .bind(measure_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(impact_from_row).collect()
    }

    async fn account_impacts(&self, account: AccountId) -> Result<Vec<ImpactRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {IMPACT_COLUMNS} FROM measure_impacts WHERE account_id = $1 ORDER BY measure_id"
        ))
        .bind(account.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(impact_from_row).collect()
    }

    async fn link_sub_lessee(&self, account: AccountId, reseller: AccountId, at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO sub_lessee_links (account_id, reseller_account_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account.to_string())
        .bind(reseller.to_string())
        .bind(millis(at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn sub_lessee_reseller(&self, account: AccountId) -> Result<Option<AccountId>> {
        let row = sqlx::query("SELECT reseller_account_id FROM sub_lessee_links WHERE account_id = $1")
            .bind(account.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| account_id(&r.try_get::<String, _>(0)?)).transpose()
    }

    async fn sub_lessees_of(&self, reseller: AccountId) -> Result<Vec<AccountId>> {
        let rows =
            sqlx::query("SELECT account_id FROM sub_lessee_links WHERE reseller_account_id = $1 ORDER BY account_id")
                .bind(reseller.to_string())
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(|r| account_id(&r.try_get::<String, _>(0)?)).collect()
    }

    async fn sub_lessees_of_many(&self, resellers: &[AccountId]) -> Result<Vec<(AccountId, AccountId)>> {
        let mut out = Vec::new();
        for chunk in resellers.chunks(500) {
            let marks = self.params(0, chunk.len());
            let sql = format!(
                "SELECT reseller_account_id, account_id FROM sub_lessee_links WHERE reseller_account_id IN ({})",
                marks
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for r in q.fetch_all(&self.read).await? {
                out.push((account_id(&r.try_get::<String, _>(0)?)?, account_id(&r.try_get::<String, _>(1)?)?));
            }
        }
        Ok(out)
    }
}

/// Rows per multi-row statement of `record_impacts` (9 parameters each).
const IMPACT_ROWS: usize = 200;

/// Inserts or updates impacts (the first `close_by` is kept) with multi-row statements. The
/// (measure, account) pairs must be distinct.
async fn upsert_impacts(store: &SqlStore, tx: &mut Transaction<'static, Any>, impacts: &[ImpactRecord]) -> Result<()> {
    for chunk in impacts.chunks(IMPACT_ROWS) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| store.placeholders(i * 9, 9)).collect();
        let sql = format!(
            "INSERT INTO measure_impacts (measure_id, account_id, measure_version, state, verdict, close_by, \
             outcome, first_at, updated_at) VALUES {} \
             ON CONFLICT (measure_id, account_id) DO UPDATE SET measure_version = excluded.measure_version, \
             state = excluded.state, verdict = excluded.verdict, \
             close_by = COALESCE(measure_impacts.close_by, excluded.close_by), \
             outcome = excluded.outcome, updated_at = excluded.updated_at \
             WHERE measure_impacts.measure_version IS DISTINCT FROM excluded.measure_version \
             OR measure_impacts.state IS DISTINCT FROM excluded.state \
             OR measure_impacts.verdict IS DISTINCT FROM excluded.verdict \
             OR measure_impacts.outcome IS DISTINCT FROM excluded.outcome \
             OR (measure_impacts.close_by IS NULL AND excluded.close_by IS NOT NULL)",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for i in chunk {
            q = q
                .bind(i.measure_id.clone())
                .bind(i.account_id.to_string())
                .bind(i.measure_version)
                .bind(i.state.clone())
                .bind(i.verdict.clone())
                .bind(i.close_by.clone())
                .bind(i.outcome.clone())
                .bind(millis(i.first_at))
                .bind(millis(i.updated_at));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

impl SqlStore {
    /// `record_impacts` for distinct accounts: the same rows as `record_decision_tx` and
    /// `enqueue_audit_tx` write one by one, with a few statements per page.
    async fn record_impacts_batched(&self, tx: &mut Transaction<'static, Any>, writes: &[ImpactWrite]) -> Result<()> {
        let impacts: Vec<ImpactRecord> = writes.iter().map(|w| w.impact.clone()).collect();
        upsert_impacts(self, tx, &impacts).await?;

        let decided: Vec<&lessee_domain::Account> = writes.iter().filter_map(|w| w.decision.as_ref()).collect();
        let mut cases: Vec<(String, i64)> = Vec::new();
        for chunk in decided.chunks(IMPACT_ROWS) {
            let ids: Vec<String> = chunk.iter().map(|a| a.id.to_string()).collect();
            let list = self.params(0, ids.len());
            // Serialize re-decisions of these accounts (SQLite's single writer does it already);
            // in id order, so that two batches cannot deadlock.
            let found = if self.backend == Backend::Postgres {
                let lock = format!("SELECT id FROM accounts WHERE id IN ({list}) ORDER BY id FOR UPDATE");
                let mut q = sqlx::query(&lock);
                for id in &ids {
                    q = q.bind(id.clone());
                }
                q.fetch_all(&mut **tx).await?.len()
            } else {
                // One row back instead of one per account.
                let count = format!("SELECT COUNT(*) FROM accounts WHERE id IN ({list})");
                let mut q = sqlx::query(&count);
                for id in &ids {
                    q = q.bind(id.clone());
                }
                usize::try_from(q.fetch_one(&mut **tx).await?.try_get::<i64, _>(0)?).unwrap_or_default()
            };
            if found != ids.len() {
                return Err(StoreError::NotFound);
            }
            let sql = format!(
                "SELECT account_id, COALESCE(MAX(seq), 0) + 1 FROM decisions WHERE account_id IN ({list}) \
                 GROUP BY account_id"
            );
            let mut q = sqlx::query(&sql);
            for id in &ids {
                q = q.bind(id.clone());
            }
            let mut next: HashMap<String, i64> = HashMap::new();
            for r in q.fetch_all(&mut **tx).await? {
                next.insert(r.try_get(0)?, r.try_get(1)?);
            }
            let marks: Vec<String> = (0..chunk.len()).map(|i| self.placeholders(i * 6, 6)).collect();
            let sql = format!(
                "INSERT INTO decisions (account_id, seq, outcome, policy_version, decided_at, body) VALUES {}",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (a, id) in chunk.iter().zip(&ids) {
                q = q
                    .bind(id.clone())
                    .bind(next.get(id).copied().unwrap_or(1))
                    .bind(a.decision.outcome.as_str())
                    .bind(a.decision.policy_version.clone())
                    .bind(millis(a.decision.decided_at))
                    .bind(to_json(&a.decision)?);
            }
            q.execute(&mut **tx).await?;
            // The account views, with one statement per chunk.
            let marks: Vec<String> = (0..chunk.len()).map(|i| self.placeholders(i * 5, 5)).collect();
            let sql = format!(
                "UPDATE accounts SET summary = v.column2, outcome = v.column3, classification_status = v.column4, \
                 updated_at = v.column5 FROM (VALUES {}) AS v WHERE accounts.id = v.column1",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (a, id) in chunk.iter().zip(&ids) {
                q = q
                    .bind(id.clone())
                    .bind(to_json(a)?)
                    .bind(a.decision.outcome.as_str())
                    .bind(a.classification.status.as_str())
                    .bind(millis(a.decision.decided_at));
            }
            q.execute(&mut **tx).await?;
            for (a, id) in chunk.iter().zip(&ids) {
                if a.decision.outcome == lessee_domain::Outcome::ManualReview {
                    cases.push((id.clone(), millis(a.decision.decided_at)));
                }
            }
        }
        // Cases in account order, as every other transaction opening several takes them
        // (`Store::open_reviews_noting`), so that two cannot deadlock on PostgreSQL.
        cases.sort_unstable();
        for (id, at) in &cases {
            open_review_tx(tx, id, "manual_review", "engine", *at).await?;
        }

        for chunk in writes.chunks(IMPACT_ROWS) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| self.placeholders(i * 2, 2)).collect();
            let sql = format!("INSERT INTO audit_pending (event, created_at) VALUES {}", marks.join(", "));
            let mut q = sqlx::query(&sql);
            for w in chunk {
                q = q.bind(to_json(&w.audit)?).bind(millis(w.audit.time));
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}
