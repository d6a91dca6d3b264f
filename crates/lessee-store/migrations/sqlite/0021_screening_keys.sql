-- Retrieval keys of customer names for re-screening after a list change (issue 6): keyed
-- 64-bit hashes (HMAC under the keyring's screening-key purpose) of the keys the name index
-- retrieves by (lessee_screening::keys), so that the customers near a new or changed list
-- entry are found without decrypting every account. Never a name. Removed with the account's
-- other blind indexes (resubmission, destruction).
CREATE TABLE screening_keys (
    key        BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    PRIMARY KEY (key, account_id)
) WITHOUT ROWID;
CREATE INDEX screening_keys_account ON screening_keys (account_id);

-- The key scheme every stored account has keys of (set once a full pass has keyed them all);
-- until it matches the running version, re-screening reads every account.
CREATE TABLE screening_key_scheme (
    id     BIGINT PRIMARY KEY,
    scheme BIGINT NOT NULL
);
