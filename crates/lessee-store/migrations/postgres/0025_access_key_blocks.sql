-- Access-event keys packed per segment (issue 4; see lessee_store::keyblocks). One row per
-- segment, level (0..3 address prefixes, 4 account) and bucket (the key's top `bits` bits),
-- holding that bucket's entries (key, at, seq) sorted: a batch of 10,000 events writes a few
-- hundred rows instead of 50,000, and a lookup reads one row per segment. `bits` is NULL for
-- segments whose keys are still in the old row-per-key tables: `SqlStore::migrate` converts
-- them before migration 0026 drops those tables.
ALTER TABLE access_segments ADD COLUMN bits INTEGER;
CREATE TABLE access_key_blocks (
    seg    BIGINT NOT NULL,
    lvl    SMALLINT NOT NULL,
    bucket BIGINT NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (seg, lvl, bucket)
);
-- The entries are random 64-bit keys: compressing them is wasted work. Out of line, as is.
ALTER TABLE access_key_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
