-- Special measures, exemptions, the ADP description and the reseller register (issue 7).
-- A registry entry is a small strictly-typed JSON document (its type lives in lessee-measures or
-- lessee-service) with a version for compare-and-set; every change appends a row to
-- registry_changes (created, extended, revoked, ...), which is never updated: the history.
-- Nothing here is a customer's personal data (a person measure names a person Commerce
-- published; a reseller entry holds account ids, dates and statuses).
CREATE TABLE registry (
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    version    BIGINT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE TABLE registry_changes (
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    version    BIGINT NOT NULL,
    change     TEXT NOT NULL,
    body       TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (kind, id, version)
);

-- What a measure did to an account, the latest evaluation per (measure, account): `state` is
-- `upcoming` (found before the effective date), `applied` (outcome given), or `lifted` (the
-- measure expired or was revoked). `close_by` keeps the first deadline given.
CREATE TABLE measure_impacts (
    measure_id      TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    measure_version BIGINT NOT NULL,
    state           TEXT NOT NULL,
    verdict         TEXT NOT NULL,
    close_by        TEXT,
    outcome         TEXT NOT NULL,
    first_at        BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (measure_id, account_id)
);
CREATE INDEX measure_impacts_account ON measure_impacts (account_id);

-- Sub-lessee accounts registered by a reseller: each is an account of its own, linked here.
CREATE TABLE sub_lessee_links (
    account_id          TEXT PRIMARY KEY,
    reseller_account_id TEXT NOT NULL,
    created_at          BIGINT NOT NULL
);
CREATE INDEX sub_lessee_links_reseller ON sub_lessee_links (reseller_account_id, account_id);
