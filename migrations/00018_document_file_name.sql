-- +goose Up
-- The name a document's file was uploaded under (cleaned), so that the
-- original downloads under it; '' when the client gave none.
ALTER TABLE documents ADD COLUMN file_name text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE documents DROP COLUMN file_name;
