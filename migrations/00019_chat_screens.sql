-- +goose Up
-- The message whose buttons are a chat's current screen: a newer screen
-- takes them away, on whichever instance it is drawn, after a restart too.
CREATE TABLE chat_screens (
    channel     text NOT NULL,
    external_id text NOT NULL,
    message_id  bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, external_id)
);

-- +goose Down
DROP TABLE chat_screens;
