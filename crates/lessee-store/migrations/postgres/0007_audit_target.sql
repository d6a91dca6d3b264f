-- Legal-process exports (issue 4) gather the audit records about one account: index the
-- record's target id (a reference, never personal data).
ALTER TABLE audit_records ADD COLUMN target_id TEXT;
UPDATE audit_records SET target_id = (record::jsonb -> 'event' -> 'target' ->> 'id');
CREATE INDEX audit_records_target ON audit_records (target_id, seq);
