-- Slot progress: whether a slot of a published campaign was told started and finished.
-- Until machine agents report real times, a slot counts as started once its planned start
-- has passed and as finished once its planned end has passed. A slot that moves to
-- another time starts (and finishes) again.
ALTER TABLE slot_notices ADD COLUMN started INTEGER NOT NULL DEFAULT 0 CHECK (started IN (0, 1));
ALTER TABLE slot_notices ADD COLUMN finished INTEGER NOT NULL DEFAULT 0 CHECK (finished IN (0, 1));
CREATE INDEX slot_notices_ends ON slot_notices (ends);
