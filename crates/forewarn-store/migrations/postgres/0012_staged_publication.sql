-- A publication is written in batches: the same as
-- migrations/sqlite/0012_staged_publication.sql.
ALTER TABLE events ADD COLUMN staging TEXT;
CREATE INDEX events_staging ON events (staging) WHERE staging IS NOT NULL;
