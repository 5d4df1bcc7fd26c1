-- Retired components, on PostgreSQL: the same column as migrations/sqlite/0008_component_retired.sql.
-- One the latest inventory no longer names is retired (when, in microseconds), not deleted,
-- since posts and subscribers still name it; it comes back (NULL) when an inventory names it
-- again.
ALTER TABLE components ADD COLUMN retired BIGINT;
