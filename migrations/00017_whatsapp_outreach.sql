-- +goose Up
-- When a chat last wrote to the bot. A WhatsApp chat the bot opened itself
-- («Отправить получателю» to a number that never wrote) has none: it gets no
-- reminders, and a first message to it counts against the cold-outreach
-- budgets. Telegram chats always wrote first; WhatsApp chats that have a
-- conversation or a menu did.
ALTER TABLE chat_users ADD COLUMN wrote_at timestamptz;
UPDATE chat_users SET wrote_at = created_at
    WHERE channel = 'telegram'
       OR id IN (SELECT chat_user_id FROM conversations)
       OR id IN (SELECT chat_user_id FROM whatsapp_menus);

-- A delivery the messenger refused for good (WhatsApp's «restricted»
-- answers) is recorded with its reason, so it is not tried again.
ALTER TABLE notification_deliveries ADD COLUMN failure text;

-- First messages to WhatsApp numbers that never wrote to the bot: what the
-- daily budgets (per bot account, with its warm-up, and per organisation)
-- count, and what keeps one text from going to many numbers.
CREATE TABLE whatsapp_outreach (
    id          bigserial PRIMARY KEY,
    account     text NOT NULL,
    org_id      bigint NOT NULL REFERENCES organisations(id),
    phone       text NOT NULL,
    text_sha256 bytea NOT NULL,
    sent_at     timestamptz NOT NULL
);
CREATE INDEX whatsapp_outreach_account ON whatsapp_outreach (account, sent_at);
CREATE INDEX whatsapp_outreach_org ON whatsapp_outreach (org_id, sent_at);
CREATE INDEX whatsapp_outreach_text ON whatsapp_outreach (text_sha256, sent_at);

-- Organisations whose first messages WhatsApp refused: no more until then.
CREATE TABLE whatsapp_outreach_pauses (
    org_id    bigint PRIMARY KEY REFERENCES organisations(id),
    until     timestamptz NOT NULL,
    reason    text NOT NULL,
    paused_at timestamptz NOT NULL
);

-- Answers of WhatsApp's «is this number on WhatsApp?», kept so a number is
-- not asked about again and again.
CREATE TABLE whatsapp_lookups (
    phone       text PRIMARY KEY,
    jid         text NOT NULL DEFAULT '',
    on_whatsapp boolean NOT NULL,
    checked_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE whatsapp_lookups;
DROP TABLE whatsapp_outreach_pauses;
DROP TABLE whatsapp_outreach;
ALTER TABLE notification_deliveries DROP COLUMN failure;
ALTER TABLE chat_users DROP COLUMN wrote_at;
