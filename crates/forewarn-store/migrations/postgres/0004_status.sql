-- What the status page says is happening, on PostgreSQL: the same columns as
-- migrations/sqlite/0004_status.sql. An incident's impact on the components it names (none,
-- minor, major, critical), and the post a new one replaces (one replacement per post).
ALTER TABLE posts ADD COLUMN impact TEXT NOT NULL DEFAULT 'none'
    CHECK (impact IN ('none', 'minor', 'major', 'critical'));
ALTER TABLE posts ADD COLUMN replaces BIGINT REFERENCES posts (id);
CREATE UNIQUE INDEX posts_replaces ON posts (replaces);
