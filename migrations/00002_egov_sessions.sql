-- +goose Up
-- A signing session of the eGov Mobile / eGov Business QR protocol. Only
-- hashes of the session id (in the URL) and of the one-time bearer token
-- are kept.
CREATE TABLE egov_sessions (
    id_hash     bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    document_id uuid NOT NULL REFERENCES documents(id),
    token_hash  bytea CHECK (length(token_hash) = 32),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX egov_sessions_expiry ON egov_sessions (expires_at) WHERE used_at IS NULL;

-- +goose Down
DROP TABLE egov_sessions;
