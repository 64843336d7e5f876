-- +goose Up
-- A repeated create with an idempotency key must be the same request: the
-- hash of the first request is kept with the key, and a different one under
-- the same key is refused rather than answered with the first document.
ALTER TABLE documents ADD COLUMN idempotency_hash bytea CHECK (length(idempotency_hash) = 32);

-- When an API key was last used, for `edobot apikey list`; written at most
-- once a minute per key.
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN last_used_at;
ALTER TABLE documents DROP COLUMN idempotency_hash;
