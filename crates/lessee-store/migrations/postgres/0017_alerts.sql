-- Screening alerts (issue 6): a hit at or above the threshold against the customer, a
-- beneficial owner or a sub-lessee of an account. Only list-side data is kept in clear (the
-- list, the entry id, the listed name that matched, the score and the features that moved
-- it); the customer's screened data is represented by a keyed hash (`subject_hash`) so that a
-- false positive decided for one list entry (`entry_hash`: its matching-relevant content) and
-- one set of customer data does not alert again until either changes.
CREATE TABLE screening_alerts (
    id                 TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL,
    subject            TEXT NOT NULL,
    list               TEXT NOT NULL,
    entity_id          TEXT NOT NULL,
    list_version_id    BIGINT NOT NULL,
    list_version       TEXT NOT NULL,
    score              DOUBLE PRECISION NOT NULL,
    strong             BIGINT NOT NULL,
    explanation        TEXT NOT NULL,
    entry_hash         TEXT NOT NULL,
    subject_hash       TEXT NOT NULL,
    status             TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    disposed_by        TEXT,
    disposition_reason TEXT
);
CREATE INDEX screening_alerts_account ON screening_alerts (account_id, created_at);
CREATE INDEX screening_alerts_status ON screening_alerts (status, created_at);
-- At most one live (open or escalated) alert per account, subject and list entry.
CREATE UNIQUE INDEX screening_alerts_live ON screening_alerts (account_id, subject, list, entity_id)
    WHERE status IN ('open', 'escalated');
