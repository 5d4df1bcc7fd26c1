-- Revoked API tokens: the row stays (the audit log and the token list name it), marked
-- when and by whom it was revoked; a revoked token authenticates nothing from then on.
ALTER TABLE tokens ADD COLUMN revoked INTEGER;
ALTER TABLE tokens ADD COLUMN revoked_by TEXT;
