-- An account's last access moves with every batch of access events (issue 4). Kept in the
-- accounts row, each move rewrote that row whole (its summary and sealed application, several
-- kilobytes), thousands of rows per batch; a narrow table of its own takes the same update as a
-- few bytes. Retention reads it beside the account.
-- Servers of the previous version must be stopped first (they write the dropped column); the
-- lock keeps any straggler's last-access update from landing between the copy and the drop.
LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE;
CREATE TABLE account_activity (
    account_id       TEXT PRIMARY KEY,
    last_accessed_at BIGINT NOT NULL
);
INSERT INTO account_activity (account_id, last_accessed_at)
    SELECT id, last_accessed_at FROM accounts WHERE last_accessed_at IS NOT NULL;
ALTER TABLE accounts DROP COLUMN last_accessed_at;
