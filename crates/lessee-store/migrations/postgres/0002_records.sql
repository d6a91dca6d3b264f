-- Records kept securely (issue 4): per-customer data keys, blind indexes, the audit log.

-- The application is now stored encrypted under the customer's data key (see lessee-crypto);
-- rows written before this migration hold plaintext JSON and are sealed by the server at start.
ALTER TABLE accounts ADD COLUMN sealed BYTEA;

-- Each customer's data key, wrapped by a key-encryption key that never enters the database.
-- Deleting a row destroys the customer's data (crypto-shredding).
CREATE TABLE customer_keys (
    account_id TEXT PRIMARY KEY,
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- Keyed blind indexes (HMAC) of values looked up by equality: email, phone, national id.
CREATE TABLE blind_indexes (
    purpose    TEXT NOT NULL,
    value      TEXT NOT NULL,
    account_id TEXT NOT NULL,
    subject    TEXT NOT NULL,
    PRIMARY KEY (purpose, value, account_id, subject)
);
CREATE INDEX blind_indexes_account ON blind_indexes (account_id);

-- The tamper-evident audit log: records (hashes and references, never personal data), the
-- RFC 6962 Merkle tree's perfect-subtree hashes, and signed checkpoints.
CREATE TABLE audit_records (
    seq        BIGINT PRIMARY KEY,
    leaf_hash  TEXT NOT NULL,
    record     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx   BIGINT NOT NULL,
    hash  TEXT NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE audit_checkpoints (
    tree_size  BIGINT PRIMARY KEY,
    note       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
