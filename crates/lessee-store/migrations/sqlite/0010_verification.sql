-- Ownership of email and phone by one-time code (issue 5). A challenge holds only a keyed hash
-- of its code; evidence states are what the policy engine weighs when an account is decided
-- again. Neither holds personal data.
CREATE TABLE challenges (
    account_id   TEXT NOT NULL,
    channel      TEXT NOT NULL,
    hash         TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    attempts     INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, channel)
);

CREATE TABLE evidence_states (
    account_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    state      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, kind)
);
