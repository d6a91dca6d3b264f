-- Access events at ingestion speed (issue 4). The four blind-index columns and the account
-- column used to be indexed in place; their keys are random, so every batch dirtied pages all
-- over five B-trees and the write-ahead log carried most of each index per commit. Now:
--  * `access_events` is an append-only heap keyed by `seq` (assigned in ingestion order);
--    the prefix indexes stay in the row, unindexed, so keys can always be rebuilt;
--  * each ingested batch is a *segment*; its keys go, sorted, into `access_ip_keys` and
--    `access_account_keys`, clustered by segment first, so a batch appends at the end of
--    each tree instead of touching it everywhere;
--  * a query visits the segments whose time span overlaps its range (one seek per segment
--    and key); a compactor merges runs of small segments into larger ones (a log-structured
--    merge), so their number stays small.
CREATE TABLE access_events_v2 (
    seq        INTEGER PRIMARY KEY,
    id         BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    at         BIGINT NOT NULL,
    kind       SMALLINT NOT NULL,
    action     TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    ip0        BIGINT NOT NULL,
    ip1        BIGINT NOT NULL,
    ip2        BIGINT NOT NULL,
    ip3        BIGINT NOT NULL
);
INSERT INTO access_events_v2 (seq, id, account_id, at, kind, action, sealed, ip0, ip1, ip2, ip3)
    SELECT rowid, id, account_id, at, kind, action, sealed, ip0, ip1, ip2, ip3 FROM access_events ORDER BY rowid;
DROP TABLE access_events;
ALTER TABLE access_events_v2 RENAME TO access_events;

CREATE TABLE access_segments (
    seg    INTEGER PRIMARY KEY,
    tier   INTEGER NOT NULL,
    min_at BIGINT NOT NULL,
    max_at BIGINT NOT NULL,
    events BIGINT NOT NULL
);
CREATE TABLE access_ip_keys (
    seg BIGINT NOT NULL,
    lvl SMALLINT NOT NULL,
    key BIGINT NOT NULL,
    at  BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (seg, lvl, key, at, seq)
) WITHOUT ROWID;
CREATE TABLE access_account_keys (
    seg        BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    at         BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (seg, account_id, at, seq)
) WITHOUT ROWID;

-- Events stored before this migration become one segment (tier 99: never merged again).
INSERT INTO access_segments (seg, tier, min_at, max_at, events)
    SELECT 1, 99, MIN(at), MAX(at), COUNT(*) FROM access_events HAVING COUNT(*) > 0;
INSERT INTO access_ip_keys (seg, lvl, key, at, seq)
    SELECT 1, 0, ip0, at, seq FROM access_events
    UNION ALL SELECT 1, 1, ip1, at, seq FROM access_events
    UNION ALL SELECT 1, 2, ip2, at, seq FROM access_events
    UNION ALL SELECT 1, 3, ip3, at, seq FROM access_events;
INSERT INTO access_account_keys (seg, account_id, at, seq) SELECT 1, account_id, at, seq FROM access_events;
