-- +goose Up
-- A signing through an eGov broker (SIGEX's egovQr): a document's or a
-- sign-in challenge's. Only the hash of the public id is kept. The
-- broker's URLs, QR and what the app is shown are kept so that the waiting
-- resumes after a restart. One instance waits for a session at a time: it
-- holds a lease it renews while it waits, and another instance takes over
-- only a lease that ran out (a crash) or was given back (a shutdown).
CREATE TABLE egov_broker_sessions (
    id_hash        bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    document_id    uuid REFERENCES documents(id),
    challenge_hash bytea REFERENCES auth_challenges(id_hash) ON DELETE CASCADE,
    data_url       text NOT NULL,
    sign_url       text NOT NULL,
    qr_png         bytea NOT NULL,
    mobile_link    text NOT NULL,
    business_link  text NOT NULL,
    texts          jsonb NOT NULL,
    state          text NOT NULL CHECK (state IN ('waiting', 'taken', 'signed', 'refused', 'canceled', 'expired', 'failed')),
    refusal        jsonb,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    leased_until   timestamptz NOT NULL,
    CHECK ((document_id IS NULL) <> (challenge_hash IS NULL))
);
CREATE INDEX egov_broker_sessions_unfinished ON egov_broker_sessions (leased_until) WHERE state IN ('waiting', 'taken');

-- +goose Down
DROP TABLE egov_broker_sessions;
