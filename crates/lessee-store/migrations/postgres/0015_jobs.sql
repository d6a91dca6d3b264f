-- The job queue (issues 6 and 7): re-screening after a list import, re-evaluation after a
-- special measure changes, reminders. Any number of workers (processes) claim due jobs with a
-- lease; a worker that dies loses its lease and the job runs again, so handlers are idempotent.
-- `dedupe_key`: at most one *pending* job per (kind, key); a job already running does not
-- absorb a new one (the change it would miss happened after it started).
-- Payloads hold ids and versions, never personal data.
CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    dedupe_key TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    run_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_by TEXT,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE UNIQUE INDEX jobs_pending_key ON jobs (kind, dedupe_key) WHERE state = 'pending' AND dedupe_key IS NOT NULL;
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE state = 'pending';
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE state = 'running';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state = 'done';
