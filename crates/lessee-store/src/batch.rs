//! Group commit for SQLite. SQLite has one writer, so openings queue for it anyway; a single
//! writer task takes every opening queued while the previous batch ran and writes them in one
//! transaction with multi-row inserts. Idempotency keys and external ids are resolved inside
//! the transaction first (no other writer can interleave), so each opening gets exactly the
//! result it would have had alone: new, replayed, mismatched key, or external id taken.

use std::collections::HashMap;

use lessee_audit::AuditEvent;
use lessee_domain::{Account, AccountId};
use sqlx::{Any, Row, Transaction};
use tokio::sync::{mpsc, oneshot};

use crate::sql::{SqlStore, millis};
use crate::{BlindEntry, Created, IdempotencyKey, Result, SealedApplication, StoreError};

/// Most openings written in one transaction.
pub const MAX_BATCH: usize = 256;

pub(crate) struct CreateJob {
    pub account: Account,
    pub sealed: SealedApplication,
    pub indexes: Vec<BlindEntry>,
    pub audit: AuditEvent,
    pub idem: Option<IdempotencyKey>,
    pub reply: oneshot::Sender<Result<Created>>,
}

enum Plan {
    Insert,
    Replay(String),
    Mismatch,
    Taken(Option<AccountId>),
}

pub(crate) fn spawn(store: SqlStore) -> mpsc::Sender<CreateJob> {
    let (tx, mut rx) = mpsc::channel::<CreateJob>(4 * MAX_BATCH);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            run(&store, jobs).await;
        }
    });
    tx
}

async fn run(store: &SqlStore, jobs: Vec<CreateJob>) {
    match write_batch(store, &jobs).await {
        Ok(plans) => {
            for (job, plan) in jobs.into_iter().zip(plans) {
                let result = match plan {
                    Plan::Insert => Ok(Created::New(job.account)),
                    Plan::Replay(id) => match store.account_by_id_pub(&id).await {
                        Ok(Some(a)) => Ok(Created::Replayed(a)),
                        Ok(None) => Err(StoreError::Corrupt("idempotency key points to a missing account".into())),
                        Err(e) => Err(e),
                    },
                    Plan::Mismatch => Err(StoreError::IdempotencyMismatch),
                    Plan::Taken(existing) => Err(StoreError::ExternalIdTaken { existing }),
                };
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            // Nothing of the batch was written; retry each opening alone so each gets its own
            // precise result (and one bad row cannot fail the others).
            tracing::warn!(error = %e, size = jobs.len(), "Batched opening failed; retrying one by one.");
            for job in jobs {
                let r = store.create_one(&job.account, &job.sealed, &job.indexes, &job.audit, job.idem.as_ref()).await;
                let _ = job.reply.send(r);
            }
        }
    }
}

/// Row placeholders: anonymous `?` (this writer is SQLite's; see `sql::row_marks`).
fn marks(rows: usize, cols: usize) -> String {
    crate::sql::row_marks(crate::sql::Backend::Sqlite, rows, cols)
}

async fn write_batch(store: &SqlStore, jobs: &[CreateJob]) -> Result<Vec<Plan>> {
    let mut tx: Transaction<'static, Any> = store.write_pool().begin().await?;
    let mut plans: Vec<Plan> = jobs.iter().map(|_| Plan::Insert).collect();

    // Idempotency keys already stored.
    let keyed: Vec<&IdempotencyKey> = jobs.iter().filter_map(|j| j.idem.as_ref()).collect();
    let mut stored_keys: HashMap<(String, String), (String, String)> = HashMap::new();
    for chunk in keyed.chunks(100) {
        let conds: Vec<String> =
            (0..chunk.len()).map(|i| format!("(scope = ${} AND key = ${})", 2 * i + 1, 2 * i + 2)).collect();
        let sql =
            format!("SELECT scope, key, request_hash, account_id FROM idempotency_keys WHERE {}", conds.join(" OR "));
        let mut q = sqlx::query(&sql);
        for k in chunk {
            q = q.bind(&k.scope).bind(&k.key);
        }
        for r in q.fetch_all(&mut *tx).await? {
            stored_keys.insert((r.try_get(0)?, r.try_get(1)?), (r.try_get(2)?, r.try_get(3)?));
        }
    }
    // External ids already stored.
    let ext: Vec<&str> = jobs.iter().map(|j| j.account.external_id.as_str()).collect();
    let mut taken: HashMap<String, String> = HashMap::new();
    for chunk in ext.chunks(200) {
        let sql = format!("SELECT external_id, id FROM accounts WHERE external_id IN {}", marks(1, chunk.len()));
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q.bind(*e);
        }
        for r in q.fetch_all(&mut *tx).await? {
            taken.insert(r.try_get(0)?, r.try_get(1)?);
        }
    }
    // Decide each opening in arrival order, as if alone.
    let mut batch_keys: HashMap<(String, String), (String, String)> = HashMap::new();
    let mut batch_ext: HashMap<String, AccountId> = HashMap::new();
    for (job, plan) in jobs.iter().zip(plans.iter_mut()) {
        if let Some(k) = &job.idem {
            let id = (k.scope.clone(), k.key.clone());
            if let Some((hash, acc)) = stored_keys.get(&id).or_else(|| batch_keys.get(&id)) {
                *plan = if *hash == k.request_hash { Plan::Replay(acc.clone()) } else { Plan::Mismatch };
                continue;
            }
        }
        if let Some(existing) = taken.get(&job.account.external_id) {
            *plan = Plan::Taken(AccountId::parse(existing));
            continue;
        }
        if let Some(winner) = batch_ext.get(&job.account.external_id) {
            *plan = Plan::Taken(Some(*winner));
            continue;
        }
        batch_ext.insert(job.account.external_id.clone(), job.account.id);
        if let Some(k) = &job.idem {
            batch_keys.insert((k.scope.clone(), k.key.clone()), (k.request_hash.clone(), job.account.id.to_string()));
        }
    }
    let new: Vec<&CreateJob> =
        jobs.iter().zip(&plans).filter(|(_, p)| matches!(p, Plan::Insert)).map(|(j, _)| j).collect();

    for chunk in new.chunks(50) {
        // accounts: 11 columns
        let sql = format!(
            "INSERT INTO accounts (id, external_id, account_type, opening_method, customer_kind, classification_status, \
             outcome, created_at, updated_at, summary, application, sealed) VALUES {}",
            marks_with_literal(chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for j in chunk {
            let a = &j.account;
            let summary = serde_json::to_string(a).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            q = q
                .bind(a.id.to_string())
                .bind(a.external_id.clone())
                .bind(a.account_type.as_str())
                .bind(a.opening_method.as_str())
                .bind(a.customer_kind.as_str())
                .bind(a.classification.status.as_str())
                .bind(a.decision.outcome.as_str())
                .bind(millis(a.created_at))
                .bind(millis(a.created_at))
                .bind(summary)
                .bind(j.sealed.ciphertext.clone());
        }
        q.execute(&mut *tx).await?;

        let sql =
            format!("INSERT INTO customer_keys (account_id, wrapped, created_at) VALUES {}", marks(chunk.len(), 3));
        let mut q = sqlx::query(&sql);
        for j in chunk {
            q = q.bind(j.account.id.to_string()).bind(j.sealed.wrapped_key.clone()).bind(millis(j.account.created_at));
        }
        q.execute(&mut *tx).await?;

        let sql = format!(
            "INSERT INTO decisions (account_id, seq, outcome, policy_version, decided_at, body) VALUES {}",
            marks(chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for j in chunk {
            let d = &j.account.decision;
            let body = serde_json::to_string(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            q = q
                .bind(j.account.id.to_string())
                .bind(1i64)
                .bind(d.outcome.as_str())
                .bind(d.policy_version.clone())
                .bind(millis(d.decided_at))
                .bind(body);
        }
        q.execute(&mut *tx).await?;

        for j in chunk.iter().filter(|j| j.account.decision.outcome == lessee_domain::Outcome::ManualReview) {
            crate::sql::open_review_tx(
                &mut tx,
                &j.account.id.to_string(),
                "manual_review",
                "engine",
                millis(j.account.created_at),
            )
            .await?;
        }

        let sql = format!("INSERT INTO audit_pending (event, created_at) VALUES {}", marks(chunk.len(), 2));
        let mut q = sqlx::query(&sql);
        for j in chunk {
            let json = serde_json::to_string(&j.audit).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            q = q.bind(json).bind(millis(j.audit.time));
        }
        q.execute(&mut *tx).await?;

        let keyed: Vec<(&CreateJob, &IdempotencyKey)> =
            chunk.iter().filter_map(|j| j.idem.as_ref().map(|k| (*j, k))).collect();
        if !keyed.is_empty() {
            let sql = format!(
                "INSERT INTO idempotency_keys (scope, key, request_hash, account_id, created_at) VALUES {}",
                marks(keyed.len(), 5)
            );
            let mut q = sqlx::query(&sql);
            for (j, k) in keyed {
                q = q
                    .bind(k.scope.clone())
                    .bind(k.key.clone())
                    .bind(k.request_hash.clone())
                    .bind(j.account.id.to_string())
                    .bind(millis(j.account.created_at));
            }
            q.execute(&mut *tx).await?;
        }

        let ids: Vec<String> = chunk.iter().map(|j| j.account.id.to_string()).collect();
        let idx: Vec<(&str, &BlindEntry)> =
            chunk.iter().zip(&ids).flat_map(|(j, id)| j.indexes.iter().map(move |b| (id.as_str(), b))).collect();
        crate::sql::insert_index_rows(&mut tx, &idx).await?;
    }
    tx.commit().await?;
    Ok(plans)
}

/// Row placeholders for `accounts`: 11 bound values and the literal '' for `application`.
fn marks_with_literal(rows: usize) -> String {
    vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)"; rows].join(", ")
}
