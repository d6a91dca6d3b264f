//! [`Store`] on SQLite and PostgreSQL through sqlx's `Any` driver.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lessee_audit::{AuditEvent, AuditRecord, Frontier, Hash, LogEntry, NodeId, NodeMap};
use lessee_domain::{Account, AccountId, Decision};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

use crate::keyblocks::{self, Block, Entry};
use crate::{
    AccountFilter, BlindEntry, COMPACTION_FANOUT, ChallengeRecord, Compaction, Created, EventQuery, IdempotencyKey,
    Job, JobCount, LegacyApplication, LegalHold, NewJob, Page, PendingDelivery, PolicyRecord, Result, ReviewRecord,
    SealedApplication, Store, StoreError, StoredEvent, TokenRecord,
};

/// Key of the PostgreSQL advisory lock that serializes audit appends across processes.
const AUDIT_LOCK: i64 = 7_301_398_413;
/// Sequence numbers one `nextval` of `access_event_seq` reserves on PostgreSQL (its increment,
/// migration 0024): the most events one segment can be appended with.
const SEQ_BLOCK: i64 = 65_536;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The database behind a [`SqlStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Tuning of the connection pools.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig { max_connections: 16, acquire_timeout: Duration::from_secs(10) }
    }
}

/// The SQL implementation of [`Store`].
#[derive(Clone)]
pub struct SqlStore {
    pub(crate) backend: Backend,
    /// Writes. On SQLite a single connection: SQLite has one writer at a time.
    pub(crate) write: AnyPool,
    /// Reads. On PostgreSQL the same pool as `write`.
    pub(crate) read: AnyPool,
    /// Months (index since 1970-01) whose `access_events` partition is known to exist.
    partitions: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
    /// SQLite: the group-commit writer for openings (see `batch.rs`).
    batcher: Option<tokio::sync::mpsc::Sender<crate::batch::CreateJob>>,
    /// Both backends: the group-commit writer(s) of `append_audit` (see `audit_batch.rs`).
    audit_batcher: Option<crate::audit_batch::AuditBatcher>,
    /// SQLite with a database file: the file `append_audit` writes to (see `audit_queue.rs`).
    audit_queue: Option<crate::audit_queue::AuditQueue>,
    /// PostgreSQL: the audit writers' own connections.
    audit_writers: Option<AnyPool>,
}

/// Audit writers on PostgreSQL (SQLite has one: a file has one writer). One: with the batch cut
/// after a yield, records gather while the previous batch commits; two writers alternating
/// made smaller batches and measured no better (README, reads).
const POSTGRES_AUDIT_WRITERS: usize = 1;

const SQLITE_PRAGMAS: &str = "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; \
     PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;";

fn sqlite_pool(max: u32, cfg: &PoolConfig) -> AnyPoolOptions {
    AnyPoolOptions::new().max_connections(max).acquire_timeout(cfg.acquire_timeout).after_connect(|conn, _meta| {
        Box::pin(async move {
            conn.execute(SQLITE_PRAGMAS).await?;
            Ok(())
        })
    })
}

impl SqlStore {
    /// Opens (creating if needed) the embedded SQLite database in `dir`.
    pub async fn open_dir(dir: &Path, cfg: &PoolConfig) -> Result<Self> {
        let path = dir.join("lessee.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::connect(&url, cfg).await
    }

    /// Connects to `sqlite://…` or `postgres://…`.
    pub async fn connect(url: &str, cfg: &PoolConfig) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::Config("expected a sqlite:// or postgres:// URL".to_owned()));
        };
        // Fail early with a clear message on a malformed URL.
        sqlx::any::AnyConnectOptions::from_str(url).map_err(|e| StoreError::Config(e.to_string()))?;
        match backend {
            Backend::Sqlite => {
                let write = sqlite_pool(1, cfg).connect(url).await?;
                // WAL lets readers run beside the writer; it is a property of the file.
                sqlx::query("PRAGMA journal_mode = WAL").execute(&write).await?;
                let read = sqlite_pool(cfg.max_connections.max(2), cfg).connect(url).await?;
                let audit_queue = match crate::audit_queue::queue_url(url) {
                    Some(queue) => {
                        let mut queue = crate::audit_queue::AuditQueue::open(&queue, cfg, SQLITE_PRAGMAS).await?;
                        // Before anything is appended: a queue whose ids fell behind the mark
                        // (it lost commits the database kept, or was restored from an older
                        // copy) would hand out ids the sequencer skips.
                        let mark = match write.acquire().await {
                            Ok(mut conn) => queue_mark(&mut conn, &queue.queue_id).await.unwrap_or(0),
                            Err(e) => return Err(e.into()),
                        };
                        queue.renew_if_behind(mark).await?;
                        Some(queue)
                    }
                    None => None,
                };
                let audit_pool = audit_queue.as_ref().map_or_else(|| write.clone(), |q| q.pool.clone());
                let audit = crate::audit_batch::AuditBatcher::spawn(audit_pool, backend, 1);
                let mut store = SqlStore {
                    backend,
                    write,
                    read,
                    partitions: Default::default(),
                    batcher: None,
                    audit_batcher: Some(audit),
                    audit_queue,
                    audit_writers: None,
                };
                store.batcher = Some(crate::batch::spawn(store.clone()));
                Ok(store)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(cfg.max_connections)
                    .acquire_timeout(cfg.acquire_timeout)
                    .connect(url)
                    .await?;
                // The audit writers' own connections: not taken from the shared pool (a batch
                // never waits behind requests for a connection) and not pinged before each
                // batch unless idle for a second (a round trip per batch; a connection whose
                // batch failed is closed).
                let audit_pool = AnyPoolOptions::new()
                    .max_connections(POSTGRES_AUDIT_WRITERS as u32)
                    .acquire_timeout(cfg.acquire_timeout)
                    .test_before_acquire(false)
                    .before_acquire(crate::audit_queue::ping_if_idle)
                    .connect_lazy(url)?;
                let audit =
                    crate::audit_batch::AuditBatcher::spawn(audit_pool.clone(), backend, POSTGRES_AUDIT_WRITERS);
                Ok(SqlStore {
                    backend,
                    write: pool.clone(),
                    read: pool,
                    partitions: Default::default(),
                    batcher: None,
                    audit_batcher: Some(audit),
                    audit_queue: None,
                    audit_writers: Some(audit_pool),
                })
            }
        }
    }

    /// Creates an empty PostgreSQL database named `<prefix>_<uuid>` through the server at
    /// `admin_url` and returns its URL (benchmarks and tests use throwaway databases).
    pub async fn create_postgres_database(admin_url: &str, prefix: &str) -> Result<String> {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(admin_url).await?;
        let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(StoreError::Config("database name prefix must be [A-Za-z0-9_]".into()));
        }
        conn.execute(format!("CREATE DATABASE {name}").as_str()).await?;
        let _ = conn.close().await;
        let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin_url);
        Ok(format!("{base}/{name}"))
    }

    /// Drops a database made by [`SqlStore::create_postgres_database`]; close its pools first.
    pub async fn drop_postgres_database(admin_url: &str, db_url: &str) -> Result<()> {
        use sqlx::Connection;
        let name = db_url.rsplit_once('/').map(|(_, n)| n).unwrap_or("");
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(StoreError::Config("not a database made by lessee".into()));
        }
        let mut conn = sqlx::AnyConnection::connect(admin_url).await?;
        conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await?;
        let _ = conn.close().await;
        Ok(())
    }

    /// Closes the pools, waiting for connections in use.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
        if let Some(q) = &self.audit_queue {
            q.close().await;
        }
        if let Some(p) = &self.audit_writers {
            p.close().await;
        }
    }

    /// The pool that writes, for callers (benchmarks) that measure raw inserts.
    pub fn write_pool(&self) -> &AnyPool {
        &self.write
    }

    /// The pool `append_audit` writes to: the audit queue's file on SQLite with a database
    /// file, the database itself otherwise (tests use it to make audit writes fail).
    pub fn audit_append_pool(&self) -> &AnyPool {
        self.audit_queue.as_ref().map_or(&self.write, |q| &q.pool)
    }

    /// SQLite with an audit queue: the sequencer's transaction takes the write lock at once
    /// (`BEGIN IMMEDIATE`: a sequencer in another process waits for it instead of failing on
    /// a stale snapshot) and commits with `synchronous = FULL`, so that the tree and the
    /// queue's mark are on disk before the queue's rows are deleted (the two files commit
    /// separately; with `NORMAL` a power loss could keep the deletion and lose the commit).
    async fn sequence_with_queue(
        &self,
        queue: &crate::audit_queue::AuditQueue,
        limit: u32,
    ) -> Result<(u64, Option<i64>)> {
        use sqlx::Connection;
        let mut conn = self.write.acquire().await?;
        sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await?;
        let done = async {
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
            let done = sequence_tx(&mut tx, self.backend, limit, Some(queue)).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(done)
        }
        .await;
        if sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await.is_err() {
            // Not handed out again with FULL (every later commit would wait for the disk).
            let _ = conn.close().await;
        }
        done
    }
}

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Appends `account.decision` as the account's next decision and writes the account view.
pub(crate) async fn record_decision_tx(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    account: &Account,
) -> Result<i64> {
    let id = account.id.to_string();
    // Serialize re-decisions of one account (SQLite's single writer does it already).
    let lock = if backend == Backend::Postgres {
        "SELECT updated_at FROM accounts WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT updated_at FROM accounts WHERE id = $1"
    };
    if sqlx::query(lock).bind(&id).fetch_optional(&mut **tx).await?.is_none() {
        return Err(StoreError::NotFound);
    }
    let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM decisions WHERE account_id = $1")
        .bind(&id)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    sqlx::query(
        "INSERT INTO decisions (account_id, seq, outcome, policy_version, decided_at, body) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(seq)
    .bind(account.decision.outcome.as_str())
    .bind(&account.decision.policy_version)
    .bind(millis(account.decision.decided_at))
    .bind(json(&account.decision)?)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE accounts SET summary = $1, outcome = $2, classification_status = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(json(account)?)
    .bind(account.decision.outcome.as_str())
    .bind(account.classification.status.as_str())
    .bind(millis(account.decision.decided_at))
    .bind(&id)
    .execute(&mut **tx)
    .await?;
    if account.decision.outcome == lessee_domain::Outcome::ManualReview {
        open_review_tx(tx, &id, "manual_review", "engine", millis(account.decision.decided_at)).await?;
    }
    Ok(seq)
}

const REVIEW_COLUMNS: &str = "id, account_id, status, engine_outcome, reason, opened_by, opened_at, claimed_by, \
     proposed_outcome, proposed_by, proposed_note, second_by, decided_outcome, closed_at";

fn review_from_row(r: &AnyRow) -> Result<ReviewRecord> {
    let account: String = r.try_get(1)?;
    Ok(ReviewRecord {
        id: r.try_get(0)?,
        account_id: AccountId::parse(&account).ok_or_else(|| StoreError::Corrupt(format!("account id {account}")))?,
        status: r.try_get(2)?,
        engine_outcome: r.try_get(3)?,
        reason: r.try_get(4)?,
        opened_by: r.try_get(5)?,
        opened_at: from_millis(r.try_get(6)?)?,
        claimed_by: r.try_get(7)?,
        proposed_outcome: r.try_get(8)?,
        proposed_by: r.try_get(9)?,
        proposed_note: r.try_get(10)?,
        second_by: r.try_get(11)?,
        decided_outcome: r.try_get(12)?,
        closed_at: r.try_get::<Option<i64>, _>(13)?.map(from_millis).transpose()?,
    })
}

/// Opens a review case unless one is open on the account; the engine's outcome is the
/// account's current one. Returns whether one was opened.
pub(crate) async fn open_review_tx(
    tx: &mut Transaction<'static, Any>,
    account_id: &str,
    reason: &str,
    by: &str,
    at: i64,
) -> Result<bool> {
    // Two transactions opening a case for one account at once (PostgreSQL) both see none open
    // and pick the same id: the loser's insert meets the winner's row and does nothing. That
    // means "a case is open" only if one is: the id may instead have met a case opened and
    // closed meanwhile, so the loser looks, and counts again if none is open.
    for _ in 0..5 {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM reviews WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
        let done = sqlx::query(
            "INSERT INTO reviews (id, account_id, status, engine_outcome, reason, opened_by, opened_at) \
             SELECT $1, id, 'open', outcome, $2, $3, $4 FROM accounts WHERE id = $5 \
             AND NOT EXISTS (SELECT 1 FROM reviews WHERE account_id = $5 AND status <> 'closed') \
             ON CONFLICT DO NOTHING",
        )
        .bind(format!("{account_id}.{}", n + 1))
        .bind(reason)
        .bind(by)
        .bind(at)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(true);
        }
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM reviews WHERE account_id = $1 AND status <> 'closed'), \
             (SELECT COUNT(*) FROM accounts WHERE id = $1)",
        )
        .bind(account_id)
        .fetch_one(&mut **tx)
        .await?;
        let (open, exists): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        if open > 0 || exists == 0 {
            return Ok(false);
        }
    }
    Err(StoreError::Corrupt(format!("could not pick a free review id for account {account_id}")))
}

fn log_entry_from_row(r: &AnyRow) -> Result<LogEntry> {
    let record: AuditRecord = parse(&r.try_get::<String, _>(0)?)?;
    let leaf_hash = Hash::from_hex(&r.try_get::<String, _>(1)?).map_err(audit_err)?;
    Ok(LogEntry { record, leaf_hash })
}

/// Sets (or replaces) one evidence state of an account.
async fn set_evidence_tx(
    tx: &mut Transaction<'static, Any>,
    account_id: &str,
    kind: &str,
    state: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO evidence_states (account_id, kind, state, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, kind) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(kind)
    .bind(state)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const POLICY_COLUMNS: &str = "version, policy_id, sha256, source, note, created_by, created_at";

fn policy_from_row(r: &AnyRow) -> Result<PolicyRecord> {
    Ok(PolicyRecord {
        version: r.try_get(0)?,
        policy_id: r.try_get(1)?,
        sha256: r.try_get(2)?,
        source: r.try_get(3)?,
        note: r.try_get(4)?,
        created_by: r.try_get(5)?,
        created_at: from_millis(r.try_get(6)?)?,
    })
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("bad timestamp {ms}")))
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn token_from_row(r: &AnyRow) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        role: r.try_get("role")?,
        secret_hash: r.try_get("secret_hash")?,
        created_at: from_millis(r.try_get("created_at")?)?,
        revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(from_millis).transpose()?,
    })
}

fn audit_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Audit(e.to_string())
}

/// Writes an audit record into the pending queue inside `tx`: durable with the change it records.
pub(crate) async fn enqueue_audit_tx(tx: &mut Transaction<'static, Any>, event: &AuditEvent) -> Result<()> {
    let json = serde_json::to_string(event).map_err(audit_err)?;
    sqlx::query("INSERT INTO audit_pending (event, created_at) VALUES ($1, $2)")
        .bind(json)
        .bind(millis(event.time))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The highest id of the audit queue `queue_id` already in the tree (0: none).
async fn queue_mark(conn: &mut sqlx::AnyConnection, queue_id: &str) -> Result<i64> {
    Ok(sqlx::query("SELECT upto FROM audit_queue_marks WHERE queue_id = $1")
        .bind(queue_id)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?
        .unwrap_or(0))
}

/// Reads the tree's right edge: from `audit_head`, or (first time) from the nodes.
async fn read_head(tx: &mut Transaction<'_, Any>) -> Result<(u64, Vec<(NodeId, Hash)>)> {
    if let Some(r) = sqlx::query("SELECT size, frontier FROM audit_head WHERE id = 1").fetch_optional(&mut **tx).await?
    {
        let size = u64::try_from(r.try_get::<i64, _>(0)?).map_err(audit_err)?;
        let text: String = r.try_get(1)?;
        let hashes = text
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| Hash::from_hex(h).map_err(audit_err))
            .collect::<Result<Vec<_>>>()?;
        return Ok((size, Frontier::node_ids(size).into_iter().zip(hashes).collect()));
    }
    let size: i64 =
        sqlx::query("SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_records").fetch_one(&mut **tx).await?.try_get(0)?;
    let size = u64::try_from(size).map_err(audit_err)?;
    let mut edge = Vec::new();
    for id in Frontier::node_ids(size) {
        let row = sqlx::query("SELECT hash FROM audit_nodes WHERE level = $1 AND idx = $2")
            .bind(i32::from(id.level))
            .bind(i64::try_from(id.index).map_err(audit_err)?)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| audit_err(format!("missing audit node {id:?}")))?;
        edge.push((id, Hash::from_hex(&row.try_get::<String, _>(0)?).map_err(audit_err)?));
    }
    Ok((size, edge))
}

/// The sequencer: moves up to `limit` pending records into the tree in one transaction: those
/// of the main database's `audit_pending` and (SQLite) those of the audit queue's file, merged
/// by time, each source in its own order. Serialized by SQLite's single writer, and by an
/// advisory lock on PostgreSQL. Returns how many, and the queue's mark after the transaction
/// (if any): the caller deletes the queue's records through it after the commit.
async fn sequence_tx(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    limit: u32,
    queue: Option<&crate::audit_queue::AuditQueue>,
) -> Result<(u64, Option<i64>)> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK).execute(&mut **tx).await?;
    }
    let limit = limit.clamp(1, 5000);
    let main: Vec<(i64, String, i64)> =
        sqlx::query(&format!("SELECT id, event, created_at FROM audit_pending ORDER BY id LIMIT {limit}"))
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<_>>()?;
    let mut old_mark = None;
    let queued = match queue {
        Some(queue) => {
            // The mark is read in this transaction, which holds the database's write lock
            // (`BEGIN IMMEDIATE`): no other sequencer, in this process or another, can move it
            // before this one commits.
            let mark = queue_mark(tx, &queue.queue_id).await?;
            old_mark = (mark > 0).then_some(mark);
            match queue.after(mark, limit).await {
                Ok(rows) => rows,
                Err(e) => {
                    // The queue's records stay where they are, the mark unmoved: the
                    // database's own records are sequenced meanwhile.
                    tracing::error!(error = %e, "The audit queue could not be read; its records wait.");
                    old_mark = None;
                    Vec::new()
                }
            }
        }
        None => Vec::new(),
    };
    // Merge by time; of each source a prefix is taken, so the queue's mark is the id of the
    // last queue record taken.
    let (mut m, mut q) = (main.into_iter().peekable(), queued.into_iter().peekable());
    let mut ids: Vec<i64> = Vec::new();
    let mut new_mark = None;
    let mut pending: Vec<String> = Vec::new();
    while pending.len() < limit as usize {
        let from_main = match (m.peek(), q.peek()) {
            (Some(a), Some(b)) => a.2 <= b.2,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if from_main { m.next() } else { q.next() };
        let Some((id, event, _)) = next else { break };
        if from_main {
            ids.push(id);
        } else {
            new_mark = Some(id);
        }
        pending.push(event);
    }
    if pending.is_empty() {
        // Queue records left at or below the mark by a crash after an earlier commit.
        return Ok((0, old_mark));
    }
    let (size, edge) = read_head(tx).await?;
    let mut frontier = Frontier::load(&NodeMap::new(size, edge.clone())).map_err(audit_err)?;
    let mut known: std::collections::HashMap<NodeId, Hash> = edge.into_iter().collect();
    let mut records: Vec<(i64, String, String, i64, String)> = Vec::with_capacity(pending.len());
    let mut nodes: Vec<(NodeId, Hash)> = Vec::new();
    for (n, event) in pending.iter().enumerate() {
        let event: AuditEvent = parse(event)?;
        let seq = size + n as u64;
        let record = event.at(seq);
        let leaf = record.leaf_hash().map_err(audit_err)?;
        frontier.push_with(leaf, |id, h| nodes.push((id, h))).map_err(audit_err)?;
        records.push((
            i64::try_from(seq).map_err(audit_err)?,
            leaf.to_hex(),
            serde_json::to_string(&record).map_err(audit_err)?,
            millis(record.event.time),
            record.event.target.id.clone(),
        ));
    }
    for chunk in records.chunks(500) {
        let marks = row_marks(backend, chunk.len(), 5);
        let sql = format!("INSERT INTO audit_records (seq, leaf_hash, record, created_at, target_id) VALUES {}", marks);
        let mut q = sqlx::query(&sql);
        for (seq, leaf, json, at, target) in chunk {
            q = q.bind(*seq).bind(leaf.clone()).bind(json.clone()).bind(*at).bind(target.clone());
        }
        q.execute(&mut **tx).await?;
    }
    for chunk in nodes.chunks(500) {
        let marks = row_marks(backend, chunk.len(), 3);
        let sql = format!("INSERT INTO audit_nodes (level, idx, hash) VALUES {}", marks);
        let mut q = sqlx::query(&sql);
        for (id, h) in chunk {
            q = q.bind(i32::from(id.level)).bind(i64::try_from(id.index).map_err(audit_err)?).bind(h.to_hex());
        }
        q.execute(&mut **tx).await?;
    }
    for chunk in ids.chunks(500) {
        let marks = row_marks(backend, 1, chunk.len());
        let sql = format!("DELETE FROM audit_pending WHERE id IN {}", marks);
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
    }
    // The new right edge: each of its nodes is on the old edge or was just completed.
    let new_size = size + records.len() as u64;
    known.extend(nodes);
    let new_edge = Frontier::node_ids(new_size)
        .into_iter()
        .map(|id| known.get(&id).map(Hash::to_hex).ok_or_else(|| audit_err(format!("edge node {id:?} unknown"))))
        .collect::<Result<Vec<_>>>()?
        .join(",");
    sqlx::query(
        "INSERT INTO audit_head (id, size, frontier) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET size = excluded.size, frontier = excluded.frontier",
    )
    .bind(i64::try_from(new_size).map_err(audit_err)?)
    .bind(new_edge)
    .execute(&mut **tx)
    .await?;
    if let (Some(queue), Some(mark)) = (queue, new_mark) {
        sqlx::query(
            "INSERT INTO audit_queue_marks (queue_id, upto) VALUES ($1, $2) \
             ON CONFLICT (queue_id) DO UPDATE SET upto = excluded.upto",
        )
        .bind(&queue.queue_id)
        .bind(mark)
        .execute(&mut **tx)
        .await?;
    }
    Ok((records.len() as u64, new_mark.or(old_mark)))
}

/// Reads the given node hashes in one statement.
async fn fetch_nodes<'e, E>(exec: E, ids: &[NodeId]) -> Result<Vec<(NodeId, Hash)>>
where
    E: Executor<'e, Database = Any>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // One indexed point lookup per node: an OR of composite conditions makes SQLite scan.
    let sql = (0..ids.len())
        .map(|i| {
            format!("SELECT level, idx, hash FROM audit_nodes WHERE level = ${} AND idx = ${}", 2 * i + 1, 2 * i + 2)
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(i32::from(id.level)).bind(i64::try_from(id.index).map_err(audit_err)?);
    }
    let rows = q.fetch_all(exec).await?;
    rows.iter()
        .map(|r| {
            let level: i32 = r.try_get(0)?;
            let idx: i64 = r.try_get(1)?;
            let hash: String = r.try_get(2)?;
            Ok((
                NodeId {
                    level: u8::try_from(level).map_err(audit_err)?,
                    index: u64::try_from(idx).map_err(audit_err)?,
                },
                Hash::from_hex(&hash).map_err(audit_err)?,
            ))
        })
        .collect()
}

pub(crate) async fn insert_indexes(
    tx: &mut Transaction<'static, Any>,
    account_id: &str,
    indexes: &[BlindEntry],
) -> Result<()> {
    let rows: Vec<(&str, &BlindEntry)> = indexes.iter().map(|b| (account_id, b)).collect();
    insert_index_rows(tx, &rows).await
}

/// An account id and one of its blind indexes.
pub(crate) type IndexRow<'a> = (&'a str, &'a BlindEntry);

/// Writes blind indexes of accounts: screening keys ([`crate::SCREENING_KEY_PURPOSE`]) to their
/// compact table, every other purpose to `blind_indexes`.
pub(crate) async fn insert_index_rows(tx: &mut Transaction<'static, Any>, rows: &[IndexRow<'_>]) -> Result<()> {
    let (keys, blind): (Vec<&IndexRow<'_>>, Vec<&IndexRow<'_>>) =
        rows.iter().partition(|(_, b)| b.purpose == crate::SCREENING_KEY_PURPOSE);
    for chunk in blind.chunks(200) {
        let marks = row_marks(tx_backend(tx), chunk.len(), 4);
        let sql = format!(
            "INSERT INTO blind_indexes (purpose, value, account_id, subject) VALUES {} ON CONFLICT DO NOTHING",
            marks
        );
        let mut q = sqlx::query(&sql);
        for (account_id, b) in chunk {
            q = q.bind(&b.purpose).bind(&b.value).bind(*account_id).bind(&b.subject);
        }
        q.execute(&mut **tx).await?;
    }
    let mut parsed = Vec::with_capacity(keys.len());
    for (account_id, b) in keys {
        let key: i64 = b.value.parse().map_err(|_| StoreError::Corrupt("a screening key is not a number".into()))?;
        // The subject's ordinal (empty: the customer).
        let subject: i64 = match b.subject.as_str() {
            "" => 0,
            s => s.parse().map_err(|_| StoreError::Corrupt("a screening key's subject is not an ordinal".into()))?,
        };
        parsed.push((*account_id, subject, key));
    }
    insert_screening_keys(tx, &parsed).await
}

/// Adds screening keys (kept beside any already there).
pub(crate) async fn insert_screening_keys(tx: &mut Transaction<'static, Any>, rows: &[(&str, i64, i64)]) -> Result<()> {
    for chunk in rows.chunks(300) {
        let marks = row_marks(tx_backend(tx), chunk.len(), 3);
        let sql =
            format!("INSERT INTO screening_keys (key, account_id, subject) VALUES {} ON CONFLICT DO NOTHING", marks);
        let mut q = sqlx::query(&sql);
        for (account_id, subject, key) in chunk {
            q = q.bind(*key).bind(*account_id).bind(*subject);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Removes an account's blind indexes and screening keys.
async fn delete_indexes(tx: &mut Transaction<'static, Any>, account_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM blind_indexes WHERE account_id = $1").bind(account_id).execute(&mut **tx).await?;
    sqlx::query("DELETE FROM screening_keys WHERE account_id = $1").bind(account_id).execute(&mut **tx).await?;
    Ok(())
}

/// `rows` rows of `cols` parameters each, `(…), (…)`: `$N` on PostgreSQL; anonymous `?` on
/// SQLite, whose lookup of a numbered parameter walks a list (quadratic over a multi-row
/// statement's thousands of parameters).
pub(crate) fn row_marks(backend: Backend, rows: usize, cols: usize) -> String {
    (0..rows).map(|r| format!("({})", param_list(backend, r * cols, cols))).collect::<Vec<_>>().join(", ")
}

/// `count` parameters, numbered from `first + 1` on PostgreSQL, anonymous `?` on SQLite.
fn param_list(backend: Backend, first: usize, count: usize) -> String {
    let marks: Vec<String> = (first + 1..=first + count)
        .map(|n| if backend == Backend::Sqlite { "?".to_owned() } else { format!("${n}") })
        .collect();
    marks.join(", ")
}

/// Writes one level of a segment's keys (`entries` sorted) as blocks of `2^bits` buckets; the
/// integers go into the statement text, only the blocks are bound.
async fn write_blocks(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    seg: i64,
    lvl: i16,
    entries: &[Entry],
    bits: u32,
) -> Result<()> {
    let blocks = keyblocks::encode_buckets(entries, bits);
    for chunk in blocks.chunks(500) {
        let rows: Vec<String> = chunk
            .iter()
            .zip(0..)
            .map(|((bucket, _), i)| format!("({seg}, {lvl}, {bucket}, {})", param_list(backend, i, 1)))
            .collect();
        let sql = format!("INSERT INTO access_key_blocks (seg, lvl, bucket, data) VALUES {}", rows.join(", "));
        let mut q = sqlx::query(&sql);
        for (_, data) in chunk {
            q = q.bind(data.clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Notes accounts seen accessing from countries (`evidence_states` kind `access_country:CC`),
/// in key order and once each: two transactions noting overlapping accounts at the same time
/// (PostgreSQL) then wait for each other instead of deadlocking.
async fn note_access_countries_tx(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    seen: &[(AccountId, String)],
    at: DateTime<Utc>,
) -> Result<()> {
    let mut seen: Vec<(String, String)> =
        seen.iter().map(|(id, cc)| (id.to_string(), format!("access_country:{cc}"))).collect();
    seen.sort_unstable();
    seen.dedup();
    for chunk in seen.chunks(500) {
        let rows: Vec<String> =
            (0..chunk.len()).map(|i| format!("({}, 'seen', {})", param_list(backend, 2 * i, 2), millis(at))).collect();
        let sql = format!(
            "INSERT INTO evidence_states (account_id, kind, state, updated_at) VALUES {} \
             ON CONFLICT (account_id, kind) DO NOTHING",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (id, kind) in chunk {
            q = q.bind(id.clone()).bind(kind.clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// One level of a segment's keys from the row-per-key tables of migration 0014, sorted, read
/// in keyset-paged pages of 50,000 rows so that only the entries (24 bytes each) accumulate.
async fn row_keys(tx: &mut Transaction<'static, Any>, seg: i64, lvl: i16) -> Result<Vec<Entry>> {
    const PAGE: usize = 50_000;
    let mut entries = Vec::new();
    if lvl == keyblocks::ACCOUNT_LEVEL {
        let mut after: Option<(String, i64, i64)> = None;
        loop {
            let (id, at, seq) = after.clone().unwrap_or((String::new(), i64::MIN, i64::MIN));
            let rows = sqlx::query(
                "SELECT account_id, at, seq FROM access_account_keys WHERE seg = $1 \
                 AND ($2 = 1 OR account_id > $3 OR (account_id = $3 AND (at > $4 OR (at = $4 AND seq > $5)))) \
                 ORDER BY account_id, at, seq LIMIT 50000",
            )
            .bind(seg)
            .bind(i64::from(after.is_none()))
            .bind(id)
            .bind(at)
            .bind(seq)
            .fetch_all(&mut **tx)
            .await?;
            for r in &rows {
                let id: String = r.try_get(0)?;
                let (at, seq): (i64, i64) = (r.try_get(1)?, r.try_get(2)?);
                let parsed =
                    AccountId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("bad account id {id}")))?;
                entries.push(Entry { key: keyblocks::account_key(&parsed), at, seq });
                after = Some((id, at, seq));
            }
            if rows.len() < PAGE {
                break;
            }
        }
        // Read in account-id order; blocks are in hashed-key order.
        entries.sort_unstable();
    } else {
        let mut after: Option<Entry> = None;
        loop {
            let e = after.unwrap_or(Entry { key: i64::MIN, at: i64::MIN, seq: i64::MIN });
            let rows = sqlx::query(
                "SELECT key, at, seq FROM access_ip_keys WHERE seg = $1 AND lvl = $2 \
                 AND ($3 = 1 OR key > $4 OR (key = $4 AND (at > $5 OR (at = $5 AND seq > $6)))) \
                 ORDER BY key, at, seq LIMIT 50000",
            )
            .bind(seg)
            .bind(lvl)
            .bind(i64::from(after.is_none()))
            .bind(e.key)
            .bind(e.at)
            .bind(e.seq)
            .fetch_all(&mut **tx)
            .await?;
            for r in &rows {
                let e = Entry { key: r.try_get(0)?, at: r.try_get(1)?, seq: r.try_get(2)? };
                entries.push(e);
                after = Some(e);
            }
            if rows.len() < PAGE {
                break;
            }
        }
    }
    Ok(entries)
}

/// The backend of a transaction's connection.
pub(crate) fn tx_backend(tx: &Transaction<'static, Any>) -> Backend {
    if tx.backend_name().eq_ignore_ascii_case("sqlite") { Backend::Sqlite } else { Backend::Postgres }
}

/// Bytes from hexadecimal (as `hex()` / `encode(.., 'hex')` write them).
fn from_hex(text: &str) -> Result<Vec<u8>> {
    hex::decode(text).map_err(|e| StoreError::Corrupt(format!("a hex value is not hex: {e}")))
}

/// Month index (months since 1970-01) of a time in ms, and the ms bounds of that month.
fn month_of(ms: i64) -> Option<(i64, i64, i64)> {
    use chrono::Datelike;
    let t = DateTime::from_timestamp_millis(ms)?;
    let start = chrono::NaiveDate::from_ymd_opt(t.year(), t.month(), 1)?;
    let next = if t.month() == 12 {
        chrono::NaiveDate::from_ymd_opt(t.year() + 1, 1, 1)?
    } else {
        chrono::NaiveDate::from_ymd_opt(t.year(), t.month() + 1, 1)?
    };
    let idx = i64::from(t.year() - 1970) * 12 + i64::from(t.month0());
    Some((
        idx,
        start.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis(),
        next.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis(),
    ))
}

impl SqlStore {
    /// `count` placeholders in parentheses for parameters `first + 1 ..= first + count`: `$N` on
    /// PostgreSQL; anonymous `?` on SQLite, whose lookup of a numbered parameter's name walks
    /// a list (quadratic over the thousands of parameters of a multi-row statement).
    pub(crate) fn placeholders(&self, first: usize, count: usize) -> String {
        format!("({})", self.params(first, count))
    }

    /// Pairs of text values selected from `from_where` (which binds `binds`, in order) for the
    /// rows it matches, returned as one JSON array in one row rather than one row per pair:
    /// sqlx hands each row of a result from SQLite's worker thread to the caller's task, a
    /// wake-up per row, which made a 5,000-row lookup cost ~13 µs a row.
    async fn fetch_pairs(
        &self,
        first: &str,
        second: &str,
        from_where: &str,
        binds: &[String],
    ) -> Result<Vec<(String, String)>> {
        let sql = match self.backend {
            Backend::Sqlite => format!("SELECT json_group_array(json_array({first}, {second})) FROM {from_where}"),
            Backend::Postgres => {
                format!("SELECT COALESCE(json_agg(json_build_array({first}, {second}))::text, '[]') FROM {from_where}")
            }
        };
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(b.clone());
        }
        let text: String = q.fetch_one(&self.read).await?.try_get(0)?;
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("aggregated rows: {e}")))
    }

    /// `hex(column)` in this backend's SQL.
    fn hex_of(&self, column: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("hex({column})"),
            Backend::Postgres => format!("encode({column}, 'hex')"),
        }
    }

    /// The same without parentheses, for `IN (...)` lists.
    pub(crate) fn params(&self, first: usize, count: usize) -> String {
        param_list(self.backend, first, count)
    }
}

const EVENT_COLUMNS: &str = "id, account_id, at, kind, action, sealed, ip0, ip1, ip2, ip3, seq";

/// Integers as a SQL list (`1,2,3`): safe to write into a statement.
fn join_ints(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

fn event_from_row(r: &AnyRow) -> Result<StoredEvent> {
    let account: String = r.try_get(1)?;
    Ok(StoredEvent {
        id: r.try_get(0)?,
        account_id: AccountId::parse(&account)
            .ok_or_else(|| StoreError::Corrupt(format!("bad account id {account}")))?,
        at: from_millis(r.try_get(2)?)?,
        kind: r.try_get(3)?,
        action: r.try_get(4)?,
        sealed: r.try_get(5)?,
        ip: [r.try_get(6)?, r.try_get(7)?, r.try_get(8)?, r.try_get(9)?],
        seq: r.try_get(10)?,
    })
}

impl SqlStore {
    pub(crate) async fn create_one(
        &self,
        account: &Account,
        application: &SealedApplication,
        indexes: &[BlindEntry],
        audit: &AuditEvent,
        idempotency: Option<&IdempotencyKey>,
    ) -> Result<Created> {
        let id = account.id.to_string();
        let now = millis(account.created_at);
        let summary = json(account)?;
        let decision = json(&account.decision)?;
        let mut tx = self.write.begin().await?;
        if let Some(k) = idempotency {
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (scope, key, request_hash, account_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO NOTHING",
            )
            .bind(&k.scope)
            .bind(&k.key)
            .bind(&k.request_hash)
            .bind(&id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                tx.rollback().await?;
                return self.replay(k).await;
            }
        }
        let insert = sqlx::query(
            "INSERT INTO accounts (id, external_id, account_type, opening_method, customer_kind, \
             classification_status, outcome, created_at, updated_at, summary, application, sealed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, '', $10)",
        )
        .bind(&id)
        .bind(&account.external_id)
        .bind(account.account_type.as_str())
        .bind(account.opening_method.as_str())
        .bind(account.customer_kind.as_str())
        .bind(account.classification.status.as_str())
        .bind(account.decision.outcome.as_str())
        .bind(now)
        .bind(&summary)
        .bind(application.ciphertext.clone())
        .execute(&mut *tx)
        .await;
        match insert {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                tx.rollback().await?;
                let existing = self.external_id_owner(&account.external_id).await?;
                return Err(StoreError::ExternalIdTaken { existing });
            }
            Err(e) => return Err(e.into()),
        }
        sqlx::query("INSERT INTO customer_keys (account_id, wrapped, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(application.wrapped_key.clone())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        insert_indexes(&mut tx, &id, indexes).await?;
        sqlx::query(
            "INSERT INTO decisions (account_id, seq, outcome, policy_version, decided_at, body) \
             VALUES ($1, 1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(account.decision.outcome.as_str())
        .bind(&account.decision.policy_version)
        .bind(millis(account.decision.decided_at))
        .bind(&decision)
        .execute(&mut *tx)
        .await?;
        if account.decision.outcome == lessee_domain::Outcome::ManualReview {
            open_review_tx(&mut tx, &id, "manual_review", "engine", now).await?;
        }
        enqueue_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Created::New(account.clone()))
    }

    pub(crate) async fn account_by_id_pub(&self, id: &str) -> Result<Option<Account>> {
        self.account_by_id(&self.write, id).await
    }

    /// Moves the keys of segments written before migration 0025 from the row-per-key tables
    /// into blocks, one segment per transaction (an interrupted run resumes where it stopped).
    /// Memory: one level of one segment at a time (24 bytes an event).
    async fn convert_row_keys(&self) -> Result<()> {
        let old_tables: i64 = sqlx::query(match self.backend {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'access_ip_keys'",
            Backend::Postgres => {
                "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'access_ip_keys'"
            }
        })
        .fetch_one(&self.write)
        .await?
        .try_get(0)?;
        if old_tables == 0 {
            return Ok(());
        }
        loop {
            let mut tx = self.write.begin().await?;
            if self.backend == Backend::Postgres {
                // Servers starting together convert one segment at a time, each seeing the
                // others' committed work (SQLite's one writer serializes them anyway).
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK + 3).execute(&mut *tx).await?;
            }
            let Some(row) =
                sqlx::query("SELECT seg, events FROM access_segments WHERE bits IS NULL ORDER BY seg LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?
            else {
                tx.commit().await?;
                return Ok(());
            };
            let (seg, events): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            let bits = keyblocks::bits_for(u64::try_from(events).unwrap_or(0));
            for lvl in 0..=keyblocks::ACCOUNT_LEVEL {
                let entries = row_keys(&mut tx, seg, lvl).await?;
                write_blocks(&mut tx, self.backend, seg, lvl, &entries, bits).await?;
            }
            for sql in [
                "DELETE FROM access_ip_keys WHERE seg = $1",
                "DELETE FROM access_account_keys WHERE seg = $1",
                "UPDATE access_segments SET bits = $2 WHERE seg = $1",
            ] {
                let mut q = sqlx::query(sql).bind(seg);
                if sql.contains("$2") {
                    q = q.bind(i64::from(bits));
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
    }

    /// Applies the migrations up to and including `version` only, for tests that write data in
    /// an older layout and then check that a later migration keeps all of it.
    #[doc(hidden)]
    pub async fn migrate_through(&self, version: i64) -> Result<()> {
        let all = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let some = Migrator {
            migrations: std::borrow::Cow::Owned(all.iter().filter(|m| m.version <= version).cloned().collect()),
            // Later migrations may already be applied: they are not missing, only not run here.
            ignore_missing: true,
            locking: all.locking,
            no_tx: all.no_tx,
        };
        some.run(&self.write).await?;
        Ok(())
    }

    /// Appends a batch (at most SEQ_BLOCK events) as a new segment: the rows in ingestion order,
    /// then their keys sorted, all at the end of their trees (see migration 0014).
    async fn append_segment(&self, tx: &mut Transaction<'static, Any>, events: &[StoredEvent]) -> Result<()> {
        let n = i64::try_from(events.len()).map_err(|_| StoreError::Corrupt("batch too large".into()))?;
        let min_at = events.iter().map(|e| millis(e.at)).min().unwrap_or(0);
        let max_at = events.iter().map(|e| millis(e.at)).max().unwrap_or(0);
        let bits = keyblocks::bits_for(u64::try_from(n).unwrap_or(0));
        let seg: i64 = sqlx::query(
            "INSERT INTO access_segments (tier, min_at, max_at, events, bits) VALUES (0, $1, $2, $3, $4) RETURNING seg",
        )
        .bind(min_at)
        .bind(max_at)
        .bind(n)
        .bind(i64::from(bits))
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
        // Sequence numbers, one contiguous range per batch, so that the keys can be copied
        // from the rows by range below. SQLite has one writer: the next ones after the largest
        // are free. On PostgreSQL each `nextval` reserves a block of SEQ_BLOCK (migration 0024),
        // so concurrent batches never interleave and a failed one leaves a gap, never a reuse.
        let (lo, hi) = if self.backend == Backend::Postgres {
            let lo: i64 = sqlx::query("SELECT nextval('access_event_seq')").fetch_one(&mut **tx).await?.try_get(0)?;
            (lo, lo + n - 1)
        } else {
            let last: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM access_events")
                .fetch_one(&mut **tx)
                .await?
                .try_get(0)?;
            (last + 1, last + n)
        };
        // Rows: 500 x 11 columns per statement, under both databases' parameter limits.
        for (chunk, first) in events.chunks(500).zip((lo..=hi).step_by(500)) {
            let sql = format!(
                "INSERT INTO access_events ({EVENT_COLUMNS}) VALUES {}",
                row_marks(self.backend, chunk.len(), 11)
            );
            let mut q = sqlx::query(&sql);
            for (e, seq) in chunk.iter().zip(first..) {
                q = q
                    .bind(e.id)
                    .bind(e.account_id.to_string())
                    .bind(millis(e.at))
                    .bind(e.kind)
                    .bind(e.action.clone())
                    .bind(e.sealed.clone())
                    .bind(e.ip[0])
                    .bind(e.ip[1])
                    .bind(e.ip[2])
                    .bind(e.ip[3])
                    .bind(seq);
            }
            q.execute(&mut **tx).await?;
        }
        // Keys: each level's entries sorted and packed into buckets (see `keyblocks`).
        let mut levels: [Vec<Entry>; 5] = Default::default();
        for (e, seq) in events.iter().zip(lo..) {
            let at = millis(e.at);
            for (level, key) in
                levels.iter_mut().zip(e.ip.iter().copied().chain([keyblocks::account_key(&e.account_id)]))
            {
                level.push(Entry { key, at, seq });
            }
        }
        for (lvl, mut entries) in (0i16..).zip(levels) {
            entries.sort_unstable();
            write_blocks(tx, self.backend, seg, lvl, &entries, bits).await?;
        }
        Ok(())
    }

    /// Creates the monthly partitions of `access_events` that these times fall in (PostgreSQL).
    async fn ensure_partitions(
        &self,
        tx: &mut Transaction<'static, Any>,
        times: impl Iterator<Item = i64>,
    ) -> Result<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        let mut wanted: Vec<(i64, i64, i64)> = Vec::new();
        {
            let known = self.partitions.lock().map_err(|_| StoreError::Corrupt("partition cache poisoned".into()))?;
            for ms in times {
                if let Some(m) = month_of(ms)
                    && !known.contains(&m.0)
                    && !wanted.iter().any(|w| w.0 == m.0)
                {
                    wanted.push(m);
                }
            }
        }
        for (idx, start, end) in &wanted {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK + 1).execute(&mut **tx).await?;
            let name = format!("access_events_m{idx}");
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS {name} PARTITION OF access_events FOR VALUES FROM ({start}) TO ({end})"
            );
            sqlx::query(&sql).execute(&mut **tx).await?;
        }
        if !wanted.is_empty()
            && let Ok(mut known) = self.partitions.lock()
        {
            known.extend(wanted.iter().map(|w| w.0));
        }
        Ok(())
    }

    async fn account_by_id(&self, pool: &AnyPool, id: &str) -> Result<Option<Account>> {
        let row = sqlx::query("SELECT summary FROM accounts WHERE id = $1").bind(id).fetch_optional(pool).await?;
        row.map(|r| parse(&r.try_get::<String, _>(0)?)).transpose()
    }

    async fn external_id_owner(&self, external_id: &str) -> Result<Option<AccountId>> {
        let row = sqlx::query("SELECT id FROM accounts WHERE external_id = $1")
            .bind(external_id)
            .fetch_optional(&self.write)
            .await?;
        Ok(row.and_then(|r| r.try_get::<String, _>(0).ok()).and_then(|s| AccountId::parse(&s)))
    }

    /// Resolves an idempotency key that is already taken: the same request gets its account
    /// back, another request an error.
    async fn replay(&self, k: &IdempotencyKey) -> Result<Created> {
        let row = sqlx::query("SELECT request_hash, account_id FROM idempotency_keys WHERE scope = $1 AND key = $2")
            .bind(&k.scope)
            .bind(&k.key)
            .fetch_one(&self.write)
            .await?;
        let hash: String = row.try_get(0)?;
        let account_id: String = row.try_get(1)?;
        if hash != k.request_hash {
            return Err(StoreError::IdempotencyMismatch);
        }
        self.account_by_id(&self.write, &account_id)
            .await?
            .map(Created::Replayed)
            .ok_or_else(|| StoreError::Corrupt("idempotency key points to a missing account".into()))
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn migrate(&self) -> Result<()> {
        // Keys move from rows to blocks between migrations 0025 and 0026, in Rust.
        self.migrate_through(25).await?;
        self.convert_row_keys().await?;
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.write).await?,
            Backend::Postgres => {
                POSTGRES_MIGRATIONS.run(&self.write).await?;
                // `append_segment` copies a batch's keys by its sequence range: each `nextval`
                // must reserve a whole block, or concurrent batches' ranges could interleave.
                let step: i64 = sqlx::query(
                    "SELECT increment_by FROM pg_sequences WHERE schemaname = current_schema() \
                     AND sequencename = 'access_event_seq'",
                )
                .fetch_one(&self.write)
                .await?
                .try_get(0)?;
                if step < SEQ_BLOCK {
                    return Err(StoreError::Config(format!(
                        "sequence access_event_seq reserves {step} numbers per nextval, not {SEQ_BLOCK} (migration 0024)"
                    )));
                }
            }
        }
        Ok(())
    }

    async fn create_account(
        &self,
        account: &Account,
        application: &SealedApplication,
        indexes: &[BlindEntry],
        audit: &AuditEvent,
        idempotency: Option<&IdempotencyKey>,
    ) -> Result<Created> {
        if let Some(batcher) = &self.batcher {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let job = crate::batch::CreateJob {
                account: account.clone(),
                sealed: application.clone(),
                indexes: indexes.to_vec(),
                audit: audit.clone(),
                idem: idempotency.cloned(),
                reply,
            };
            if batcher.send(job).await.is_ok() {
                return answer.await.map_err(|_| StoreError::Corrupt("the writer stopped".into()))?;
            }
        }
        self.create_one(account, application, indexes, audit, idempotency).await
    }

    async fn account(&self, id: AccountId) -> Result<Option<Account>> {
        self.account_by_id(&self.read, &id.to_string()).await
    }

    async fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let marks = self.params(0, chunk.len());
            let sql = format!("SELECT summary FROM accounts WHERE id IN ({})", marks);
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for r in q.fetch_all(&self.read).await? {
                out.push(parse(&r.try_get::<String, _>(0)?)?);
            }
        }
        Ok(out)
    }

    async fn list_accounts(&self, filter: &AccountFilter, page: &Page) -> Result<Vec<Account>> {
        let mut sql = String::from("SELECT summary FROM accounts WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        let conds = [
            ("external_id", &filter.external_id),
            ("outcome", &filter.outcome),
            ("classification_status", &filter.classification),
            ("account_type", &filter.account_type),
            ("customer_kind", &filter.customer_kind),
        ];
        for (col, val) in conds {
            if let Some(v) = val {
                binds.push(v.clone());
                sql.push_str(&format!(" AND {col} = ${}", binds.len()));
            }
        }
        if let Some(after) = page.after {
            binds.push(after.to_string());
            sql.push_str(&format!(" AND id > ${}", binds.len()));
        }
        sql.push_str(&format!(" ORDER BY id LIMIT {}", page.limit.clamp(1, 1000)));
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter().map(|r| parse(&r.try_get::<String, _>(0)?)).collect()
    }

    async fn scan_accounts(&self, page: &Page) -> Result<Vec<Account>> {
        // The page's summaries joined into one JSON array (both backends have `string_agg` with
        // `ORDER BY`; SQLite since 3.44): the driver hands one row over instead of hundreds.
        let sql = format!(
            "SELECT '[' || string_agg(summary, ',' ORDER BY id) || ']' FROM \
             (SELECT id, summary FROM accounts WHERE id > $1 ORDER BY id LIMIT {}) AS page",
            page.limit.clamp(1, 2000)
        );
        // Every id is a non-empty string, so `> ''` starts at the first.
        let after = page.after.map(|a| a.to_string()).unwrap_or_default();
        let row = sqlx::query(&sql).bind(after).fetch_one(&self.read).await?;
        match row.try_get::<Option<String>, _>(0)? {
            Some(array) => parse(&array),
            None => Ok(Vec::new()),
        }
    }

    async fn decisions(&self, id: AccountId) -> Result<Vec<Decision>> {
        let rows = sqlx::query("SELECT body FROM decisions WHERE account_id = $1 ORDER BY seq")
            .bind(id.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| parse(&r.try_get::<String, _>(0)?)).collect()
    }

    async fn sealed_application(&self, id: AccountId) -> Result<Option<SealedApplication>> {
        let row = sqlx::query(
            "SELECT a.sealed, k.wrapped FROM accounts a JOIN customer_keys k ON k.account_id = a.id WHERE a.id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(SealedApplication {
                ciphertext: r.try_get::<Option<Vec<u8>>, _>(0)?.unwrap_or_default(),
                wrapped_key: r.try_get(1)?,
            })
        })
        .transpose()
    }

    async fn sealed_applications(&self, ids: &[AccountId]) -> Result<Vec<(AccountId, SealedApplication)>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let marks = self.params(0, chunk.len());
            let sql = format!(
                "SELECT a.id, a.sealed, k.wrapped FROM accounts a JOIN customer_keys k ON k.account_id = a.id \
                 WHERE a.id IN ({})",
                marks
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for r in q.fetch_all(&self.read).await? {
                let id: String = r.try_get(0)?;
                let id = AccountId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("bad account id {id}")))?;
                out.push((
                    id,
                    SealedApplication {
                        ciphertext: r.try_get::<Option<Vec<u8>>, _>(1)?.unwrap_or_default(),
                        wrapped_key: r.try_get(2)?,
                    },
                ));
            }
        }
        Ok(out)
    }

    async fn accounts_by_blind_index(&self, purpose: &str, value: &str) -> Result<Vec<AccountId>> {
        let rows = sqlx::query(
            "SELECT DISTINCT account_id FROM blind_indexes WHERE purpose = $1 AND value = $2 ORDER BY account_id",
        )
        .bind(purpose)
        .bind(value)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.iter().filter_map(|r| r.try_get::<String, _>(0).ok()).filter_map(|s| AccountId::parse(&s)).collect())
    }

    async fn legacy_applications(&self, limit: u32) -> Result<Vec<LegacyApplication>> {
        let rows = sqlx::query(&format!(
            "SELECT id, application FROM accounts WHERE sealed IS NULL AND application <> '' ORDER BY id LIMIT {}",
            limit.clamp(1, 10_000)
        ))
        .fetch_all(&self.write)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                Ok(LegacyApplication {
                    account_id: AccountId::parse(&id)
                        .ok_or_else(|| StoreError::Corrupt(format!("bad account id {id}")))?,
                    json: r.try_get(1)?,
                })
            })
            .collect()
    }

    async fn seal_legacy(
        &self,
        id: AccountId,
        sealed: &SealedApplication,
        indexes: &[BlindEntry],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let id = id.to_string();
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE accounts SET sealed = $1, application = '' WHERE id = $2 AND sealed IS NULL")
            .bind(sealed.ciphertext.clone())
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO customer_keys (account_id, wrapped, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(sealed.wrapped_key.clone())
            .bind(millis(at))
            .execute(&mut *tx)
            .await?;
        insert_indexes(&mut tx, &id, indexes).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn customer_keys(&self, after: Option<AccountId>, limit: u32) -> Result<Vec<(AccountId, Vec<u8>)>> {
        let after = after.map(|a| a.to_string()).unwrap_or_default();
        let rows = sqlx::query(&format!(
            "SELECT account_id, wrapped FROM customer_keys WHERE account_id > $1 ORDER BY account_id LIMIT {}",
            limit.clamp(1, 10_000)
        ))
        .bind(after)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                let id = AccountId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("bad account id {id}")))?;
                Ok((id, r.try_get(1)?))
            })
            .collect()
    }

    async fn replace_customer_key(&self, id: AccountId, old: &[u8], new: &[u8]) -> Result<bool> {
        let n = sqlx::query("UPDATE customer_keys SET wrapped = $1 WHERE account_id = $2 AND wrapped = $3")
            .bind(new.to_vec())
            .bind(id.to_string())
            .bind(old.to_vec())
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn account_ids_by_external(&self, external_ids: &[String]) -> Result<Vec<(String, AccountId)>> {
        let mut out = Vec::with_capacity(external_ids.len());
        for chunk in external_ids.chunks(500) {
            let from = format!("accounts WHERE external_id IN ({})", self.params(0, chunk.len()));
            for (ext, id) in self.fetch_pairs("external_id", "id", &from, chunk).await? {
                if let Some(id) = AccountId::parse(&id) {
                    out.push((ext, id));
                }
            }
        }
        Ok(out)
    }

    async fn wrapped_keys(&self, ids: &[AccountId]) -> Result<Vec<(AccountId, Vec<u8>)>> {
        let mut out = Vec::with_capacity(ids.len());
        let wrapped = self.hex_of("wrapped");
        for chunk in ids.chunks(500) {
            let from = format!("customer_keys WHERE account_id IN ({})", self.params(0, chunk.len()));
            let binds: Vec<String> = chunk.iter().map(ToString::to_string).collect();
            for (id, hex) in self.fetch_pairs("account_id", &wrapped, &from, &binds).await? {
                if let Some(id) = AccountId::parse(&id) {
                    out.push((id, from_hex(&hex)?));
                }
            }
        }
        Ok(out)
    }

    async fn insert_events(&self, events: &[StoredEvent], audit: &AuditEvent) -> Result<()> {
        self.insert_events_noting(events, audit, &[], Utc::now()).await
    }

    async fn insert_events_noting(
        &self,
        events: &[StoredEvent],
        audit: &AuditEvent,
        noted: &[(AccountId, String)],
        noted_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        self.ensure_partitions(&mut tx, events.iter().map(|e| millis(e.at))).await?;
        // A segment takes at most one block of sequence numbers (PostgreSQL; see SEQ_BLOCK).
        for part in events.chunks(usize::try_from(SEQ_BLOCK).unwrap_or(usize::MAX)) {
            self.append_segment(&mut tx, part).await?;
        }
        note_access_countries_tx(&mut tx, self.backend, noted, noted_at).await?;
        enqueue_audit_tx(&mut tx, audit).await?;
        // Last: on PostgreSQL these row locks are what two concurrent batches for the same
        // accounts wait on, so they are held from here to the commit only.
        // Each account's latest event, in id order: one statement per 1,000 accounts rather than
        // one per account, into the narrow `account_activity` (migration 0023). Rows are taken
        // in id order, so two batches touching the same accounts on PostgreSQL wait for each
        // other instead of deadlocking.
        let mut latest: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
        for e in events {
            let t = latest.entry(e.account_id.to_string()).or_insert(i64::MIN);
            *t = (*t).max(millis(e.at));
        }
        let latest: Vec<(String, i64)> = latest.into_iter().collect();
        for chunk in latest.chunks(1000) {
            let sql = format!(
                "INSERT INTO account_activity (account_id, last_accessed_at) VALUES {} \
                 ON CONFLICT (account_id) DO UPDATE SET last_accessed_at = excluded.last_accessed_at \
                 WHERE account_activity.last_accessed_at < excluded.last_accessed_at",
                row_marks(self.backend, chunk.len(), 2)
            );
            let mut q = sqlx::query(&sql);
            for (id, at) in chunk {
                q = q.bind(id.clone()).bind(*at);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn events(
        &self,
        query: &EventQuery,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(i64, i64)>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        let (from, to) = (millis(from), millis(to));
        if from >= to {
            return Ok(Vec::new());
        }
        // One snapshot for both statements: a compaction committing in between must not make
        // the listed segments vanish (SQLite: a deferred transaction's first read fixes it).
        let mut tx = self.read.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
        }
        // Segments holding times at or after the cursor's (earlier ones hold nothing for a
        // later page) and before `to`.
        let since = after.map_or(from, |(at, _)| at.max(from));
        let mut segs: std::collections::HashMap<i64, u32> = std::collections::HashMap::new();
        for r in sqlx::query("SELECT seg, bits FROM access_segments WHERE max_at >= $1 AND min_at < $2")
            .bind(since)
            .bind(to)
            .fetch_all(&mut *tx)
            .await?
        {
            let seg: i64 = r.try_get(0)?;
            let bits: Option<i64> = r.try_get(1)?;
            let bits = bits
                .and_then(|b| u32::try_from(b).ok())
                .filter(|b| *b <= keyblocks::MAX_BITS)
                .ok_or_else(|| StoreError::Corrupt(format!("access segment {seg} has no valid bucket bits")))?;
            segs.insert(seg, bits);
        }
        let (lvl, mut keys) = match query {
            EventQuery::Account(id) => (keyblocks::ACCOUNT_LEVEL, vec![keyblocks::account_key(id)]),
            EventQuery::IpPrefixes { level, values } => (i16::try_from((*level).min(3)).unwrap_or(3), values.clone()),
        };
        keys.sort_unstable();
        keys.dedup();
        if segs.is_empty() || keys.is_empty() {
            return Ok(Vec::new());
        }
        // One primary-key read per segment and bucket: the buckets of the wanted keys in each
        // segment (their bits differ), as UNION ALL arms of at most 200 (SQLite's compound
        // SELECT limit is 500); integers only, written into the statement.
        let mut seg_list: Vec<(i64, u32)> = segs.iter().map(|(s, b)| (*s, *b)).collect();
        seg_list.sort_unstable();
        let arms: Vec<String> = seg_list
            .iter()
            .map(|(seg, bits)| {
                let mut buckets: Vec<i64> = keys.iter().map(|k| keyblocks::bucket(*k, *bits)).collect();
                buckets.sort_unstable();
                buckets.dedup();
                format!(
                    "SELECT seg, bucket, data FROM access_key_blocks WHERE seg = {seg} AND lvl = {lvl} AND bucket IN ({})",
                    join_ints(&buckets)
                )
            })
            .collect();
        let limit = usize::try_from(limit.clamp(1, 10_000)).unwrap_or(10_000);
        let mut found: Vec<Entry> = Vec::new();
        for group in arms.chunks(200) {
            for r in sqlx::query(&group.join(" UNION ALL ")).fetch_all(&mut *tx).await? {
                let (seg, bucket, data): (i64, i64, Vec<u8>) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
                let bits = segs.get(&seg).copied().unwrap_or(0);
                let block = Block::new(&data).map_err(|e| StoreError::Corrupt(format!("segment {seg}: {e}")))?;
                for key in keys.iter().filter(|k| keyblocks::bucket(**k, bits) == bucket) {
                    found.extend(block.matching(*key, from, to, after, limit));
                }
            }
            // Keep memory to one page beyond what is needed.
            if found.len() > limit {
                found.sort_unstable_by_key(|e| (e.at, e.seq));
                found.truncate(limit);
            }
        }
        found.sort_unstable_by_key(|e| (e.at, e.seq));
        found.truncate(limit);
        let (Some(first), Some(last)) = (found.first(), found.last()) else {
            tx.commit().await?;
            return Ok(Vec::new());
        };
        // The rows by sequence number; on PostgreSQL the time bounds prune monthly partitions.
        let seqs: Vec<i64> = found.iter().map(|e| e.seq).collect();
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM access_events WHERE seq IN ({}) AND at BETWEEN {} AND {} ORDER BY at, seq",
            join_ints(&seqs),
            first.at,
            last.at
        );
        let rows = sqlx::query(&sql).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        if rows.len() != found.len() {
            return Err(StoreError::Corrupt(format!("{} access-event keys point at {} rows", found.len(), rows.len())));
        }
        let events: Vec<StoredEvent> = rows.iter().map(event_from_row).collect::<Result<_>>()?;
        // An account's key is a 64-bit hash of its id: another account's events under the same
        // hash (odds about n²/2⁶⁵) are dropped here, never returned. (The page may then be
        // short by those events.)
        Ok(match query {
            EventQuery::Account(id) => events.into_iter().filter(|e| e.account_id == *id).collect(),
            EventQuery::IpPrefixes { .. } => events,
        })
    }

    async fn compact_events(&self, max_events: u64) -> Result<Compaction> {
        let small = i64::try_from(max_events / COMPACTION_FANOUT as u64).unwrap_or(i64::MAX);
        let mut tx = self.write.begin().await?;
        if self.backend == Backend::Postgres {
            // One compactor at a time; ingestion never waits for it.
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK + 2).execute(&mut *tx).await?;
        }
        let rows = sqlx::query(
            "SELECT seg, tier, min_at, max_at, events FROM access_segments WHERE events < $1 ORDER BY tier, seg",
        )
        .bind(small)
        .fetch_all(&mut *tx)
        .await?;
        let mut segs: Vec<(i64, i64, i64, i64, i64)> = Vec::with_capacity(rows.len());
        for r in &rows {
            segs.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?));
        }
        let Some(run) = segs.chunk_by(|a, b| a.1 == b.1).find(|run| run.len() >= COMPACTION_FANOUT) else {
            tx.commit().await?;
            return Ok(Compaction::default());
        };
        let run = run.get(..COMPACTION_FANOUT).unwrap_or(run);
        let tier = run.first().map_or(0, |s| s.1) + 1;
        let min_at = run.iter().map(|s| s.2).min().unwrap_or(0);
        let max_at = run.iter().map(|s| s.3).max().unwrap_or(0);
        let events: i64 = run.iter().map(|s| s.4).sum();
        let list = join_ints(&run.iter().map(|s| s.0).collect::<Vec<_>>());
        let bits = keyblocks::bits_for(u64::try_from(events).unwrap_or(0));
        let seg: i64 = sqlx::query(
            "INSERT INTO access_segments (tier, min_at, max_at, events, bits) VALUES ($1, $2, $3, $4, $5) RETURNING seg",
        )
        .bind(tier)
        .bind(min_at)
        .bind(max_at)
        .bind(events)
        .bind(i64::from(bits))
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        // Each level's blocks merged in memory (one level at a time bounds the memory to one
        // level of the merged segment: 24 bytes an event) and cut into the new segment's buckets.
        for lvl in 0..=keyblocks::ACCOUNT_LEVEL {
            let rows =
                sqlx::query(&format!("SELECT data FROM access_key_blocks WHERE seg IN ({list}) AND lvl = {lvl}"))
                    .fetch_all(&mut *tx)
                    .await?;
            let mut entries: Vec<Entry> = Vec::with_capacity(usize::try_from(events).unwrap_or(0));
            for r in &rows {
                let data: Vec<u8> = r.try_get(0)?;
                entries.extend(Block::new(&data).map_err(|e| StoreError::Corrupt(e.to_string()))?.iter());
            }
            drop(rows);
            entries.sort_unstable();
            write_blocks(&mut tx, self.backend, seg, lvl, &entries, bits).await?;
        }
        for sql in [
            format!("DELETE FROM access_key_blocks WHERE seg IN ({list})"),
            format!("DELETE FROM access_segments WHERE seg IN ({list})"),
        ] {
            sqlx::query(&sql).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Compaction { merged: run.len(), events: u64::try_from(events).unwrap_or(0) })
    }

    async fn event_segments(&self) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM access_segments").fetch_one(&self.read).await?.try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn last_accessed(&self, id: AccountId) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query("SELECT last_accessed_at FROM account_activity WHERE account_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(r) => from_millis(r.try_get(0)?).map(Some),
            None => Ok(None),
        }
    }

    async fn close_account(&self, id: AccountId, at: DateTime<Utc>, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let n = sqlx::query("UPDATE accounts SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
            .bind(millis(at))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            enqueue_audit_tx(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn create_hold(&self, h: &LegalHold, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO legal_holds (id, account_id, cidr, reason, reference, created_by, created_at, released_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        )
        .bind(&h.id)
        .bind(h.account_id.map(|a| a.to_string()))
        .bind(h.cidr.clone())
        .bind(&h.reason)
        .bind(&h.reference)
        .bind(&h.created_by)
        .bind(millis(h.created_at))
        .execute(&mut *tx)
        .await?;
        enqueue_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn release_hold(&self, id: &str, at: DateTime<Utc>, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let n = sqlx::query("UPDATE legal_holds SET released_at = $1 WHERE id = $2 AND released_at IS NULL")
            .bind(millis(at))
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            enqueue_audit_tx(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn holds(&self, include_released: bool) -> Result<Vec<LegalHold>> {
        let sql = if include_released {
            "SELECT id, account_id, cidr, reason, reference, created_by, created_at, released_at FROM legal_holds ORDER BY created_at, id"
        } else {
            "SELECT id, account_id, cidr, reason, reference, created_by, created_at, released_at FROM legal_holds \
             WHERE released_at IS NULL ORDER BY created_at, id"
        };
        let rows = sqlx::query(sql).fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                Ok(LegalHold {
                    id: r.try_get(0)?,
                    account_id: r.try_get::<Option<String>, _>(1)?.and_then(|s| AccountId::parse(&s)),
                    cidr: r.try_get(2)?,
                    reason: r.try_get(3)?,
                    reference: r.try_get(4)?,
                    created_by: r.try_get(5)?,
                    created_at: from_millis(r.try_get(6)?)?,
                    released_at: r.try_get::<Option<i64>, _>(7)?.map(from_millis).transpose()?,
                })
            })
            .collect()
    }

    async fn retention_candidates(&self, cutoff: DateTime<Utc>, limit: u32) -> Result<Vec<AccountId>> {
        let rows = sqlx::query(&format!(
            "SELECT id FROM accounts WHERE destroyed_at IS NULL AND closed_at IS NOT NULL AND closed_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM account_activity x WHERE x.account_id = accounts.id \
             AND x.last_accessed_at > $1) ORDER BY id LIMIT {}",
            limit.clamp(1, 10_000)
        ))
        .bind(millis(cutoff))
        .fetch_all(&self.read)
        .await?;
        Ok(rows.iter().filter_map(|r| r.try_get::<String, _>(0).ok()).filter_map(|s| AccountId::parse(&s)).collect())
    }

    async fn destroy_account(&self, id: AccountId, at: DateTime<Utc>, audit: &AuditEvent) -> Result<()> {
        let id = id.to_string();
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM customer_keys WHERE account_id = $1").bind(&id).execute(&mut *tx).await?;
        delete_indexes(&mut tx, &id).await?;
        sqlx::query("UPDATE accounts SET sealed = NULL, application = '', destroyed_at = $1 WHERE id = $2")
            .bind(millis(at))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        enqueue_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        // Group commit: answered only once the batch holding this record has committed.
        if let Some(batcher) = &self.audit_batcher {
            let json = serde_json::to_string(event).map_err(audit_err)?;
            if let Some(result) = batcher.append(json, millis(event.time)).await {
                return result;
            }
        }
        let mut tx = self.audit_append_pool().begin().await?;
        enqueue_audit_tx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn sequence_audit(&self, limit: u32) -> Result<u64> {
        let (n, mark) = match (&self.audit_queue, self.backend) {
            (Some(queue), Backend::Sqlite) => self.sequence_with_queue(queue, limit).await?,
            _ => {
                let mut tx = self.write.begin().await?;
                let done = sequence_tx(&mut tx, self.backend, limit, None).await?;
                tx.commit().await?;
                done
            }
        };
        if let (Some(queue), Some(mark)) = (&self.audit_queue, mark) {
            // After the commit: until then the records are only in the queue. If this fails,
            // the next run skips them (they are at or below the mark) and deletes them.
            if let Err(e) = queue.forget_through(mark).await {
                tracing::warn!(error = %e, "Sequenced audit records could not be removed from the queue yet.");
            }
        }
        Ok(n)
    }

    async fn audit_size(&self) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_records")
            .fetch_one(&self.read)
            .await?
            .try_get(0)?;
        u64::try_from(n).map_err(audit_err)
    }

    async fn audit_entries(&self, from: u64, limit: u32) -> Result<Vec<LogEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT record, leaf_hash FROM audit_records WHERE seq >= $1 ORDER BY seq LIMIT {}",
            limit.clamp(1, 100_000)
        ))
        .bind(i64::try_from(from).map_err(audit_err)?)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(log_entry_from_row).collect()
    }

    async fn audit_entries_for_target(
        &self,
        target_id: &str,
        from: u64,
        below: u64,
        limit: u32,
    ) -> Result<Vec<LogEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT record, leaf_hash FROM audit_records WHERE target_id = $1 AND seq >= $2 AND seq < $3 \
             ORDER BY seq LIMIT {}",
            limit.clamp(1, 100_000)
        ))
        .bind(target_id)
        .bind(i64::try_from(from).map_err(audit_err)?)
        .bind(i64::try_from(below).map_err(audit_err)?)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(log_entry_from_row).collect()
    }

    async fn audit_nodes(&self, ids: &[NodeId]) -> Result<Vec<(NodeId, Hash)>> {
        let mut out = Vec::new();
        // Keep each statement's parameter count modest.
        for chunk in ids.chunks(200) {
            out.extend(fetch_nodes(&self.read, chunk).await?);
        }
        Ok(out)
    }

    async fn save_checkpoint(&self, tree_size: u64, note: &str, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("INSERT INTO audit_checkpoints (tree_size, note, created_at) VALUES ($1, $2, $3) ON CONFLICT (tree_size) DO NOTHING")
            .bind(i64::try_from(tree_size).map_err(audit_err)?)
            .bind(note)
            .bind(millis(at))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn latest_checkpoint(&self) -> Result<Option<(u64, String)>> {
        let row = sqlx::query("SELECT tree_size, note FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1")
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok((u64::try_from(r.try_get::<i64, _>(0)?).map_err(audit_err)?, r.try_get(1)?))).transpose()
    }

    async fn record_decision(&self, account: &Account, audit: &AuditEvent) -> Result<i64> {
        let mut tx = self.write.begin().await?;
        let seq = record_decision_tx(&mut tx, self.backend, account).await?;
        enqueue_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(seq)
    }

    async fn replace_application(
        &self,
        account: &Account,
        ciphertext: &[u8],
        indexes: &[BlindEntry],
        audit: &AuditEvent,
    ) -> Result<i64> {
        let id = account.id.to_string();
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("UPDATE accounts SET sealed = $1 WHERE id = $2 AND sealed IS NOT NULL")
            .bind(ciphertext.to_vec())
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::NotFound);
        }
        delete_indexes(&mut tx, &id).await?;
        insert_indexes(&mut tx, &id, indexes).await?;
        let seq = record_decision_tx(&mut tx, self.backend, account).await?;
        enqueue_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(seq)
    }

    async fn put_challenge(&self, c: &ChallengeRecord, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let id = c.account_id.to_string();
        sqlx::query("DELETE FROM challenges WHERE account_id = $1 AND channel = $2")
            .bind(&id)
            .bind(&c.channel)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO challenges (account_id, channel, hash, expires_at, attempts, max_attempts, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&c.channel)
        .bind(&c.hash)
        .bind(millis(c.expires_at))
        .bind(c.attempts)
        .bind(c.max_attempts)
        .bind(millis(c.created_at))
        .execute(&mut *tx)
        .await?;
        enqueue_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn challenge(&self, id: AccountId, channel: &str) -> Result<Option<ChallengeRecord>> {
        let row = sqlx::query(
            "SELECT hash, expires_at, attempts, max_attempts, created_at FROM challenges \
             WHERE account_id = $1 AND channel = $2",
        )
        .bind(id.to_string())
        .bind(channel)
        .fetch_optional(&self.write)
        .await?;
        row.map(|r| {
            Ok(ChallengeRecord {
                account_id: id,
                channel: channel.to_owned(),
                hash: r.try_get(0)?,
                expires_at: from_millis(r.try_get(1)?)?,
                attempts: r.try_get(2)?,
                max_attempts: r.try_get(3)?,
                created_at: from_millis(r.try_get(4)?)?,
            })
        })
        .transpose()
    }

    async fn count_attempt(&self, id: AccountId, channel: &str, seen: i32) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE challenges SET attempts = attempts + 1 WHERE account_id = $1 AND channel = $2 AND attempts = $3",
        )
        .bind(id.to_string())
        .bind(channel)
        .bind(seen)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn evidence_states(&self, id: AccountId) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT kind, state FROM evidence_states WHERE account_id = $1 ORDER BY kind")
            .bind(id.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    async fn confirm_evidence(&self, account: &Account, channel: &str, state: &str, audit: &AuditEvent) -> Result<i64> {
        let id = account.id.to_string();
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM challenges WHERE account_id = $1 AND channel = $2")
            .bind(&id)
            .bind(channel)
            .execute(&mut *tx)
            .await?;
        set_evidence_tx(&mut tx, &id, channel, state, millis(account.decision.decided_at)).await?;
        let seq = record_decision_tx(&mut tx, self.backend, account).await?;
        enqueue_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(seq)
    }

    async fn apply_vendor_result(
        &self,
        vendor: &str,
        delivery_id: &str,
        account: &Account,
        kind: &str,
        state: &str,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let id = account.id.to_string();
        let at = millis(account.decision.decided_at);
        let mut tx = self.write.begin().await?;
        let fresh = sqlx::query(
            "INSERT INTO vendor_deliveries (vendor, delivery_id, account_id, received_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (vendor, delivery_id) DO NOTHING",
        )
        .bind(vendor)
        .bind(delivery_id)
        .bind(&id)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if fresh == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        set_evidence_tx(&mut tx, &id, kind, state, at).await?;
        record_decision_tx(&mut tx, self.backend, account).await?;
        enqueue_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn open_review(
        &self,
        account: AccountId,
        reason: &str,
        by: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        if sqlx::query("SELECT outcome FROM accounts WHERE id = $1")
            .bind(account.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .is_none()
        {
            tx.rollback().await?;
            return Err(StoreError::NotFound);
        }
        let opened = open_review_tx(&mut tx, &account.to_string(), reason, by, millis(at)).await?;
        if !opened {
            tx.rollback().await?;
            return Ok(false);
        }
        enqueue_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn reviews(&self, status: Option<&str>, account: Option<AccountId>, limit: u32) -> Result<Vec<ReviewRecord>> {
        let mut sql = format!("SELECT {REVIEW_COLUMNS} FROM reviews WHERE 1 = 1");
        let mut binds = Vec::new();
        if let Some(s) = status {
            binds.push(s.to_owned());
            sql.push_str(&format!(" AND status = ${}", binds.len()));
        }
        if let Some(a) = account {
            binds.push(a.to_string());
            sql.push_str(&format!(" AND account_id = ${}", binds.len()));
        }
        sql.push_str(&format!(" ORDER BY opened_at, id LIMIT {}", limit.clamp(1, 1000)));
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(b);
        }
        q.fetch_all(&self.read).await?.iter().map(review_from_row).collect()
    }

    async fn review(&self, id: &str) -> Result<Option<ReviewRecord>> {
        let row = sqlx::query(&format!("SELECT {REVIEW_COLUMNS} FROM reviews WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.write)
            .await?;
        row.as_ref().map(review_from_row).transpose()
    }

    async fn update_review(
        &self,
        r: &ReviewRecord,
        expected: &str,
        decision: Option<&Account>,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE reviews SET status = $1, claimed_by = $2, proposed_outcome = $3, proposed_by = $4, \
             proposed_note = $5, second_by = $6, decided_outcome = $7, closed_at = $8 WHERE id = $9 AND status = $10",
        )
        .bind(&r.status)
        .bind(r.claimed_by.clone())
        .bind(r.proposed_outcome.clone())
        .bind(r.proposed_by.clone())
        .bind(r.proposed_note.clone())
        .bind(r.second_by.clone())
        .bind(r.decided_outcome.clone())
        .bind(r.closed_at.map(millis))
        .bind(&r.id)
        .bind(expected)
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

    async fn accounts_decided_before(&self, cutoff: DateTime<Utc>, limit: u32) -> Result<Vec<AccountId>> {
        let rows = sqlx::query(&format!(
            "SELECT id FROM accounts WHERE updated_at < $1 AND sealed IS NOT NULL AND closed_at IS NULL \
             ORDER BY updated_at LIMIT {}",
            limit.clamp(1, 10_000)
        ))
        .bind(millis(cutoff))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                AccountId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("account id {id}")))
            })
            .collect()
    }

    async fn evidence_confirmed_before(
        &self,
        kinds: &[&str],
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(AccountId, String)>> {
        let mut out = Vec::new();
        for kind in kinds {
            let rows = sqlx::query(&format!(
                "SELECT account_id FROM evidence_states WHERE kind = $1 AND state = 'confirmed' AND updated_at < $2 \
                 ORDER BY updated_at LIMIT {}",
                limit.clamp(1, 10_000)
            ))
            .bind(*kind)
            .bind(millis(cutoff))
            .fetch_all(&self.read)
            .await?;
            for r in &rows {
                let id: String = r.try_get(0)?;
                let id = AccountId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("account id {id}")))?;
                out.push((id, (*kind).to_owned()));
            }
        }
        Ok(out)
    }

    async fn access_countries(&self, ids: &[AccountId]) -> Result<Vec<(AccountId, String)>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            // On SQLite (binary collation) a range bounds `kind` in the primary key
            // (account_id, kind): one seek per account instead of reading all its evidence
            // states (`;` follows `:`). Not on PostgreSQL, whose collation may order punctuation
            // otherwise.
            let range = if self.backend == Backend::Sqlite {
                "AND kind >= 'access_country:' AND kind < 'access_country;' "
            } else {
                ""
            };
            let from = format!(
                "evidence_states WHERE kind LIKE 'access_country:%' {range}AND account_id IN ({})",
                self.params(0, chunk.len())
            );
            let binds: Vec<String> = chunk.iter().map(ToString::to_string).collect();
            for (id, kind) in self.fetch_pairs("account_id", "kind", &from, &binds).await? {
                if let (Some(id), Some(cc)) = (AccountId::parse(&id), kind.strip_prefix("access_country:")) {
                    out.push((id, cc.to_owned()));
                }
            }
        }
        Ok(out)
    }

    async fn open_reviews_noting(
        &self,
        cases: &[(AccountId, String, AuditEvent)],
        by: &str,
        at: DateTime<Utc>,
        noted: &[(AccountId, String)],
    ) -> Result<Vec<AccountId>> {
        // In account order: two transactions opening cases for overlapping accounts at the same
        // time (PostgreSQL) then wait for each other instead of deadlocking.
        let mut order: Vec<&(AccountId, String, AuditEvent)> = cases.iter().collect();
        order.sort_by_key(|c| c.0.to_string());
        let mut tx = self.write.begin().await?;
        let mut opened = Vec::new();
        for (id, reason, audit) in order {
            if open_review_tx(&mut tx, &id.to_string(), reason, by, millis(at)).await? {
                enqueue_audit_tx(&mut tx, audit).await?;
                opened.push(*id);
            }
        }
        note_access_countries_tx(&mut tx, self.backend, noted, at).await?;
        tx.commit().await?;
        Ok(opened)
    }

    async fn open_review_accounts(&self, ids: &[AccountId]) -> Result<Vec<AccountId>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let marks = self.params(0, chunk.len());
            let sql = format!(
                "SELECT DISTINCT account_id FROM reviews WHERE status <> 'closed' AND account_id IN ({})",
                marks
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for r in q.fetch_all(&self.read).await? {
                if let Some(id) = AccountId::parse(&r.try_get::<String, _>(0)?) {
                    out.push(id);
                }
            }
        }
        Ok(out)
    }

    async fn claim_deliveries(&self, now: DateTime<Utc>, lease_ms: i64, limit: u32) -> Result<Vec<PendingDelivery>> {
        let lock = if self.backend == Backend::Postgres { " FOR UPDATE OF d SKIP LOCKED" } else { "" };
        let mut tx = self.write.begin().await?;
        let rows = sqlx::query(&format!(
            "SELECT d.account_id, d.seq, a.external_id, d.body, d.delivery_attempts FROM decisions d \
             JOIN accounts a ON a.id = d.account_id \
             WHERE d.delivered_at IS NULL AND d.next_delivery_at <= $1 \
             ORDER BY d.next_delivery_at, d.decided_at LIMIT {}{lock}",
            limit.clamp(1, 1000)
        ))
        .bind(millis(now))
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get(0)?;
            let seq: i64 = r.try_get(1)?;
            sqlx::query("UPDATE decisions SET next_delivery_at = $1 WHERE account_id = $2 AND seq = $3")
                .bind(millis(now) + lease_ms)
                .bind(&id)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            out.push(PendingDelivery {
                account_id: AccountId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("account id {id}")))?,
                seq,
                external_id: r.try_get(2)?,
                decision: parse(&r.try_get::<String, _>(3)?)?,
                attempts: r.try_get(4)?,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn mark_delivered(&self, id: AccountId, seq: i64, at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE decisions SET delivered_at = $1, delivery_attempts = delivery_attempts + 1, delivery_error = NULL \
             WHERE account_id = $2 AND seq = $3",
        )
        .bind(millis(at))
        .bind(id.to_string())
        .bind(seq)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn mark_undelivered(&self, id: AccountId, seq: i64, next: Option<DateTime<Utc>>, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE decisions SET next_delivery_at = $1, delivery_attempts = delivery_attempts + 1, delivery_error = $2 \
             WHERE account_id = $3 AND seq = $4 AND delivered_at IS NULL",
        )
        .bind(next.map_or(i64::MAX, millis))
        .bind(error)
        .bind(id.to_string())
        .bind(seq)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn delivery_backlog(&self) -> Result<(i64, i64)> {
        let r = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN next_delivery_at < $1 THEN 1 ELSE 0 END), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN next_delivery_at = $1 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM decisions WHERE delivered_at IS NULL",
        )
        .bind(i64::MAX)
        .fetch_one(&self.read)
        .await?;
        Ok((r.try_get(0)?, r.try_get(1)?))
    }

    async fn add_policy(&self, r: &PolicyRecord, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "INSERT INTO policies (version, policy_id, sha256, source, note, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (version) DO NOTHING",
        )
        .bind(r.version)
        .bind(&r.policy_id)
        .bind(&r.sha256)
        .bind(&r.source)
        .bind(&r.note)
        .bind(&r.created_by)
        .bind(millis(r.created_at))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        enqueue_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn policies(&self) -> Result<Vec<PolicyRecord>> {
        let rows = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM policies ORDER BY version"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(policy_from_row).collect()
    }

    async fn current_policy(&self) -> Result<Option<PolicyRecord>> {
        let row = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM policies ORDER BY version DESC LIMIT 1"))
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(policy_from_row).transpose()
    }

    async fn current_policy_version(&self) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT MAX(version) FROM policies").fetch_one(&self.read).await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    async fn enqueue_jobs(&self, jobs: &[NewJob]) -> Result<usize> {
        self.jobs_enqueue(jobs, Utc::now()).await
    }

    async fn claim_jobs(&self, worker: &str, now: DateTime<Utc>, lease_ms: i64, limit: u32) -> Result<Vec<Job>> {
        self.jobs_claim(worker, now, lease_ms, limit).await
    }

    async fn complete_job(&self, id: i64, worker: &str) -> Result<bool> {
        self.jobs_complete(id, worker, Utc::now()).await
    }

    async fn fail_job(&self, id: i64, worker: &str, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<bool> {
        self.jobs_fail(id, worker, error, retry_at, Utc::now()).await
    }

    async fn job_counts(&self) -> Result<Vec<JobCount>> {
        self.jobs_counts().await
    }

    async fn prune_jobs(&self, before: DateTime<Utc>) -> Result<u64> {
        self.jobs_prune(before).await
    }

    async fn create_token(&self, t: &TokenRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO tokens (id, name, role, secret_hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.role)
        .bind(&t.secret_hash)
        .bind(millis(t.created_at))
        .bind(t.revoked_at.map(millis))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query("SELECT id, name, role, secret_hash, created_at, revoked_at FROM tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, role, secret_hash, created_at, revoked_at FROM tokens ORDER BY created_at, id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&self, id: &str, at: DateTime<Utc>) -> Result<bool> {
        let n = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(millis(at))
            .bind(id)
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn live_token_count(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM tokens WHERE revoked_at IS NULL").fetch_one(&self.read).await?;
        Ok(row.try_get(0)?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
mod migration_tests {
    use chrono::TimeZone;

    use super::*;

    /// Events written in the layout before migration 0014, and a segment written in the
    /// row-per-key layout before migration 0025, are all found through the key blocks.
    async fn events_survive_the_segment_migration(s: SqlStore) {
        s.migrate_through(13).await.unwrap();
        let acct = AccountId::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap(), [9; 10]);
        let at = |m: i64| 1_780_000_000_000 + m;
        if s.backend == Backend::Postgres {
            let mut tx = s.write.begin().await.unwrap();
            s.ensure_partitions(&mut tx, [at(0)].into_iter()).await.unwrap();
            tx.commit().await.unwrap();
        }
        for i in 0..3i64 {
            sqlx::query(
                "INSERT INTO access_events (id, account_id, at, kind, action, sealed, ip0, ip1, ip2, ip3) \
                 VALUES ($1, $2, $3, 1, 'console.login', $4, $5, $6, 7, 8)",
            )
            .bind(100 + i)
            .bind(acct.to_string())
            .bind(at(i * 1000))
            .bind(vec![1u8, 2, 3])
            .bind(500 + i)
            .bind(600 + i % 2)
            .execute(&s.write)
            .await
            .unwrap();
        }
        // Migration 0014 makes those one segment in the row-per-key tables; a second one is
        // written there as the code before migration 0025 did (600 events: more than one bucket).
        s.migrate_through(24).await.unwrap();
        let spread = |x: i64| (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) as i64;
        for i in 0..600i64 {
            let seq = 1_000 + i;
            sqlx::query(
                "INSERT INTO access_events (id, account_id, at, kind, action, sealed, ip0, ip1, ip2, ip3, seq) \
                 VALUES ($1, $2, $3, 1, 'console.login', $4, $5, $6, 7, 8, $7)",
            )
            .bind(10_000 + i)
            .bind(acct.to_string())
            .bind(at(100_000 + i))
            .bind(vec![1u8])
            .bind(spread(i))
            .bind(spread(i % 10))
            .bind(seq)
            .execute(&s.write)
            .await
            .unwrap();
            for (lvl, key) in [spread(i), spread(i % 10), 7, 8].into_iter().enumerate() {
                sqlx::query("INSERT INTO access_ip_keys (seg, lvl, key, at, seq) VALUES (2, $1, $2, $3, $4)")
                    .bind(lvl as i16)
                    .bind(key)
                    .bind(at(100_000 + i))
                    .bind(seq)
                    .execute(&s.write)
                    .await
                    .unwrap();
            }
            sqlx::query("INSERT INTO access_account_keys (seg, account_id, at, seq) VALUES (2, $1, $2, $3)")
                .bind(acct.to_string())
                .bind(at(100_000 + i))
                .bind(seq)
                .execute(&s.write)
                .await
                .unwrap();
        }
        sqlx::query("INSERT INTO access_segments (seg, tier, min_at, max_at, events) VALUES (2, 0, $1, $2, 600)")
            .bind(at(100_000))
            .bind(at(100_599))
            .execute(&s.write)
            .await
            .unwrap();
        s.migrate().await.unwrap();
        let unconverted: i64 = sqlx::query("SELECT COUNT(*) FROM access_segments WHERE bits IS NULL")
            .fetch_one(&s.read)
            .await
            .unwrap()
            .get(0);
        assert_eq!(unconverted, 0);
        assert!(sqlx::query("SELECT 1 FROM access_ip_keys").fetch_all(&s.read).await.is_err(), "old tables dropped");
        let wide = (from_millis(at(-1)).unwrap(), from_millis(at(1_000_000)).unwrap());
        let second = s.events(&EventQuery::Account(acct), wide.0, wide.1, None, 1000).await.unwrap();
        assert_eq!(second.len(), 603);
        let q = EventQuery::IpPrefixes { level: 1, values: vec![spread(3)] };
        let tenth: Vec<i64> = s.events(&q, wide.0, wide.1, None, 1000).await.unwrap().iter().map(|e| e.id).collect();
        assert_eq!(tenth, (0..600).filter(|i| i % 10 == 3).map(|i| 10_000 + i).collect::<Vec<i64>>());
        let q = EventQuery::IpPrefixes { level: 0, values: vec![spread(599)] };
        let one = s.events(&q, wide.0, wide.1, None, 9).await.unwrap();
        assert_eq!(one.iter().map(|e| e.id).collect::<Vec<_>>(), vec![10_599]);
        sqlx::query("DELETE FROM access_events WHERE seq >= 1000").execute(&s.write).await.unwrap();
        sqlx::query("DELETE FROM access_key_blocks WHERE seg = 2").execute(&s.write).await.unwrap();
        sqlx::query("DELETE FROM access_segments WHERE seg = 2").execute(&s.write).await.unwrap();
        let (from, to) = (from_millis(at(-1)).unwrap(), from_millis(at(10_000)).unwrap());
        let by_account = s.events(&EventQuery::Account(acct), from, to, None, 100).await.unwrap();
        assert_eq!(by_account.iter().map(|e| e.id).collect::<Vec<_>>(), vec![100, 101, 102]);
        assert_eq!(by_account[1].ip, [501, 601, 7, 8]);
        let by_ip = s.events(&EventQuery::IpPrefixes { level: 1, values: vec![600] }, from, to, None, 100).await;
        assert_eq!(by_ip.unwrap().iter().map(|e| e.id).collect::<Vec<_>>(), vec![100, 102]);
        let coarse = s.events(&EventQuery::IpPrefixes { level: 3, values: vec![8] }, from, to, None, 100).await;
        assert_eq!(coarse.unwrap().len(), 3);
        assert_eq!(s.event_segments().await.unwrap(), 1);
        // New events take later sequence numbers and a segment of their own.
        let e = StoredEvent {
            id: 200,
            account_id: acct,
            at: from_millis(at(5000)).unwrap(),
            kind: 2,
            action: "iam.change".into(),
            sealed: vec![4],
            ip: [900, 901, 902, 8],
            seq: 0,
        };
        let audit = lessee_audit::AuditEvent {
            actor: lessee_audit::Actor { token_id: "t".into(), role: "control_plane".into() },
            purpose: "verification".into(),
            action: "events.ingest".into(),
            target: lessee_audit::Target { kind: "access_events".into(), id: "batch-1".into() },
            time: from_millis(at(5000)).unwrap(),
            client_ip: lessee_audit::AuditHashKey::from_bytes([3; 32]).hash_ip("127.0.0.1".parse().unwrap()),
            request_id: "r".into(),
            outcome: lessee_audit::Outcome::Allowed,
        };
        s.insert_events(&[e], &audit).await.unwrap();
        let all = s.events(&EventQuery::Account(acct), from, to, None, 100).await.unwrap();
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), vec![100, 101, 102, 200]);
        assert!(all[3].seq > all[2].seq);
        assert_eq!(s.event_segments().await.unwrap(), 2);
    }

    /// Last access moves out of the accounts row (migration 0023) with every value kept: an
    /// account accessed keeps its time, one never accessed has none, and retention still
    /// spares the accessed one while taking the other.
    async fn last_access_survives_the_activity_migration(s: SqlStore) {
        s.migrate_through(22).await.unwrap();
        let day = |d: u32| Utc.with_ymd_and_hms(2024, 1, d, 0, 0, 0).single().unwrap();
        let seen = AccountId::new(day(1), [1; 10]);
        let never = AccountId::new(day(1), [2; 10]);
        for (id, ext, last) in [(seen, "ext-seen", Some(millis(day(20)))), (never, "ext-never", None)] {
            sqlx::query(
                "INSERT INTO accounts (id, external_id, account_type, opening_method, customer_kind, \
                 classification_status, outcome, created_at, updated_at, summary, application, sealed, \
                 closed_at, last_accessed_at) \
                 VALUES ($1, $2, 'standard', 'api', 'individual', 'classified', 'approve', $3, $3, '{}', '', $4, $5, $6)",
            )
            .bind(id.to_string())
            .bind(ext)
            .bind(millis(day(1)))
            .bind(vec![0u8])
            .bind(millis(day(2)))
            .bind(last)
            .execute(&s.write)
            .await
            .unwrap();
        }
        s.migrate().await.unwrap();
        assert_eq!(s.last_accessed(seen).await.unwrap(), Some(day(20)));
        assert_eq!(s.last_accessed(never).await.unwrap(), None);
        assert_eq!(s.retention_candidates(day(10), 10).await.unwrap(), vec![never]);
        let mut both = s.retention_candidates(day(25), 10).await.unwrap();
        both.sort();
        let mut expect = vec![seen, never];
        expect.sort();
        assert_eq!(both, expect);
    }

    /// Batches' keys are copied by sequence range, so on PostgreSQL `migrate` refuses a
    /// sequence that does not reserve a whole block per `nextval`, and accepts it once it does.
    #[tokio::test]
    async fn postgres_migrate_refuses_a_sequence_without_blocks() {
        let url = crate::testing::fresh_postgres_url().await.unwrap_or_else(|e| panic!("{e}"));
        let s = SqlStore::connect(&url, &PoolConfig::default()).await.unwrap();
        s.migrate().await.unwrap();
        sqlx::query("ALTER SEQUENCE access_event_seq INCREMENT BY 1").execute(&s.write).await.unwrap();
        match s.migrate().await {
            Err(StoreError::Config(m)) => assert!(m.contains("access_event_seq"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        sqlx::query("ALTER SEQUENCE access_event_seq INCREMENT BY 65536").execute(&s.write).await.unwrap();
        s.migrate().await.unwrap();
    }

    /// Migration 0026 refuses to drop the row-per-key tables while a segment is unconverted
    /// (here: applied directly, without `migrate`'s conversion), and keeps them. A process whose
    /// migration failed exits (sqlx keeps its migration lock on the failed connection), so the
    /// next `migrate` runs from a new connection, as a restarted server would.
    async fn row_keys_are_not_dropped_unconverted(url: &str) {
        let s = SqlStore::connect(url, &PoolConfig::default()).await.unwrap();
        s.migrate_through(25).await.unwrap();
        sqlx::query("INSERT INTO access_segments (seg, tier, min_at, max_at, events) VALUES (7, 0, 1, 2, 1)")
            .execute(&s.write)
            .await
            .unwrap();
        sqlx::query("INSERT INTO access_ip_keys (seg, lvl, key, at, seq) VALUES (7, 0, 5, 1, 1)")
            .execute(&s.write)
            .await
            .unwrap();
        assert!(s.migrate_through(26).await.is_err(), "0026 must refuse");
        let kept: i64 = sqlx::query("SELECT COUNT(*) FROM access_ip_keys").fetch_one(&s.read).await.unwrap().get(0);
        assert_eq!(kept, 1);
        s.close().await;
        // `migrate` converts first, then 0026 applies.
        let s = SqlStore::connect(url, &PoolConfig::default()).await.unwrap();
        s.migrate().await.unwrap();
        let blocks: i64 = sqlx::query("SELECT COUNT(*) FROM access_key_blocks WHERE seg = 7")
            .fetch_one(&s.read)
            .await
            .unwrap()
            .get(0);
        assert_eq!(blocks, 1, "the one key's block (level 0; the other levels had no keys)");
    }

    #[tokio::test]
    async fn sqlite_row_keys_are_not_dropped_unconverted() {
        let dir = tempfile::tempdir().unwrap();
        row_keys_are_not_dropped_unconverted(&format!("sqlite://{}?mode=rwc", dir.path().join("lessee.db").display()))
            .await;
    }

    #[tokio::test]
    async fn postgres_row_keys_are_not_dropped_unconverted() {
        let url = crate::testing::fresh_postgres_url().await.unwrap_or_else(|e| panic!("{e}"));
        row_keys_are_not_dropped_unconverted(&url).await;
    }

    #[tokio::test]
    async fn sqlite_last_access_survives_the_activity_migration() {
        let dir = tempfile::tempdir().unwrap();
        last_access_survives_the_activity_migration(
            SqlStore::open_dir(dir.path(), &PoolConfig::default()).await.unwrap(),
        )
        .await;
    }

    #[tokio::test]
    async fn postgres_last_access_survives_the_activity_migration() {
        let url = crate::testing::fresh_postgres_url().await.unwrap_or_else(|e| panic!("{e}"));
        let s = SqlStore::connect(&url, &PoolConfig::default()).await.unwrap();
        last_access_survives_the_activity_migration(s).await;
    }

    #[tokio::test]
    async fn sqlite_events_survive_the_segment_migration() {
        let dir = tempfile::tempdir().unwrap();
        events_survive_the_segment_migration(SqlStore::open_dir(dir.path(), &PoolConfig::default()).await.unwrap())
            .await;
    }

    #[tokio::test]
    async fn postgres_events_survive_the_segment_migration() {
        let url = crate::testing::fresh_postgres_url().await.unwrap_or_else(|e| panic!("{e}"));
        events_survive_the_segment_migration(SqlStore::connect(&url, &PoolConfig::default()).await.unwrap()).await;
    }
}
