-- +goose Up
-- ИС ЭСФ: the cabinet password of each person who connected an
-- organisation (sealed with AES-GCM), the signed tickets that open sessions,
-- the incoming invoices read so far, where the updates stream was read to,
-- and the calls made each day.
CREATE TABLE esf_credentials (
    org_id     bigint NOT NULL REFERENCES organisations(id),
    iin        text NOT NULL CHECK (iin ~ '^[0-9]{12}$'),
    sealed     bytea NOT NULL,
    nonce      bytea NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, iin)
);

CREATE TABLE esf_tickets (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       bigint NOT NULL REFERENCES organisations(id),
    iin          text NOT NULL CHECK (iin ~ '^[0-9]{12}$'),
    chat_user_id bigint REFERENCES chat_users(id),
    key_serial   text NOT NULL,
    key_kind     text NOT NULL,
    certificate  text NOT NULL, -- base64 DER, as closeSessionByCredentials takes it
    signed_xml   text NOT NULL,
    expires_at   timestamptz NOT NULL,
    state        text NOT NULL CHECK (state IN ('active', 'dead', 'ended')),
    created_at   timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX esf_tickets_active ON esf_tickets (org_id, expires_at) WHERE state = 'active';

-- One row per organisation that ever connected.
CREATE TABLE esf_sync (
    org_id          bigint PRIMARY KEY REFERENCES organisations(id),
    last_event_date timestamptz,
    last_invoice_id bigint NOT NULL DEFAULT 0,
    last_sync_at    timestamptz,
    paused_notified boolean NOT NULL DEFAULT false,
    warned_ticket   bigint -- the ticket whose expiry was announced
);

-- One row per person: ИС ЭСФ keeps one open session per person and opens
-- at most one every five minutes, whichever organisation it is for.
CREATE TABLE esf_people (
    iin            text PRIMARY KEY CHECK (iin ~ '^[0-9]{12}$'),
    last_opened_at timestamptz,
    busy_until     timestamptz
);

CREATE TABLE esf_invoices (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id              bigint NOT NULL REFERENCES organisations(id),
    esf_id              bigint NOT NULL,
    registration_number text NOT NULL,
    num                 text NOT NULL,
    issued              text NOT NULL, -- dd.MM.yyyy, as the invoice has it
    seller_name         text NOT NULL,
    seller_bin          text NOT NULL,
    total               text NOT NULL, -- a decimal, as the invoice has it
    currency            text NOT NULL,
    status              text NOT NULL,
    updated_at          timestamptz NOT NULL,
    UNIQUE (org_id, esf_id)
);

CREATE TABLE esf_calls (
    org_id bigint NOT NULL REFERENCES organisations(id),
    day    date NOT NULL,
    calls  bigint NOT NULL,
    PRIMARY KEY (org_id, day)
);

-- The outbox carries an organisation's ИС ЭСФ events (esf.*) too; every
-- event is about exactly one subject.
ALTER TABLE outbox ADD COLUMN org_id bigint REFERENCES organisations(id);
ALTER TABLE outbox DROP CONSTRAINT outbox_one_subject;
ALTER TABLE outbox ADD CONSTRAINT outbox_one_subject CHECK (num_nonnulls(document_id, chat_user_id, org_id) = 1);

-- +goose Down
DELETE FROM outbox WHERE org_id IS NOT NULL;
ALTER TABLE outbox DROP CONSTRAINT outbox_one_subject;
ALTER TABLE outbox ADD CONSTRAINT outbox_one_subject CHECK ((document_id IS NULL) <> (chat_user_id IS NULL));
ALTER TABLE outbox DROP COLUMN org_id;
DROP TABLE esf_calls;
DROP TABLE esf_invoices;
DROP TABLE esf_people;
DROP TABLE esf_sync;
DROP TABLE esf_tickets;
DROP TABLE esf_credentials;
