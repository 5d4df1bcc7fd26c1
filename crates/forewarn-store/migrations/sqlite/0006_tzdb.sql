-- The time zone database each start of the service resolved zones in: its tzdb release
-- (`2026f`, or `unknown` for a forced directory without one) and where it came from
-- (`bundled` or the TZif directory). When it differs from the last row, the service checks
-- every published campaign's slots against their windows again. Only grows.
CREATE TABLE tzdb_history (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    release TEXT NOT NULL,
    source  TEXT NOT NULL
) STRICT;
CREATE INDEX audit_action ON audit (action, at);
