-- +goose Up
-- What a chat needs beyond the person: the Telegram @username and phone that
-- «Отправить получателю» looks for, and whether the person blocked the bot.
ALTER TABLE chat_users
    ADD COLUMN username   text NOT NULL DEFAULT '',
    ADD COLUMN phone      text NOT NULL DEFAULT '',
    ADD COLUMN bound_at   timestamptz,
    ADD COLUMN blocked_at timestamptz;
CREATE INDEX chat_users_username ON chat_users (channel, lower(username)) WHERE username <> '';
CREATE INDEX chat_users_phone ON chat_users (phone) WHERE phone <> '';
CREATE INDEX chat_users_org ON chat_users (org_id) WHERE org_id IS NOT NULL;
CREATE INDEX chat_users_iin ON chat_users (iin) WHERE iin IS NOT NULL;

-- Where each person is in a conversation. Version is bumped by every
-- transition, and a button carries the version it was drawn for, so a tap on
-- an old screen, or the second of two quick taps, shows the current screen
-- instead of acting twice.
CREATE TABLE conversations (
    chat_user_id bigint PRIMARY KEY REFERENCES chat_users(id),
    step         text NOT NULL DEFAULT '',
    data         jsonb NOT NULL DEFAULT '{}',
    version      bigint NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The chats that follow a document: whoever created it in a chat, opened its
-- link in a chat or signed it from a chat. They, and the chat users bound to
-- the organisation of each side, are told of every change.
CREATE TABLE document_chats (
    document_id  uuid NOT NULL REFERENCES documents(id),
    chat_user_id bigint NOT NULL REFERENCES chat_users(id),
    side         text NOT NULL CHECK (side IN ('sender', 'recipient')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, chat_user_id)
);
CREATE INDEX document_chats_user ON document_chats (chat_user_id);

-- A chat user proves an IIN/BIN once by signing a random challenge, through
-- eGov (QR or deep link) or NCALayer. The public id is a bearer secret: only
-- its hash is kept, like the eGov app's one-time token.
CREATE TABLE auth_challenges (
    id_hash      bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    chat_user_id bigint NOT NULL REFERENCES chat_users(id),
    challenge    bytea NOT NULL,
    token_hash   bytea CHECK (length(token_hash) = 32),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX auth_challenges_user ON auth_challenges (chat_user_id, created_at DESC);

-- +goose Down
DROP TABLE auth_challenges;
DROP TABLE document_chats;
DROP TABLE conversations;
DROP INDEX chat_users_iin;
DROP INDEX chat_users_org;
DROP INDEX chat_users_phone;
DROP INDEX chat_users_username;
ALTER TABLE chat_users DROP COLUMN blocked_at, DROP COLUMN bound_at, DROP COLUMN phone, DROP COLUMN username;
