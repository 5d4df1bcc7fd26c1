-- Each request to subscribe, or to change a subscription, with the choices it asked for.
-- The confirmation link names one request: following it applies that request's choices,
-- once, and no other's. Rows are kept (they show who asked for what, and when).
CREATE TABLE subscription_requests (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber  INTEGER NOT NULL REFERENCES subscribers (id),
    -- A JSON array of component ids; empty: every post.
    components  TEXT NOT NULL,
    language    TEXT NOT NULL CHECK (language IN ('en', 'de')),
    created     INTEGER NOT NULL,
    -- When its link was followed.
    confirmed   INTEGER
) STRICT;

CREATE INDEX subscription_requests_by_subscriber ON subscription_requests (subscriber, created);
