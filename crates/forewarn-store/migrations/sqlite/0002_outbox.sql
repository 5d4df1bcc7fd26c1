-- Telling people: the outbox, the slots contacts were told, status-page subscribers, the
-- counter that numbers events and the installation's secret. Times are INTEGER
-- microseconds since the Unix epoch (UTC), as everywhere.

-- Every message a change causes, written in the change's transaction and delivered later,
-- at least once, under its unique key (for email, the Message-ID). Kept after delivery.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT NOT NULL UNIQUE,
    channel       TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    sender        TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    subject       TEXT NOT NULL,
    cause         TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created       INTEGER NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
    -- Failed attempts so far.
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- The next attempt is not before this.
    due           INTEGER NOT NULL,
    -- A worker's lease: nobody else takes the message before this.
    claimed_until INTEGER,
    sent          INTEGER,
    error         TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (state, due);

-- Each slot of a published campaign as its target's contacts were told it: the iCalendar
-- SEQUENCE rises with every move and with the cancellation.
CREATE TABLE slot_notices (
    campaign  TEXT NOT NULL REFERENCES campaigns (id),
    target    TEXT NOT NULL,
    starts    INTEGER NOT NULL,
    ends      INTEGER NOT NULL,
    sequence  INTEGER NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    cancelled INTEGER NOT NULL DEFAULT 0 CHECK (cancelled IN (0, 1)),
    reminded  INTEGER NOT NULL DEFAULT 0 CHECK (reminded IN (0, 1)),
    PRIMARY KEY (campaign, target)
) STRICT;
CREATE INDEX slot_notices_starts ON slot_notices (starts);

-- People who asked to be told about the status page's posts. Rows are never deleted: an
-- unsubscribed address that subscribes again goes back to unconfirmed.
CREATE TABLE subscribers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- As given, trimmed.
    email        TEXT NOT NULL,
    -- The address in lower case: one row per address, whatever its spelling.
    email_key    TEXT NOT NULL UNIQUE,
    -- A JSON array of component ids; empty: every post.
    components   TEXT NOT NULL,
    language     TEXT NOT NULL CHECK (language IN ('en', 'de')),
    created      INTEGER NOT NULL,
    confirmed    INTEGER,
    unsubscribed INTEGER
) STRICT;

-- Numbers the events that tell people, gap-free (keys of their messages are built from it).
INSERT INTO counters (name, value) VALUES ('event', 0);

-- The installation's secrets (the key that signs subscribers' links), made once.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
