-- +goose Up
-- One-time links of ИС ЭСФ opened from a chat: the page where a manager
-- enters the cabinet password, and the signing of a ticket (the eGov app or
-- the NCALayer page), with the ticket to sign. Only the SHA-256 of a link's
-- secret is kept, as for sign-in challenges; token_hash is the eGov app's
-- bearer token.
CREATE TABLE esf_links (
    id_hash      bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    kind         text NOT NULL CHECK (kind IN ('password', 'ticket')),
    chat_user_id bigint NOT NULL REFERENCES chat_users(id) ON DELETE CASCADE,
    data         text NOT NULL DEFAULT '',
    token_hash   bytea CHECK (length(token_hash) = 32),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX esf_links_expiry ON esf_links (expires_at);

-- +goose Down
DROP TABLE esf_links;
