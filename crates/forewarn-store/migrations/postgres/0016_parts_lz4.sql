-- An event's parts (a customer's machines and slots, a few kilobytes each, 64,000 of them in
-- a publication of 1.34 M machines) are compressed with lz4 rather than PostgreSQL's own
-- pglz: writing them took three times as long. A server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE event_parts ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: event parts stay compressed with pglz';
END
$$;
