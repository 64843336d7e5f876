-- +goose Up
-- The «Электронная карточка» of a document in a final status never changes,
-- so it is drawn once per status and kept as a blob. Cards of documents
-- still in motion are drawn on each request and not kept.
CREATE TABLE document_cards (
    document_id uuid NOT NULL REFERENCES documents(id),
    state       text NOT NULL CHECK (state IN ('signed', 'revoked')),
    sha256      text NOT NULL REFERENCES blobs(sha256),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, state)
);

-- +goose Down
DROP TABLE document_cards;
