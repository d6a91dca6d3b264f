//! The job queue on both backends (migration 0015). See [`crate::Store::claim_jobs`].

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::sql::{Backend, SqlStore, millis};
use crate::{Job, JobCount, NewJob, Result, StoreError};

impl SqlStore {
    pub(crate) async fn jobs_enqueue(&self, jobs: &[NewJob], now: DateTime<Utc>) -> Result<usize> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write.begin().await?;
        let mut added = 0;
        for j in jobs {
            let r = sqlx::query(
                "INSERT INTO jobs (kind, dedupe_key, payload, state, run_at, created_at) \
                 VALUES ($1, $2, $3, 'pending', $4, $5) \
                 ON CONFLICT (kind, dedupe_key) WHERE state = 'pending' AND dedupe_key IS NOT NULL DO NOTHING",
            )
            .bind(&j.kind)
            .bind(j.key.clone())
            .bind(j.payload.to_string())
            .bind(millis(j.run_at))
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            added += usize::try_from(r.rows_affected()).unwrap_or(0);
        }
        tx.commit().await?;
        Ok(added)
    }

    pub(crate) async fn jobs_claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<Job>> {
        // PostgreSQL: concurrent claimers skip each other's rows. SQLite: one writer, so the
        // statement is atomic as it stands.
        let lock = if self.backend == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM jobs \
                          WHERE (state = 'pending' AND run_at <= $3) OR (state = 'running' AND locked_until < $3) \
                          ORDER BY run_at, id LIMIT {}{lock}) \
             RETURNING id, kind, dedupe_key, payload, attempts",
            limit.clamp(1, 1000)
        );
        let rows = sqlx::query(&sql)
            .bind(worker)
            .bind(millis(now).saturating_add(lease_ms.max(1)))
            .bind(millis(now))
            .fetch_all(&self.write)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let payload: String = r.try_get(3)?;
            out.push(Job {
                id: r.try_get(0)?,
                kind: r.try_get(1)?,
                key: r.try_get(2)?,
                payload: serde_json::from_str(&payload)
                    .map_err(|e| StoreError::Corrupt(format!("job payload: {e}")))?,
                attempts: i32::try_from(r.try_get::<i64, _>(4).or_else(|_| r.try_get::<i32, _>(4).map(i64::from))?)
                    .unwrap_or(i32::MAX),
            });
        }
        out.sort_by_key(|j| j.id);
        Ok(out)
    }

    pub(crate) async fn jobs_complete(&self, id: i64, worker: &str, now: DateTime<Utc>) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE jobs SET state = 'done', finished_at = $1, locked_by = NULL, locked_until = NULL, last_error = NULL \
             WHERE id = $2 AND state = 'running' AND locked_by = $3",
        )
        .bind(millis(now))
        .bind(id)
        .bind(worker)
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub(crate) async fn jobs_fail(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let error: String = error.chars().take(2000).collect();
        let r = match retry_at {
            // Back to pending, unless a pending job with the same key was enqueued meanwhile:
            // that one does the work, so this one is finished (superseded).
            Some(at) => {
                sqlx::query(
                    "UPDATE jobs SET \
                       state = CASE WHEN dedupe_key IS NOT NULL AND EXISTS (SELECT 1 FROM jobs p \
                         WHERE p.kind = jobs.kind AND p.dedupe_key = jobs.dedupe_key AND p.state = 'pending') \
                         THEN 'done' ELSE 'pending' END, \
                       run_at = $1, last_error = $2, locked_by = NULL, locked_until = NULL, finished_at = $3 \
                     WHERE id = $4 AND state = 'running' AND locked_by = $5",
                )
                .bind(millis(at))
                .bind(&error)
                .bind(millis(now))
                .bind(id)
                .bind(worker)
                .execute(&self.write)
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE jobs SET state = 'dead', last_error = $1, locked_by = NULL, locked_until = NULL, \
                       finished_at = $2 WHERE id = $3 AND state = 'running' AND locked_by = $4",
                )
                .bind(&error)
                .bind(millis(now))
                .bind(id)
                .bind(worker)
                .execute(&self.write)
                .await?
            }
        };
        Ok(r.rows_affected() == 1)
    }

    pub(crate) async fn jobs_counts(&self) -> Result<Vec<JobCount>> {
        let rows = sqlx::query("SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state ORDER BY kind, state")
            .fetch_all(&self.read)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(JobCount { kind: r.try_get(0)?, state: r.try_get(1)?, count: r.try_get(2)? });
        }
        Ok(out)
    }

    pub(crate) async fn jobs_prune(&self, before: DateTime<Utc>) -> Result<u64> {
        let r = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < $1")
            .bind(millis(before))
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected())
    }
}
