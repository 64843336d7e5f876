-- +goose Up
CREATE TABLE organisations (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number             text NOT NULL UNIQUE CHECK (number ~ '^[0-9]{12}$'),
    name               text NOT NULL CHECK (name <> ''),
    subscription_until date,
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id     bigint NOT NULL REFERENCES organisations(id),
    key_hash   bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    prefix     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE TABLE chat_users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel     text NOT NULL CHECK (channel IN ('telegram', 'whatsapp')),
    external_id text NOT NULL,
    name        text NOT NULL DEFAULT '',
    iin         text CHECK (iin ~ '^[0-9]{12}$'),
    org_id      bigint REFERENCES organisations(id),
    language    text NOT NULL DEFAULT 'ru' CHECK (language IN ('ru', 'kk', 'en')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel, external_id)
);

CREATE TABLE parties (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       bigint NOT NULL REFERENCES organisations(id),
    kind         text NOT NULL CHECK (kind IN ('employee', 'counterparty')),
    number       text NOT NULL CHECK (number ~ '^[0-9]{12}$'),
    name         text NOT NULL,
    phone        text NOT NULL DEFAULT '',
    telegram     text NOT NULL DEFAULT '',
    whatsapp     text NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, number)
);

-- Files are content-addressed and written once; chunks keep a 15 MB upload
-- from ever being one value in memory.
CREATE TABLE blobs (
    sha256     text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size       bigint NOT NULL CHECK (size >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE blob_chunks (
    sha256 text NOT NULL REFERENCES blobs(sha256),
    seq    int NOT NULL,
    data   bytea NOT NULL,
    PRIMARY KEY (sha256, seq)
);

CREATE TABLE documents (
    id                    uuid PRIMARY KEY,
    sender_org_id         bigint NOT NULL REFERENCES organisations(id),
    sender_number         text NOT NULL,
    sender_name           text NOT NULL,
    recipient_party_id    bigint NOT NULL REFERENCES parties(id),
    recipient_kind        text NOT NULL CHECK (recipient_kind IN ('employee', 'counterparty')),
    recipient_number      text NOT NULL CHECK (recipient_number ~ '^[0-9]{12}$'),
    recipient_name        text NOT NULL,
    type                  text NOT NULL CHECK (type IN ('waybill', 'act_waybill', 'power_of_attorney', 'contract',
                                                        'employment_contract', 'reconciliation_act', 'other')),
    number                text NOT NULL CHECK (number <> ''),
    date                  date NOT NULL,
    file_sha256           text NOT NULL REFERENCES blobs(sha256),
    file_size             bigint NOT NULL,
    file_pages            int NOT NULL CHECK (file_pages > 0),
    status                text NOT NULL CHECK (status IN ('created', 'signing', 'signed', 'revoked')),
    link_token            text NOT NULL,
    link_hash             bytea NOT NULL UNIQUE,
    base_ref              text,
    idempotency_key       text,
    copied_from           uuid REFERENCES documents(id),
    sender_signed_at      timestamptz,
    recipient_signed_at   timestamptz,
    sender_archived_at    timestamptz,
    recipient_archived_at timestamptz,
    deleted_at            timestamptz,
    version               bigint NOT NULL,
    audit_seq             bigint NOT NULL,
    audit_head            bytea NOT NULL,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    UNIQUE (sender_org_id, idempotency_key),
    CHECK (recipient_number <> sender_number),
    -- The status machine's invariants, kept by the database too.
    CHECK ((status = 'signed') = (sender_signed_at IS NOT NULL AND recipient_signed_at IS NOT NULL)
           OR status = 'revoked'),
    CHECK (status <> 'created' OR (sender_signed_at IS NULL AND recipient_signed_at IS NULL)),
    CHECK (status <> 'signing' OR (sender_signed_at IS NULL) <> (recipient_signed_at IS NULL)),
    CHECK (deleted_at IS NULL OR status = 'created'),
    CHECK ((sender_archived_at IS NULL AND recipient_archived_at IS NULL) OR status IN ('signed', 'revoked'))
);

-- One live EDO document per accounting document.
CREATE UNIQUE INDEX documents_base_ref ON documents (sender_org_id, base_ref)
    WHERE base_ref IS NOT NULL AND deleted_at IS NULL AND status <> 'revoked';
CREATE INDEX documents_sender ON documents (sender_org_id, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX documents_recipient ON documents (recipient_number, created_at DESC) WHERE deleted_at IS NULL;

CREATE TABLE signatures (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id  uuid NOT NULL REFERENCES documents(id),
    side         text NOT NULL CHECK (side IN ('sender', 'recipient')),
    iin          text NOT NULL DEFAULT '',
    bin          text NOT NULL DEFAULT '',
    full_name    text NOT NULL DEFAULT '',
    organisation text NOT NULL DEFAULT '',
    cert_serial  text NOT NULL DEFAULT '',
    issuer       text NOT NULL DEFAULT '',
    not_before   timestamptz,
    not_after    timestamptz,
    key_kind     text NOT NULL DEFAULT '',
    cms          bytea NOT NULL,
    signed_at    timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL,
    UNIQUE (document_id, side)
);

CREATE TABLE audit_events (
    document_id uuid NOT NULL REFERENCES documents(id),
    seq         bigint NOT NULL CHECK (seq > 0),
    kind        text NOT NULL,
    actor       text NOT NULL,
    at          timestamptz NOT NULL,
    details     text NOT NULL,
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL,
    PRIMARY KEY (document_id, seq)
);

-- The trail is append-only for the application; the hash chain detects what
-- someone with more rights changes anyway.
-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TABLE outbox (
    id          uuid PRIMARY KEY,
    document_id uuid NOT NULL REFERENCES documents(id),
    kind        text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    sent_at     timestamptz
);
CREATE INDEX outbox_unsent ON outbox (created_at) WHERE sent_at IS NULL;

-- +goose Down
DROP TABLE outbox;
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE signatures;
DROP TABLE documents;
DROP TABLE blob_chunks;
DROP TABLE blobs;
DROP TABLE parties;
DROP TABLE chat_users;
DROP TABLE api_keys;
DROP TABLE organisations;
