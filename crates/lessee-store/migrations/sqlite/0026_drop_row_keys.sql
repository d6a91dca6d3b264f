-- The row-per-key tables of migration 0014, empty once `SqlStore::migrate` has moved every
-- segment's keys into `access_key_blocks` (migration 0025). The guard fails the migration
-- (CHECK violation) if any segment was left unconverted, rather than drop its keys.
CREATE TEMP TABLE row_keys_guard (unconverted BIGINT CHECK (unconverted = 0));
INSERT INTO row_keys_guard SELECT COUNT(*) FROM access_segments WHERE bits IS NULL;
DROP TABLE row_keys_guard;
DROP TABLE access_ip_keys;
DROP TABLE access_account_keys;
