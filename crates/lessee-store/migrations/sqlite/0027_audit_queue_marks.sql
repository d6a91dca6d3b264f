-- Reads' audit records are queued in a file of their own beside the database
-- (`<database>.audit-queue`, see crates/lessee-store/src/audit_queue.rs), so that their commits
-- do not make every reader connection drop its page cache. The sequencer moves them into the
-- tree and records here, in the same transaction, the highest queue id it sequenced; queue rows
-- at or below it are already in the tree. One row per queue file (each has a random id).
CREATE TABLE audit_queue_marks (
    queue_id TEXT PRIMARY KEY,
    upto     BIGINT NOT NULL CHECK (upto >= 0)
);
