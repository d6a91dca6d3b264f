//! Bulk loading of new accounts (benchmarks, migrations from another system): many accounts per
//! transaction with multi-row statements, writing the same rows `Store::create_account` writes
//! for a new account (account, sealed application and wrapped key, blind indexes, first
//! decision, a review case for a manual review, and the audit record into the pending queue, so
//! the sequencer appends it to the tamper-evident log exactly as it does an opening's).
//!
//! No idempotency keys, and no per-row outcome: the accounts must be new. If any of them cannot
//! be written (an external id already stored, say), the whole call is rolled back and the error
//! returned; nothing of it is kept.

use lessee_audit::AuditEvent;
use lessee_domain::{Account, Outcome};

use crate::sql::{Backend, SqlStore, insert_indexes, millis};
use crate::{BlindEntry, Result, SealedApplication, StoreError};

/// One new account for [`SqlStore::create_accounts_bulk`]: what `create_account` takes.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub account: Account,
    pub sealed: SealedApplication,
    pub indexes: Vec<BlindEntry>,
    pub audit: AuditEvent,
}

/// Rows per multi-row statement: 11 parameters per account row, under both databases' limits.
const ROWS_PER_STATEMENT: usize = 500;

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl SqlStore {
    /// The `n`th (1-based) parameter: anonymous `?` on SQLite (see `placeholders`), `$n` on
    /// PostgreSQL.
    fn mark(&self, n: usize) -> String {
        if self.backend == Backend::Sqlite { "?".to_owned() } else { format!("${n}") }
    }

    /// Writes `rows` as new accounts in one transaction. Returns how many were written (all of
    /// them, or an error and none). Callers size the slices (a few thousand is a good
    /// transaction); on SQLite this holds the single writer for the whole call.
    pub async fn create_accounts_bulk(&self, rows: &[NewAccount]) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write_pool().begin().await?;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let ids: Vec<String> = chunk.iter().map(|r| r.account.id.to_string()).collect();

            // accounts: 10 values per row and the literal '' for `application` (as create_one).
            let marks: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let b = i * 11;
                    let cells: Vec<String> = (1..=10).map(|c| self.mark(b + c)).collect();
                    format!("({}, '', {})", cells.join(", "), self.mark(b + 11))
                })
                .collect();
            let sql = format!(
                "INSERT INTO accounts (id, external_id, account_type, opening_method, customer_kind, \
                 classification_status, outcome, created_at, updated_at, summary, application, sealed) VALUES {}",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (r, id) in chunk.iter().zip(&ids) {
                let a = &r.account;
                q = q
                    .bind(id.clone())
                    .bind(a.external_id.clone())
                    .bind(a.account_type.as_str())
                    .bind(a.opening_method.as_str())
                    .bind(a.customer_kind.as_str())
                    .bind(a.classification.status.as_str())
                    .bind(a.decision.outcome.as_str())
                    .bind(millis(a.created_at))
                    .bind(millis(a.created_at))
                    .bind(to_json(a)?)
                    .bind(r.sealed.ciphertext.clone());
            }
            q.execute(&mut *tx).await?;

            let marks: Vec<String> = (0..chunk.len()).map(|i| self.placeholders(i * 3, 3)).collect();
            let sql =
                format!("INSERT INTO customer_keys (account_id, wrapped, created_at) VALUES {}", marks.join(", "));
            let mut q = sqlx::query(&sql);
            for (r, id) in chunk.iter().zip(&ids) {
                q = q.bind(id.clone()).bind(r.sealed.wrapped_key.clone()).bind(millis(r.account.created_at));
            }
            q.execute(&mut *tx).await?;

            // Blind indexes through the store's own helper (it decides where each purpose goes).
            for (r, id) in chunk.iter().zip(&ids) {
                insert_indexes(&mut tx, id, &r.indexes).await?;
            }

            let marks: Vec<String> = (0..chunk.len()).map(|i| self.placeholders(i * 6, 6)).collect();
            let sql = format!(
                "INSERT INTO decisions (account_id, seq, outcome, policy_version, decided_at, body) VALUES {}",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (r, id) in chunk.iter().zip(&ids) {
                let d = &r.account.decision;
                q = q
                    .bind(id.clone())
                    .bind(1i64)
                    .bind(d.outcome.as_str())
                    .bind(d.policy_version.clone())
                    .bind(millis(d.decided_at))
                    .bind(to_json(d)?);
            }
            q.execute(&mut *tx).await?;

            // A manual review opens a case, as at opening: a new account has none yet, so its
            // first case is `{id}.1` (what `open_review_tx` writes for it).
            let review: Vec<(&NewAccount, &String)> =
                chunk.iter().zip(&ids).filter(|(r, _)| r.account.decision.outcome == Outcome::ManualReview).collect();
            if !review.is_empty() {
                let marks: Vec<String> = (0..review.len())
                    .map(|i| {
                        let m = |c: usize| self.mark(i * 4 + c);
                        format!("({}, {}, 'open', {}, 'manual_review', 'engine', {})", m(1), m(2), m(3), m(4))
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO reviews (id, account_id, status, engine_outcome, reason, opened_by, opened_at) \
                     VALUES {}",
                    marks.join(", ")
                );
                let mut q = sqlx::query(&sql);
                for (r, id) in review {
                    q = q
                        .bind(format!("{id}.1"))
                        .bind(id.clone())
                        .bind(r.account.decision.outcome.as_str())
                        .bind(millis(r.account.created_at));
                }
                q.execute(&mut *tx).await?;
            }

            // The audit records, into the pending queue in this transaction (as create_one).
            let marks: Vec<String> = (0..chunk.len()).map(|i| self.placeholders(i * 2, 2)).collect();
            let sql = format!("INSERT INTO audit_pending (event, created_at) VALUES {}", marks.join(", "));
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q.bind(to_json(&r.audit)?).bind(millis(r.audit.time));
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }
}
