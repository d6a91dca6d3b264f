-- The review queue (issue 5): a case is opened, in the same transaction, whenever a decision
-- sends an account to manual review, or by an analyst who wants to override the engine. A deny
-- or an override needs a second reviewer (four eyes). At most one case per account is open.
CREATE TABLE reviews (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL,
    status           TEXT NOT NULL,
    engine_outcome   TEXT NOT NULL,
    reason           TEXT NOT NULL,
    opened_by        TEXT NOT NULL,
    opened_at        BIGINT NOT NULL,
    claimed_by       TEXT,
    proposed_outcome TEXT,
    proposed_by      TEXT,
    proposed_note    TEXT,
    second_by        TEXT,
    decided_outcome  TEXT,
    closed_at        BIGINT
);
CREATE INDEX reviews_status ON reviews (status, opened_at);
CREATE UNIQUE INDEX reviews_one_open ON reviews (account_id) WHERE status <> 'closed';
-- Accounts already in manual review get a case.
INSERT INTO reviews (id, account_id, status, engine_outcome, reason, opened_by, opened_at)
SELECT id || '.1', id, 'open', outcome, 'manual_review', 'engine', updated_at FROM accounts WHERE outcome = 'manual_review';
