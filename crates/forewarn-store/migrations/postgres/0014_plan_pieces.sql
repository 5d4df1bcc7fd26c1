-- A plan's text in pieces: the same as migrations/sqlite/0014_plan_pieces.sql.
CREATE TABLE plan_pieces (
    campaign TEXT NOT NULL,
    version  BIGINT NOT NULL,
    n        BIGINT NOT NULL CHECK (n >= 0),
    text     TEXT NOT NULL,
    PRIMARY KEY (campaign, version, n),
    FOREIGN KEY (campaign, version) REFERENCES plans (campaign, version)
);
