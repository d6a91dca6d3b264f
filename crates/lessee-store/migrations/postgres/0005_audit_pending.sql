-- Audit records written by requests, durably, in the same transaction as what they record; the
-- sequencer moves them into audit_records (assigning their position in the Merkle tree) in
-- batches. Requests never wait on the tree.
CREATE TABLE audit_pending (
    id         BIGSERIAL PRIMARY KEY,
    event      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
