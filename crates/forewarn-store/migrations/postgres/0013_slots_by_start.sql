-- Slot notices are found by (campaign, starts, target) and by nothing else: the same as
-- migrations/sqlite/0013_slots_by_start.sql. A publication appends to one index in its
-- order instead of inserting all over three.
ALTER TABLE slot_notices DROP CONSTRAINT slot_notices_pkey;
DROP INDEX slot_notices_starts;
DROP INDEX slot_notices_ends;
ALTER TABLE slot_notices ADD PRIMARY KEY (campaign, starts, target);
ALTER TABLE slot_notices ADD CHECK (ends >= starts);
