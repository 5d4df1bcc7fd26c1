-- The outbox holds intents, not rendered mail: the same tables as
-- migrations/sqlite/0010_outbox_intents.sql.

CREATE TABLE events (
    seq     BIGINT PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    context TEXT NOT NULL
);

CREATE TABLE event_parts (
    event BIGINT NOT NULL REFERENCES events (seq),
    part  BIGINT NOT NULL CHECK (part >= 0),
    data  TEXT NOT NULL,
    PRIMARY KEY (event, part)
);

ALTER TABLE outbox ADD COLUMN event BIGINT REFERENCES events (seq);
ALTER TABLE outbox ADD COLUMN part BIGINT;
ALTER TABLE outbox ADD COLUMN data TEXT;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
CREATE INDEX outbox_event ON outbox (event);
CREATE INDEX outbox_sent ON outbox (sent) WHERE state = 'sent';
