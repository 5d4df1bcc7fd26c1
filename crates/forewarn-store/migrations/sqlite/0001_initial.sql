-- forewarn's schema on SQLite. Times are INTEGER microseconds since the Unix epoch (UTC),
-- exact and sortable. JSON is stored as TEXT. Nothing is ever deleted but sessions: plans,
-- post updates and revisions and the audit log only grow.

-- Gap-free counters, taken with `UPDATE ... RETURNING` inside the writing transaction.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO counters (name, value) VALUES ('inventory', 0);

-- Every imported inventory, as given, with its summary.
CREATE TABLE inventories (
    version INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    format  TEXT NOT NULL CHECK (format IN ('toml', 'json')),
    text    TEXT NOT NULL,
    summary TEXT NOT NULL
) STRICT;

CREATE TABLE campaigns (
    id                TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    text              TEXT NOT NULL,
    state             TEXT NOT NULL
        CHECK (state IN ('draft', 'published', 'paused', 'cancelled', 'completed')),
    inventory_version INTEGER NOT NULL REFERENCES inventories (version),
    created           INTEGER NOT NULL,
    updated           INTEGER NOT NULL,
    -- How many plan versions exist; the next one is plan_count + 1.
    plan_count        INTEGER NOT NULL DEFAULT 0,
    published_plan    INTEGER,
    FOREIGN KEY (id, published_plan) REFERENCES plans (campaign, version)
) STRICT;
CREATE INDEX campaigns_created ON campaigns (created);

-- Plan versions of a campaign: 1, 2, ... Drafts until one is published.
CREATE TABLE plans (
    campaign          TEXT NOT NULL REFERENCES campaigns (id),
    version           INTEGER NOT NULL,
    created           INTEGER NOT NULL,
    actor             TEXT NOT NULL,
    inventory_version INTEGER NOT NULL REFERENCES inventories (version),
    json              TEXT NOT NULL,
    summary           TEXT NOT NULL,
    PRIMARY KEY (campaign, version)
) STRICT;

-- Platform services, racks and devices shown on the status page, in the order first given.
CREATE TABLE components (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('service', 'rack', 'device')),
    status   TEXT NOT NULL
        CHECK (status IN ('operational', 'maintenance', 'degraded', 'partial_outage', 'major_outage')),
    position INTEGER NOT NULL,
    updated  INTEGER NOT NULL
) STRICT;

-- Posts as they stand now; earlier versions are in post_revisions.
CREATE TABLE posts (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT NOT NULL CHECK (kind IN ('maintenance', 'incident', 'notice')),
    state    TEXT NOT NULL CHECK (state IN ('scheduled', 'in_progress', 'completed', 'cancelled', 'investigating', 'identified',
                      'monitoring', 'resolved', 'published')),
    title    TEXT NOT NULL,
    body     TEXT NOT NULL,
    starts   INTEGER,
    ends     INTEGER,
    campaign TEXT REFERENCES campaigns (id),
    created  INTEGER NOT NULL,
    updated  INTEGER NOT NULL,
    revision INTEGER NOT NULL CHECK (revision >= 1)
) STRICT;
CREATE INDEX posts_created ON posts (created);
CREATE INDEX posts_campaign ON posts (campaign);

CREATE TABLE post_components (
    post      INTEGER NOT NULL REFERENCES posts (id),
    position  INTEGER NOT NULL,
    component TEXT NOT NULL REFERENCES components (id),
    PRIMARY KEY (post, position),
    UNIQUE (post, component)
) STRICT;

-- The append-only timeline of a post.
CREATE TABLE post_updates (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    post   INTEGER NOT NULL REFERENCES posts (id),
    at     INTEGER NOT NULL,
    state  TEXT CHECK (state IN ('scheduled', 'in_progress', 'completed', 'cancelled', 'investigating', 'identified',
                    'monitoring', 'resolved', 'published')),
    body   TEXT NOT NULL,
    author TEXT NOT NULL
) STRICT;
CREATE INDEX post_updates_post ON post_updates (post, at, id);

-- Corrections: the fields of the post before revision `revision` replaced them.
CREATE TABLE post_revisions (
    post     INTEGER NOT NULL REFERENCES posts (id),
    revision INTEGER NOT NULL CHECK (revision >= 2),
    at       INTEGER NOT NULL,
    note     TEXT NOT NULL,
    author   TEXT NOT NULL,
    title    TEXT NOT NULL,
    body     TEXT NOT NULL,
    starts   INTEGER,
    ends     INTEGER,
    PRIMARY KEY (post, revision)
) STRICT;

-- Who changed what and when; written in the transaction of the change.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL
) STRICT;
CREATE INDEX audit_at ON audit (at, id);

-- API tokens: only a hash of the token is kept (the caller hashes).
CREATE TABLE tokens (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT NOT NULL,
    hash    TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    actor   TEXT NOT NULL
) STRICT;

CREATE TABLE operators (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created       INTEGER NOT NULL,
    updated       INTEGER NOT NULL
) STRICT;

-- Operator sessions, by a hash of the cookie's value.
CREATE TABLE sessions (
    hash     TEXT PRIMARY KEY,
    operator TEXT NOT NULL REFERENCES operators (name),
    csrf     TEXT NOT NULL,
    created  INTEGER NOT NULL,
    expires  INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_expires ON sessions (expires);
