-- The agents: the same as migrations/sqlite/0019_agents.sql.
CREATE TABLE agents (
    machine      TEXT PRIMARY KEY,
    token        BIGINT NOT NULL REFERENCES tokens (id),
    fleetlock_id TEXT,
    boot_id      TEXT NOT NULL,
    version      TEXT NOT NULL,
    enrolled     BIGINT NOT NULL,
    seen         BIGINT NOT NULL
);
