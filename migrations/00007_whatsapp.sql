-- +goose Up
-- WhatsApp has no buttons for a bot's account: a screen is numbered text and
-- the person answers "2". The numbers of the last screen each chat was shown
-- live here, not in a process's memory, so that a restart or another
-- instance still understands the answer. whatsmeow keeps its device store in
-- tables of its own (whatsmeow_*), created by the library.
CREATE TABLE whatsapp_menus (
    chat_user_id bigint PRIMARY KEY REFERENCES chat_users(id),
    choices      jsonb NOT NULL DEFAULT '[]',
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE whatsapp_menus;
