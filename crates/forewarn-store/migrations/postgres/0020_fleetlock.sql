-- FleetLock tokens and runs: the same as migrations/sqlite/0020_fleetlock.sql.
ALTER TABLE tokens ADD COLUMN fleetlock TEXT;
CREATE INDEX agents_fleetlock_id ON agents (fleetlock_id);
CREATE TABLE runs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign         TEXT NOT NULL REFERENCES campaigns (id),
    machine          TEXT NOT NULL,
    node             TEXT,
    source           TEXT NOT NULL CHECK (source IN ('fleetlock', 'agent')),
    state            TEXT NOT NULL
                     CHECK (state IN ('running', 'lost', 'done', 'failed', 'postponed', 'interrupted', 'released')),
    started          BIGINT NOT NULL,
    deadline         BIGINT NOT NULL CHECK (deadline >= started),
    finished         BIGINT CHECK (finished >= started),
    downtime_seconds BIGINT CHECK (downtime_seconds >= 0),
    released_by      TEXT,
    -- An agent's lease: renewed by its heartbeats; past it, the run is lost (and still holds
    -- its machine: it may be down).
    lease_until      BIGINT,
    -- What the agent reported: the exit status and the tail of the output.
    exit_status      BIGINT,
    output           TEXT,
    CHECK ((finished IS NULL) = (state IN ('running', 'lost')))
);
CREATE UNIQUE INDEX runs_open ON runs (campaign, machine) WHERE finished IS NULL;
CREATE INDEX runs_holding ON runs (started) WHERE finished IS NULL;
CREATE INDEX runs_by_campaign ON runs (campaign, started);
CREATE INDEX runs_by_machine ON runs (machine, started);
