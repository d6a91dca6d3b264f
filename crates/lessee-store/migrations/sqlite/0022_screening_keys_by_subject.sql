-- Screening keys per subject of an account (issue 6): the customer, each beneficial owner, each
-- sub-lessee, by ordinal. A list change then selects an account only when one subject's keys
-- come near an entry, not two parts taken from two different people. The keys are derived data:
-- the table is rebuilt empty and the scheme marker cleared, so the next re-screen after a list
-- import decrypts every account once and writes them again.
DROP TABLE screening_keys;
CREATE TABLE screening_keys (
    key        BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    subject    INTEGER NOT NULL,
    PRIMARY KEY (key, account_id, subject)
) WITHOUT ROWID;
CREATE INDEX screening_keys_account ON screening_keys (account_id);
DELETE FROM screening_key_scheme;
