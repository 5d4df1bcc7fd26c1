-- A publication is written in batches, each in a transaction of its own, so that no other
-- write waits long behind one of a large fleet: first the slots (as notices of the campaign,
-- still a draft) and the messages to its contacts, under an event held back (`staging`
-- names the campaign it stages); then, in one short transaction, the campaign, its post and
-- the rest of the event, which releases it. Until then nothing of it is read: a draft's
-- notices are not, and neither are the messages of a held event. What a publication that
-- died half-way left is removed by the next publication of that campaign, or by pruning.
ALTER TABLE events ADD COLUMN staging TEXT;
CREATE INDEX events_staging ON events (staging) WHERE staging IS NOT NULL;
