-- A FleetLock token (`forewarn token create --fleetlock GROUP`): it takes and releases the
-- locks of one group (a campaign with mode = "fleetlock") and reaches nothing else. NULL:
-- another kind of token, as before.
ALTER TABLE tokens ADD COLUMN fleetlock TEXT;
-- An agent's FleetLock id finds its machine when the inventory names none.
CREATE INDEX agents_fleetlock_id ON agents (fleetlock_id);
-- What really happened on the machines: each time a machine went down for a campaign (a
-- FleetLock lock granted, an agent's work on its slot), from its start until it was seen
-- back. A run with no `finished` is open (running, or lost: its agent's lease ran out): it
-- holds its machine (and counts against every limit) until the machine is seen back, its
-- agent reports, or an operator releases it, never by a timeout. `deadline` is when it was
-- expected back; an open run past it is stuck. One open run per campaign and machine. Its
-- id is the fencing token an agent reports with.
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    campaign         TEXT NOT NULL REFERENCES campaigns (id),
    machine          TEXT NOT NULL,
    -- The id the machine asked as (FleetLock's node id), if it asked through FleetLock.
    node             TEXT,
    source           TEXT NOT NULL CHECK (source IN ('fleetlock', 'agent')),
    state            TEXT NOT NULL
                     CHECK (state IN ('running', 'lost', 'done', 'failed', 'postponed', 'interrupted', 'released')),
    started          INTEGER NOT NULL,
    deadline         INTEGER NOT NULL CHECK (deadline >= started),
    finished         INTEGER CHECK (finished >= started),
    downtime_seconds INTEGER CHECK (downtime_seconds >= 0),
    -- The operator who released it, with an audit row.
    released_by      TEXT,
    -- An agent's lease: renewed by its heartbeats; past it, the run is lost (and still holds
    -- its machine: it may be down).
    lease_until      INTEGER,
    -- What the agent reported: the exit status and the tail of the output.
    exit_status      INTEGER,
    output           TEXT,
    CHECK ((finished IS NULL) = (state IN ('running', 'lost')))
) STRICT;
CREATE UNIQUE INDEX runs_open ON runs (campaign, machine) WHERE finished IS NULL;
CREATE INDEX runs_holding ON runs (started) WHERE finished IS NULL;
CREATE INDEX runs_by_campaign ON runs (campaign, started);
CREATE INDEX runs_by_machine ON runs (machine, started);
