-- A slot notice's campaign is no longer checked by a foreign key. PostgreSQL checks one with
-- a trigger for every row: publishing 1.34 M slots spent 9 of its 15 seconds of inserts
-- there. Every write of notices reads its campaign in the same transaction first (and
-- checks its state), and campaigns are never deleted, so the key guarded nothing.
-- migrations/sqlite/0015 keeps SQLite's key: SQLite checks it cheaply, and dropping it would
-- rebuild the table.
ALTER TABLE slot_notices DROP CONSTRAINT slot_notices_campaign_fkey;
