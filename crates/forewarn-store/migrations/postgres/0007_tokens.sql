-- Revoked API tokens, on PostgreSQL: the same columns as migrations/sqlite/0007_tokens.sql.
-- The row stays (the audit log and the token list name it), marked when and by whom it was
-- revoked; a revoked token authenticates nothing from then on.
ALTER TABLE tokens ADD COLUMN revoked BIGINT;
ALTER TABLE tokens ADD COLUMN revoked_by TEXT;
