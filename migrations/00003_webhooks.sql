-- +goose Up
-- Where an organisation's accounting system hears of status changes. The
-- secret signs every delivery (HMAC-SHA256), so it is kept as is.
CREATE TABLE webhooks (
    org_id     bigint PRIMARY KEY REFERENCES organisations(id),
    url        text NOT NULL CHECK (url ~ '^https?://'),
    secret     text NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE webhooks;
