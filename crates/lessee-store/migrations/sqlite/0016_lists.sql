-- Screening lists (issue 6): every import is a new version of one list, with its provenance
-- (where it came from, when, the SHA-256 of the input) and its parsed entries. List entries
-- are public data: they are stored as JSON (lessee_lists::Entry), not encrypted.
CREATE TABLE list_versions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    list        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    format      TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    source      TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    entry_count BIGINT NOT NULL,
    UNIQUE (list, version)
);
CREATE TABLE list_entries (
    version_id  BIGINT NOT NULL REFERENCES list_versions (id),
    seq         BIGINT NOT NULL,
    entity_id   TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (version_id, seq)
);
