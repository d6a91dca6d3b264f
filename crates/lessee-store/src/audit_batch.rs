//! Group commit for audit appends (`Store::append_audit`, the record every read writes before
//! it returns data). Callers queue their record; a writer task takes every record queued while
//! the previous batch ran, inserts them into `audit_pending` with multi-row statements in one
//! transaction, and answers each caller only after the commit. If the batch fails, every caller
//! in it gets the error: no audit, no data. There is one writer: on SQLite on the audit
//! queue's file (see `audit_queue.rs`), on PostgreSQL on a connection of its own; records
//! gather while its previous batch commits. Its connections are not pinged before each batch
//! unless idle; one whose batch failed is closed.

use std::sync::Arc;

use sqlx::AnyPool;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::sql::Backend;
use crate::{Result, StoreError};

/// Most records written in one transaction.
const MAX_BATCH: usize = 1024;
/// Rows per INSERT statement (2 parameters each: under both databases' limits).
const ROWS_PER_STATEMENT: usize = 256;

struct AuditJob {
    event: String,
    at: i64,
    reply: oneshot::Sender<Result<()>>,
}

/// The queue of the audit writer(s).
#[derive(Clone)]
pub(crate) struct AuditBatcher {
    tx: mpsc::Sender<AuditJob>,
}

impl AuditBatcher {
    /// Starts `workers` writer tasks on `pool`.
    pub(crate) fn spawn(pool: AnyPool, backend: Backend, workers: usize) -> Self {
        let (tx, rx) = mpsc::channel::<AuditJob>(4 * MAX_BATCH);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..workers.max(1) {
            let rx = rx.clone();
            let pool = pool.clone();
            tokio::spawn(async move {
                loop {
                    // Collect under the lock, write outside it: another worker collects the
                    // next batch while this one commits.
                    let jobs = {
                        let mut rx = rx.lock().await;
                        let Some(first) = rx.recv().await else { return };
                        // Let the tasks already runnable (requests about to queue their own
                        // records) run once before the batch is cut: larger batches, fewer
                        // commits, no timer and no wait when nothing else is runnable.
                        tokio::task::yield_now().await;
                        let mut jobs = vec![first];
                        while jobs.len() < MAX_BATCH {
                            match rx.try_recv() {
                                Ok(j) => jobs.push(j),
                                Err(_) => break,
                            }
                        }
                        jobs
                    };
                    run(&pool, backend, jobs).await;
                }
            });
        }
        AuditBatcher { tx }
    }

    /// Queues one record and waits for its commit. `None` when no writer runs (e.g. the
    /// runtime that started it has stopped): nothing was queued, the caller writes it alone.
    pub(crate) async fn append(&self, event: String, at: i64) -> Option<Result<()>> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(AuditJob { event, at, reply }).await.ok()?;
        // A writer dropped without answering may or may not have committed: refuse the read.
        Some(
            answer.await.unwrap_or_else(|_| {
                Err(StoreError::Audit("the audit writer stopped before confirming the record".into()))
            }),
        )
    }
}

async fn run(pool: &AnyPool, backend: Backend, jobs: Vec<AuditJob>) {
    let written = match pool.acquire().await {
        Ok(mut conn) => {
            let written = write_batch(&mut conn, backend, &jobs).await;
            if written.is_err() {
                // The writers' pool does not ping a connection before handing it out (one
                // round trip less per batch): one that failed is closed, not reused.
                let _ = conn.close().await;
            }
            written
        }
        Err(e) => Err(e.into()),
    };
    tracing::debug!(size = jobs.len(), ok = written.is_ok(), "Audit batch written.");
    match written {
        Ok(()) => {
            for job in jobs {
                let _ = job.reply.send(Ok(()));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            tracing::warn!(error = %msg, size = jobs.len(), "Batched audit append failed; every record of the batch is refused.");
            for job in jobs {
                let _ = job.reply.send(Err(StoreError::Audit(format!("audit append failed: {msg}"))));
            }
        }
    }
}

/// Row placeholders: `$N` on PostgreSQL, anonymous `?` on SQLite (see `SqlStore::placeholders`).
fn rows(backend: Backend, n: usize) -> String {
    (0..n)
        .map(|r| match backend {
            Backend::Sqlite => "(?, ?)".to_owned(),
            Backend::Postgres => format!("(${}, ${})", 2 * r + 1, 2 * r + 2),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn write_batch(conn: &mut sqlx::AnyConnection, backend: Backend, jobs: &[AuditJob]) -> Result<()> {
    use sqlx::Connection;
    // One statement is atomic on its own: a batch that fits in one INSERT is written without
    // BEGIN and COMMIT, two round trips to the database (a thread hand-off each on SQLite, a
    // network round trip each on PostgreSQL) fewer per batch.
    if jobs.len() <= ROWS_PER_STATEMENT {
        return insert(&mut *conn, backend, jobs).await;
    }
    let mut tx = conn.begin().await?;
    for chunk in jobs.chunks(ROWS_PER_STATEMENT) {
        insert(&mut *tx, backend, chunk).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One multi-row INSERT of `jobs` into `audit_pending`.
async fn insert<'c, E>(executor: E, backend: Backend, jobs: &[AuditJob]) -> Result<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let sql = format!("INSERT INTO audit_pending (event, created_at) VALUES {}", rows(backend, jobs.len()));
    let mut q = sqlx::query(&sql);
    for j in jobs {
        q = q.bind(j.event.as_str()).bind(j.at);
    }
    q.execute(executor).await?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests report by panicking
mod tests {
    use chrono::{TimeZone, Utc};
    use lessee_audit::{Actor, AuditEvent, AuditHashKey, Outcome as AuditOutcome, Target};

    use crate::{PoolConfig, SqlStore, Store};

    fn event(i: usize) -> AuditEvent {
        AuditEvent {
            actor: Actor { token_id: "tok1".into(), role: "control_plane".into() },
            purpose: "verification".into(),
            action: "account.application.read".into(),
            target: Target { kind: "account".into(), id: format!("a{i}") },
            time: Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap(),
            client_ip: AuditHashKey::from_bytes([3; 32]).hash_ip("127.0.0.1".parse().unwrap()),
            request_id: format!("req-{i}"),
            outcome: AuditOutcome::Allowed,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_are_all_durable_and_a_failed_batch_fails_every_caller_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqlStore::open_dir(dir.path(), &PoolConfig::default()).await.unwrap();
        s.migrate().await.unwrap();
        appends_and_a_failed_batch(s).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_are_all_durable_and_a_failed_batch_fails_every_caller_postgres() {
        let dir = tempfile::tempdir().unwrap();
        let s = crate::testing::migrated_store(true, dir.path()).await.unwrap();
        appends_and_a_failed_batch(s).await;
    }

    async fn appends_and_a_failed_batch(s: SqlStore) {
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move { s.append_audit(&event(i)).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_pending").fetch_one(s.audit_append_pool()).await.unwrap();
        assert_eq!(n, 200);

        // The table is gone: no caller may be told its record is durable.
        sqlx::query("ALTER TABLE audit_pending RENAME TO audit_pending_gone")
            .execute(s.audit_append_pool())
            .await
            .unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move { s.append_audit(&event(i)).await })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().is_err());
        }
        // The writer closed the connection of its failed batches; it writes again on a new one
        // once the table is back.
        sqlx::query("ALTER TABLE audit_pending_gone RENAME TO audit_pending")
            .execute(s.audit_append_pool())
            .await
            .unwrap();
        s.append_audit(&event(999)).await.unwrap();
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_pending").fetch_one(s.audit_append_pool()).await.unwrap();
        assert_eq!(n, 201);
        s.close().await;
    }
}
