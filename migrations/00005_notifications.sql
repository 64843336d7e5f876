-- +goose Up
-- One row per notification that reached a chat. A retried or rerun delivery
-- task looks here before sending, so a chat is told of an event once.
-- Reminders have no outbox row: their event id is derived from the document
-- and the day.
CREATE TABLE notification_deliveries (
    event_id     uuid NOT NULL,
    chat_user_id bigint NOT NULL REFERENCES chat_users(id),
    delivered_at timestamptz NOT NULL,
    PRIMARY KEY (event_id, chat_user_id)
);

-- The days a document's unsigned sides were reminded: at most once a day,
-- counted in Kazakhstan time.
CREATE TABLE document_reminders (
    document_id uuid NOT NULL REFERENCES documents(id),
    day         date NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, day)
);

-- The reminder scan looks for old documents still waiting for a signature.
CREATE INDEX documents_unsigned ON documents (created_at) WHERE status IN ('created', 'signing') AND deleted_at IS NULL;
-- The expiry job deletes by age.
CREATE INDEX auth_challenges_expiry ON auth_challenges (expires_at);

-- +goose Down
DROP INDEX auth_challenges_expiry;
DROP INDEX documents_unsigned;
DROP TABLE document_reminders;
DROP TABLE notification_deliveries;
