-- +goose Up
-- The CA certificates signatures must chain to, as downloaded from NCA
-- (origin 'list': the configured list of published certificates) or from a
-- certificate's AIA caIssuers URL (origin 'aia': a missing intermediate),
-- each checked before it was kept. They live here so that a restart without
-- internet still trusts them. One row per URL: what NCA publishes there now
-- replaces what it published before.
CREATE TABLE trusted_certificates (
    source_url text PRIMARY KEY,
    origin     text NOT NULL CHECK (origin IN ('list', 'aia')),
    kind       text NOT NULL CHECK (kind IN ('root', 'intermediate')),
    sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    subject    text NOT NULL,
    algorithm  text NOT NULL,
    not_before timestamptz NOT NULL,
    not_after  timestamptz NOT NULL,
    der        bytea NOT NULL,
    -- fetched_at: the last download that brought these bytes; changed_at:
    -- the first.
    fetched_at timestamptz NOT NULL,
    changed_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE trusted_certificates;
