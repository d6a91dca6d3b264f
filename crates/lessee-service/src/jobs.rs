//! Background work from the database job queue (see `lessee_store::Store::claim_jobs`).
//!
//! Producers enqueue [`NewJob`]s (re-screening after a list import, re-evaluation after a
//! special measure changes, reminders); any number of workers, in any number of processes, run
//! [`Service::run_jobs`]. A job is claimed under a lease: if its worker dies the lease runs
//! out and another worker runs it again, so every handler is idempotent. A handler's failure
//! is retried with exponential backoff when it may pass (a database or dependency outage) and
//! the job is parked as `dead` when it cannot (an unknown kind, a malformed payload), or after
//! [`MAX_ATTEMPTS`]. `lessee jobs status` shows the counts; dead jobs stay for an operator.

use chrono::Duration;
use lessee_store::{Job, JobCount, NewJob};

use crate::{Error, ErrorCode, Result, Service};

/// How long a claimed job is a worker's before another may take it over.
pub const LEASE_MS: i64 = 10 * 60 * 1000;
/// Runs of one job before it is parked as dead.
pub const MAX_ATTEMPTS: i32 = 10;

/// What one [`Service::run_jobs`] call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct JobsRun {
    pub completed: usize,
    pub retried: usize,
    pub dead: usize,
}

impl JobsRun {
    pub fn claimed(&self) -> usize {
        self.completed + self.retried + self.dead
    }
}

impl Service {
    /// Puts jobs on the queue; returns how many were new (the rest were already pending).
    pub async fn enqueue_jobs(&self, jobs: &[NewJob]) -> Result<usize> {
        Ok(self.store.enqueue_jobs(jobs).await?)
    }

    /// A job of `kind` due now.
    pub fn job(&self, kind: &str, key: Option<String>, payload: serde_json::Value) -> NewJob {
        NewJob { kind: kind.to_owned(), key, payload, run_at: self.now() }
    }

    /// Claims up to `limit` due jobs as `worker` and runs them one after another.
    pub async fn run_jobs(&self, worker: &str, limit: u32) -> Result<JobsRun> {
        let jobs = self.store.claim_jobs(worker, self.now(), LEASE_MS, limit).await?;
        let mut run = JobsRun::default();
        for job in jobs {
            match self.run_job(&job).await {
                Ok(()) => {
                    if !self.store.complete_job(job.id, worker).await? {
                        tracing::warn!(job = job.id, kind = %job.kind, "Job finished after its lease was taken over.");
                    }
                    run.completed += 1;
                }
                Err(e) => {
                    let transient =
                        matches!(e.code, ErrorCode::Internal | ErrorCode::Unavailable | ErrorCode::Conflict);
                    let retry_at = (transient && job.attempts < MAX_ATTEMPTS).then(|| {
                        // 2, 4, 8 ... seconds, at most an hour.
                        self.now() + Duration::seconds(1_i64 << job.attempts.clamp(1, 12)).min(Duration::hours(1))
                    });
                    tracing::error!(
                        job = job.id, kind = %job.kind, attempts = job.attempts, code = e.code.as_str(),
                        internal = e.internal.as_deref().unwrap_or(""), retry = retry_at.is_some(),
                        "Job failed."
                    );
                    let error = format!("{}: {}", e.code.as_str(), e.internal.as_deref().unwrap_or(&e.detail));
                    self.store.fail_job(job.id, worker, &error, retry_at).await?;
                    if retry_at.is_some() {
                        run.retried += 1;
                    } else {
                        run.dead += 1;
                    }
                }
            }
        }
        Ok(run)
    }

    /// Runs jobs until none is due; returns the totals.
    pub async fn run_jobs_until_empty(&self, worker: &str) -> Result<JobsRun> {
        let mut total = JobsRun::default();
        loop {
            let run = self.run_jobs(worker, 64).await?;
            if run.claimed() == 0 {
                return Ok(total);
            }
            total.completed += run.completed;
            total.retried += run.retried;
            total.dead += run.dead;
            // A job retried for later is not due again in this loop; one due again (a zero
            // backoff never happens) would be claimed again, so this terminates.
            if run.completed == 0 && run.dead == 0 {
                return Ok(total);
            }
        }
    }

    /// Jobs by kind and state.
    pub async fn job_counts(&self) -> Result<Vec<JobCount>> {
        Ok(self.store.job_counts().await?)
    }

    /// Forgets jobs finished more than `days` ago.
    pub async fn prune_jobs(&self, days: i64) -> Result<u64> {
        Ok(self.store.prune_jobs(chrono::Utc::now() - Duration::days(days)).await?)
    }

    /// One job. Handlers are idempotent: a job may run again after its worker died.
    async fn run_job(&self, job: &Job) -> Result<()> {
        match job.kind.as_str() {
            crate::measures::REEVALUATE_JOB => self.reevaluate_measures().await.map(|_| ()),
            crate::screening::RESCREEN_LIST_JOB => self.job_rescreen_list(&job.payload).await,
            crate::resellers::REMINDER_JOB => self.job_reseller_reminder(&job.payload).await,
            other => Err(Error::new(ErrorCode::InvalidBody, format!("unknown job kind `{other}`"))),
        }
    }
}
