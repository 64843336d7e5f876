-- +goose Up
-- The eGov app's final answer carries a backUrl that returns the person to
-- where they started signing: the chat, or the link page (NITEC's QR
-- signing text, «backUrl»). The session keeps it from its start.
ALTER TABLE egov_sessions ADD COLUMN back_url text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE egov_sessions DROP COLUMN back_url;
