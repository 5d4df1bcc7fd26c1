-- A plan's text is kept in pieces of a few megabytes, in order (a large fleet's plan is
-- hundreds of megabytes): reading a row copies it once in the driver and once into the
-- text, so that reading a plan kept whole took twice its size at once. A plan written
-- since has an empty `plans.json`; one written before keeps its text there and has no
-- pieces. Its text is `plans.json` followed by its pieces.
CREATE TABLE plan_pieces (
    campaign TEXT NOT NULL,
    version  INTEGER NOT NULL,
    n        INTEGER NOT NULL CHECK (n >= 0),
    text     TEXT NOT NULL,
    PRIMARY KEY (campaign, version, n),
    FOREIGN KEY (campaign, version) REFERENCES plans (campaign, version)
) STRICT;
