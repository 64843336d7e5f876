-- +goose Up
-- The outbox carries events of chats as well as of documents: a chat that
-- signed in (chat.bound) and, for the organisation's other chats, a new
-- chat acting for it (chat.joined). Such an event is about a chat user, not
-- a document; every event is about exactly one of the two.
ALTER TABLE outbox ALTER COLUMN document_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN chat_user_id bigint REFERENCES chat_users(id);
ALTER TABLE outbox ADD CONSTRAINT outbox_one_subject CHECK ((document_id IS NULL) <> (chat_user_id IS NULL));

-- +goose Down
DELETE FROM outbox WHERE chat_user_id IS NOT NULL;
ALTER TABLE outbox DROP CONSTRAINT outbox_one_subject;
ALTER TABLE outbox DROP COLUMN chat_user_id;
ALTER TABLE outbox ALTER COLUMN document_id SET NOT NULL;
