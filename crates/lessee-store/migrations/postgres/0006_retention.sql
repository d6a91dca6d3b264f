-- Retention (records kept at least two years after the later of closure and last access) and
-- legal holds, which stop destruction until released.
ALTER TABLE accounts ADD COLUMN closed_at BIGINT;
ALTER TABLE accounts ADD COLUMN destroyed_at BIGINT;

CREATE TABLE legal_holds (
    id          TEXT PRIMARY KEY,
    account_id  TEXT,
    cidr        TEXT,
    reason      TEXT NOT NULL,
    reference   TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    released_at BIGINT
);
