-- The IP address and time of every access or administrative action (EO 13984 § 1(a)(ii)).
-- The address and principal are sealed under the account's data key; the address is found
-- through keyed blind indexes of four prefixes (ip0 finest .. ip3 coarsest, see
-- lessee_domain::access), truncated to 64 bits (candidates are checked exactly after decryption).
CREATE TABLE access_events (
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
CREATE INDEX access_events_account ON access_events (account_id, at, id);
CREATE INDEX access_events_ip0 ON access_events (ip0, at);
CREATE INDEX access_events_ip1 ON access_events (ip1, at);
CREATE INDEX access_events_ip2 ON access_events (ip2, at);
CREATE INDEX access_events_ip3 ON access_events (ip3, at);

ALTER TABLE accounts ADD COLUMN last_accessed_at BIGINT;
