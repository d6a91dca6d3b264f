-- Decision events to the provider (issue 5): the decisions table is the outbox. A decision is
-- written with delivered_at NULL in the same transaction that makes it, so a crash neither
-- loses nor duplicates an event; a deliverer claims due rows, posts them as signed webhooks
-- (event id `<account_id>:<seq>`, receivers dedupe) and marks them delivered or reschedules.
-- Decisions made before this migration are not replayed.
ALTER TABLE decisions ADD COLUMN delivered_at BIGINT;
ALTER TABLE decisions ADD COLUMN delivery_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE decisions ADD COLUMN next_delivery_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE decisions ADD COLUMN delivery_error TEXT;
UPDATE decisions SET delivered_at = decided_at;
CREATE INDEX decisions_undelivered ON decisions (next_delivery_at) WHERE delivered_at IS NULL;
