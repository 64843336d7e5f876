-- +goose Up
-- Views and downloads through a document's link, counted per visitor and
-- day. A visitor is a SHA-256 over the document, the day and the visitor's
-- address and user agent (or chat): never the address itself, and not the
-- same value on another day or document. The first visit of a visitor in a
-- day goes into the document's audit trail (audited), later ones only add
-- to count. No foreign key to documents: counting a visit must not lock
-- the document's row (a key-share lock would hold up a signature's
-- FOR UPDATE); documents are never deleted from the table.
CREATE TABLE link_visits (
    document_id uuid        NOT NULL,
    day         date        NOT NULL,
    visitor     bytea       NOT NULL,
    what        text        NOT NULL, -- page, original, card
    count       bigint      NOT NULL,
    first_at    timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    audited     boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (document_id, day, visitor, what)
);
CREATE INDEX link_visits_pending ON link_visits (document_id) WHERE NOT audited;

-- +goose Down
DROP TABLE link_visits;
