-- Components follow the inventory: one the latest inventory no longer names is retired (when,
-- in microseconds), not deleted, since posts and subscribers still name it. A retired
-- component is off the status page and the subscribe form; it comes back (NULL) when an
-- inventory names it again.
ALTER TABLE components ADD COLUMN retired INTEGER;
