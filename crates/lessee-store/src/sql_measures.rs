//! [`MeasureStore`] on SQLite and PostgreSQL (same SQL on both).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lessee_audit::AuditEvent;
use lessee_domain::AccountId;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::measures::{ImpactRecord, ImpactWrite, MeasureStore, RegistryChange, RegistryDoc};
use crate::sql::{enqueue_audit_tx, from_millis, millis, record_decision_tx};
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
        let mut tx = self.write.begin().await?;
        for w in writes {
            let i = &w.impact;
            sqlx::query(
                "INSERT INTO measure_impacts (measure_id, account_id, measure_version, state, verdict, close_by, \
                 outcome, first_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (measure_id, account_id) DO UPDATE SET measure_version = excluded.measure_version, \
                 state = excluded.state, verdict = excluded.verdict, \
                 close_by = COALESCE(measure_impacts.close_by, excluded.close_by), \
                 outcome = excluded.outcome, updated_at = excluded.updated_at \
                 WHERE measure_impacts.measure_version IS DISTINCT FROM excluded.measure_version \
                 OR measure_impacts.state IS DISTINCT FROM excluded.state \
                 OR measure_impacts.verdict IS DISTINCT FROM excluded.verdict \
                 OR measure_impacts.outcome IS DISTINCT FROM excluded.outcome \
                 OR (measure_impacts.close_by IS NULL AND excluded.close_by IS NOT NULL)",
            )
            .bind(&i.measure_id)
            .bind(i.account_id.to_string())
            .bind(i.measure_version)
            .bind(&i.state)
            .bind(&i.verdict)
            .bind(&i.close_by)
            .bind(&i.outcome)
            .bind(millis(i.first_at))
            .bind(millis(i.updated_at))
            .execute(&mut *tx)
            .await?;
            if let Some(account) = &w.decision {
                record_decision_tx(&mut tx, self.backend, account).await?;
            }
            enqueue_audit_tx(&mut tx, &w.audit).await?;
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
}
