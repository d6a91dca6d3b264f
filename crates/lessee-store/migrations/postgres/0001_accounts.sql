-- Accounts, their decisions, idempotency keys and API tokens.
-- Times are Unix milliseconds (BIGINT) so that the same statements run on SQLite and PostgreSQL.

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE accounts (
    id                    TEXT PRIMARY KEY,
    external_id           TEXT NOT NULL UNIQUE,
    account_type          TEXT NOT NULL,
    opening_method        TEXT NOT NULL,
    customer_kind         TEXT NOT NULL,
    classification_status TEXT NOT NULL,
    outcome               TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    -- The account view (classification, latest decision): no personal data.
    summary               TEXT NOT NULL,
    -- The application as received. Personal data: see docs/ARCHITECTURE.md.
    application           TEXT NOT NULL
);
CREATE INDEX accounts_outcome ON accounts (outcome, id);

CREATE TABLE decisions (
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    seq            BIGINT NOT NULL,
    outcome        TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    decided_at     BIGINT NOT NULL,
    body           TEXT NOT NULL,
    PRIMARY KEY (account_id, seq)
);

CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
