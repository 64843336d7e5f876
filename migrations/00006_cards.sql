-- +goose Up
-- A document in a final status never changes, so its electronic card and its
-- version for ezSigner are made once per status and kept as blobs. Those of
-- documents still in motion are made on each request and not kept.
CREATE TABLE document_downloads (
    document_id uuid NOT NULL REFERENCES documents(id),
    kind        text NOT NULL CHECK (kind IN ('card', 'ezsigner')),
    state       text NOT NULL CHECK (state IN ('signed', 'revoked')),
    sha256      text NOT NULL REFERENCES blobs(sha256),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, kind, state)
);

-- +goose Down
DROP TABLE document_downloads;
