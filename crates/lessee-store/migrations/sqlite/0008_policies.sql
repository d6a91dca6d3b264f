-- The verification policy (the written CIP), versioned (issue 5): every version ever in force,
-- who installed it, when and why. Decisions record the policy id they were made under.
CREATE TABLE policies (
    version    BIGINT PRIMARY KEY,
    policy_id  TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    source     TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
