-- What the status page says is happening: an incident's impact on the components it names
-- (none, minor, major, critical; shown as degraded, partial outage or major outage until it
-- is resolved), and the post a new one replaces (a cancelled maintenance links to its
-- replacement; one replacement per post). A component's status in `components` stays the
-- one set by hand; what posts make of it is derived when pages are rendered.
ALTER TABLE posts ADD COLUMN impact TEXT NOT NULL DEFAULT 'none'
    CHECK (impact IN ('none', 'minor', 'major', 'critical'));
ALTER TABLE posts ADD COLUMN replaces INTEGER REFERENCES posts (id);
CREATE UNIQUE INDEX posts_replaces ON posts (replaces);
