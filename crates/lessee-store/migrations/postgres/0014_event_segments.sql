-- Access events at ingestion speed (issue 4). The four blind-index columns and the account
-- column used to be indexed in place; their keys are random, so every batch dirtied pages all
-- over five B-trees. Now:
--  * `access_events` (still partitioned by month on `at`) carries `seq`, assigned in
--    ingestion order from a sequence; the prefix indexes stay in the row, unindexed, so keys
--    can always be rebuilt;
--  * each ingested batch is a *segment*; its keys go, sorted, into `access_ip_keys` and
--    `access_account_keys`, clustered by segment first, so a batch appends at the right edge
--    of each tree instead of touching it everywhere;
--  * a query visits the segments whose time span overlaps its range (one index descent per
--    segment and key); a compactor merges runs of small segments into larger ones (a
--    log-structured merge), so their number stays small.
CREATE SEQUENCE access_event_seq;
ALTER TABLE access_events ADD COLUMN seq BIGINT;
UPDATE access_events SET seq = nextval('access_event_seq');
ALTER TABLE access_events ALTER COLUMN seq SET NOT NULL;
DROP INDEX access_events_account;
DROP INDEX access_events_ip0;
DROP INDEX access_events_ip1;
DROP INDEX access_events_ip2;
DROP INDEX access_events_ip3;
CREATE INDEX access_events_seq ON access_events (seq);

CREATE TABLE access_segments (
    seg    BIGSERIAL PRIMARY KEY,
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
);
CREATE TABLE access_account_keys (
    seg        BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    at         BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (seg, account_id, at, seq)
);

-- Events stored before this migration become one segment (tier 99: never merged again).
INSERT INTO access_segments (seg, tier, min_at, max_at, events)
    SELECT 1, 99, MIN(at), MAX(at), COUNT(*) FROM access_events HAVING COUNT(*) > 0;
SELECT setval('access_segments_seg_seq', 1);
INSERT INTO access_ip_keys (seg, lvl, key, at, seq)
    SELECT 1, 0, ip0, at, seq FROM access_events
    UNION ALL SELECT 1, 1, ip1, at, seq FROM access_events
    UNION ALL SELECT 1, 2, ip2, at, seq FROM access_events
    UNION ALL SELECT 1, 3, ip3, at, seq FROM access_events;
INSERT INTO access_account_keys (seg, account_id, at, seq) SELECT 1, account_id, at, seq FROM access_events;
