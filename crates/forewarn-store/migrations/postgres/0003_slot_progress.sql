-- Slot progress, on PostgreSQL: the same columns as migrations/sqlite/0003_slot_progress.sql.
-- Until machine agents report real times, a slot counts as started once its planned start
-- has passed and as finished once its planned end has passed. A slot that moves to
-- another time starts (and finishes) again.
ALTER TABLE slot_notices ADD COLUMN started BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE slot_notices ADD COLUMN finished BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX slot_notices_ends ON slot_notices (ends);
