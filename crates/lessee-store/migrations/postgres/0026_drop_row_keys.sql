-- The row-per-key tables of migration 0014, empty once `SqlStore::migrate` has moved every
-- segment's keys into `access_key_blocks` (migration 0025). The guard fails the migration if
-- any segment was left unconverted, rather than drop its keys.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM access_segments WHERE bits IS NULL) THEN
        RAISE EXCEPTION 'access-event segments still hold row-per-key keys: run lessee migrate (it converts them first)';
    END IF;
END
$$;
DROP TABLE access_ip_keys;
DROP TABLE access_account_keys;
