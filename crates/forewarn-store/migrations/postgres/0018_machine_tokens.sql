-- A machine's token (`forewarn token create --machine ID`): it names the machine, whose
-- agent alone uses it, and reaches the agent's API only. NULL: an API token, as before.
ALTER TABLE tokens ADD COLUMN machine TEXT;
