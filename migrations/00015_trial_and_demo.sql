-- +goose Up
-- An organisation's subscription may be a trial: the one a chat
-- registration (or `edobot org add` without a date) gives.
ALTER TABLE organisations ADD COLUMN trial boolean NOT NULL DEFAULT false;
-- A document made by `edobot demo`: its signatures were made with keys of a
-- CA that lived only in that process, so no other process can check them.
-- Every page, card and chat shows it as a demonstration.
ALTER TABLE documents ADD COLUMN demo boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE documents DROP COLUMN demo;
ALTER TABLE organisations DROP COLUMN trial;
