-- The outbox holds intents, not rendered mail. A change that tells people writes one
-- `events` row (what happened, as the notifier's compact context: the campaign, its plan
-- and inventory versions, the post as it stood), one `event_parts` row for what several
-- messages share (a customer's machines and slots, read by each of its contacts' messages)
-- and one small outbox row per recipient. Each message is rendered when it is delivered,
-- from these rows and the immutable inventory versions they name, so every attempt sends
-- the same bytes under the same Message-ID. Rows written before this migration keep their
-- rendered payload (and no event).

CREATE TABLE events (
    seq     INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    -- What every message of the event is rendered from (JSON).
    context TEXT NOT NULL
) STRICT;

CREATE TABLE event_parts (
    event INTEGER NOT NULL REFERENCES events (seq),
    part  INTEGER NOT NULL CHECK (part >= 0),
    -- What the messages naming this part share (JSON).
    data  TEXT NOT NULL,
    PRIMARY KEY (event, part)
) STRICT;

-- `payload` is empty for a message rendered at delivery; `event` names its event, `part`
-- the part it reads (if any) and `data` what is this recipient's own (JSON).
ALTER TABLE outbox ADD COLUMN event INTEGER REFERENCES events (seq);
ALTER TABLE outbox ADD COLUMN part INTEGER;
ALTER TABLE outbox ADD COLUMN data TEXT;
-- Who holds the lease: a delivery round's own token, so that only it renews the lease and
-- a round whose lease ran out cannot renew another round's.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
CREATE INDEX outbox_event ON outbox (event);
CREATE INDEX outbox_sent ON outbox (sent) WHERE state = 'sent';
