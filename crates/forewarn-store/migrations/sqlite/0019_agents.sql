-- What each machine's agent said when it last enrolled (`POST /agent/v1/enrol`): the
-- token it came with, the id it gives FleetLock (from /etc/machine-id), its boot and
-- version; when it first and last enrolled. One row a machine.
CREATE TABLE agents (
    machine      TEXT PRIMARY KEY,
    token        INTEGER NOT NULL REFERENCES tokens (id),
    fleetlock_id TEXT,
    boot_id      TEXT NOT NULL,
    version      TEXT NOT NULL,
    enrolled     INTEGER NOT NULL,
    seen         INTEGER NOT NULL
) STRICT;
