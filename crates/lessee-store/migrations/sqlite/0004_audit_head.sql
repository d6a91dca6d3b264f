-- The audit tree's right edge (the roots of its perfect subtrees, hex, comma-separated) and
-- size, so an append reads one row instead of searching audit_nodes.
CREATE TABLE audit_head (
    id       INTEGER PRIMARY KEY,
    size     BIGINT NOT NULL,
    frontier TEXT NOT NULL
);
