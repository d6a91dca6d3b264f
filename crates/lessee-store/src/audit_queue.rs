//! SQLite: the queue of read audit records in a file of its own.
//!
//! Every read of personal data writes its audit record (`Store::append_audit`) and commits it
//! before the data is returned. In WAL mode SQLite discards the whole page cache of every
//! connection whose next read transaction starts after any commit to the file, so with the
//! records in the main database each read's commit made every reader connection re-read its
//! pages. The records `append_audit` writes go instead to `<database>.audit-queue`, a second
//! SQLite file with one table (`audit_pending`, as in the main database) and its own writer
//! connection: reads' commits leave the main database, its caches and its one writer alone.
//! Records written with a change (`enqueue_audit_tx`) stay in the main database, in the
//! change's own transaction.
//!
//! The sequencer moves records from this queue into the main database's tree. The two files
//! commit separately, so the hand-over is by mark: the main database keeps, per queue (each
//! queue file has a random id of its own, so a replaced or recreated file is never mistaken for
//! the old one), the highest queue id sequenced, in the same transaction as the records it
//! sequenced. Queue rows at or below the mark are deleted after that commit; a crash in between
//! leaves rows the next run skips and deletes. Ids are `AUTOINCREMENT` (never reused) and
//! assigned under the queue's write lock, so no id below a visible one can appear later. The
//! sequencer commits with `synchronous = FULL` (the mark is on disk before the rows go); a
//! queue found behind its mark at start (it lost commits in a power loss, or is an older copy)
//! continues under a new id, so that the ids it hands out again are not taken as sequenced.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Connection, Executor, Row};

use crate::{PoolConfig, Result, StoreError};

/// Suffix of the queue file, beside the database file.
pub const QUEUE_SUFFIX: &str = ".audit-queue";

/// The queue file and its identity.
#[derive(Clone)]
pub(crate) struct AuditQueue {
    pub(crate) pool: AnyPool,
    pub(crate) queue_id: String,
    /// The mark through which rows were last deleted: a sequencer run with nothing new to
    /// delete does not take the queue's write lock.
    forgotten: Arc<AtomicI64>,
}

/// The queue's URL for a SQLite database URL, or `None` when the database has no file of its
/// own to sit beside (in memory) or is opened read-only.
pub(crate) fn queue_url(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let params: Vec<&str> = query.split('&').collect();
    if path.is_empty()
        || path == ":memory:"
        || params.iter().any(|p| *p == "mode=memory" || *p == "mode=ro" || p.starts_with("immutable="))
    {
        return None;
    }
    Some(format!("sqlite://{path}{QUEUE_SUFFIX}?mode=rwc"))
}

impl AuditQueue {
    /// Opens (creating if needed) the queue file at `url`.
    pub(crate) async fn open(url: &str, cfg: &PoolConfig, pragmas: &'static str) -> Result<Self> {
        // Two connections, private to the audit writer and the sequencer (which reads beside
        // the writer): never handed to a caller, so not pinged before each use, unless idle.
        let pool = AnyPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(cfg.acquire_timeout)
            .test_before_acquire(false)
            .before_acquire(ping_if_idle)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    conn.execute(pragmas).await?;
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        pool.execute(
            "CREATE TABLE IF NOT EXISTS audit_pending (\
                 id INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL, created_at BIGINT NOT NULL); \
             CREATE TABLE IF NOT EXISTS audit_queue_meta (\
                 id INTEGER PRIMARY KEY CHECK (id = 1), queue_id TEXT NOT NULL);",
        )
        .await?;
        sqlx::query("INSERT OR IGNORE INTO audit_queue_meta (id, queue_id) VALUES (1, $1)")
            .bind(uuid::Uuid::now_v7().to_string())
            .execute(&pool)
            .await?;
        let queue_id: String =
            sqlx::query("SELECT queue_id FROM audit_queue_meta WHERE id = 1").fetch_one(&pool).await?.try_get(0)?;
        if uuid::Uuid::parse_str(&queue_id).is_err() {
            return Err(StoreError::Corrupt(format!("audit queue {url}: bad queue id")));
        }
        Ok(AuditQueue { pool, queue_id, forgotten: Arc::new(AtomicI64::new(0)) })
    }

    /// Gives the queue a new id when its ids are behind `mark`, the highest id of this queue
    /// the database holds as sequenced: the queue lost commits the database kept (a power loss
    /// between them) or is an older copy. Its rows, sequenced or not, are then taken again
    /// under the new id: a record twice in the log is better than one lost.
    pub(crate) async fn renew_if_behind(&mut self, mark: i64) -> Result<()> {
        let last: i64 =
            sqlx::query("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit_pending'), 0)")
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
        if last >= mark {
            return Ok(());
        }
        let renewed = uuid::Uuid::now_v7().to_string();
        sqlx::query("UPDATE audit_queue_meta SET queue_id = $1 WHERE id = 1")
            .bind(&renewed)
            .execute(&self.pool)
            .await?;
        tracing::error!(
            last_id = last,
            sequenced_through = mark,
            "The audit queue is behind the log (lost commits or an older copy); it continues under a new id, and records it still holds may appear twice in the log."
        );
        self.queue_id = renewed;
        Ok(())
    }

    /// Up to `limit` records above `mark`, in queue order: (queue id, event JSON, time).
    pub(crate) async fn after(&self, mark: i64, limit: u32) -> Result<Vec<(i64, String, i64)>> {
        let rows = sqlx::query(&format!(
            "SELECT id, event, created_at FROM audit_pending WHERE id > $1 ORDER BY id LIMIT {limit}"
        ))
        .bind(mark)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
    }

    /// Deletes the records at or below `mark` (already in the tree).
    pub(crate) async fn forget_through(&self, mark: i64) -> Result<()> {
        if mark <= self.forgotten.load(Ordering::Relaxed) {
            return Ok(());
        }
        sqlx::query("DELETE FROM audit_pending WHERE id <= $1").bind(mark).execute(&self.pool).await?;
        self.forgotten.fetch_max(mark, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

/// `before_acquire` of the audit writers' pools: a connection idle for more than a second is
/// pinged (it may have been closed meanwhile, e.g. by a database restart); a busy one is not.
pub(crate) fn ping_if_idle(
    conn: &mut sqlx::AnyConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<bool, sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        if meta.idle_for > Duration::from_secs(1) {
            conn.ping().await?;
        }
        Ok(true)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::queue_url;

    #[test]
    fn the_queue_sits_beside_a_database_file_only() {
        assert_eq!(queue_url("sqlite:///d/lessee.db?mode=rwc").unwrap(), "sqlite:///d/lessee.db.audit-queue?mode=rwc");
        assert_eq!(queue_url("sqlite://rel/x.db").unwrap(), "sqlite://rel/x.db.audit-queue?mode=rwc");
        assert_eq!(queue_url("sqlite:x.db").unwrap(), "sqlite://x.db.audit-queue?mode=rwc");
        assert_eq!(queue_url("sqlite::memory:"), None);
        assert_eq!(queue_url("sqlite://:memory:"), None);
        assert_eq!(queue_url("sqlite://x.db?mode=memory&cache=shared"), None);
        assert_eq!(queue_url("sqlite://x.db?mode=ro"), None);
        assert_eq!(queue_url("postgres://u@h/db"), None);
    }
}
