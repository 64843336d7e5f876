-- +goose Up
-- An outage of ИС ЭСФ as an organisation's synchronisation sees it: since
-- when its syncs have failed for reasons that pass (down, timeouts, 5xx,
-- unreadable answers), and whether its chats were told that ИС ЭСФ is
-- unavailable, so that they are told once, and told once when it is back.
ALTER TABLE esf_sync ADD COLUMN failing_since timestamptz;
ALTER TABLE esf_sync ADD COLUMN unavailable_notified boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE esf_sync DROP COLUMN unavailable_notified;
ALTER TABLE esf_sync DROP COLUMN failing_since;
