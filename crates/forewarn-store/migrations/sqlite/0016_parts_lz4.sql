-- Nothing on SQLite, which does not compress values: migrations/postgres/0016 has
-- PostgreSQL compress an event's parts with lz4 rather than pglz.
SELECT 1;
