-- +goose Up
-- WhatsApp addresses one person by their phone number (…@s.whatsapp.net) or
-- by a hidden id (…@lid), and whatsmeow keeps the pairs it learns in
-- whatsmeow_lid_map. A WhatsApp chat user is keyed on the hidden id once it
-- is known, on the number before; two rows of one person become one.
--
-- merge_chat_users folds chat users into one and returns the one kept: the
-- one bound to an organisation, else the one whose conversation moved last,
-- else the oldest. It keeps its conversation, language, menu and binding
-- (taking the others' binding, phone, name and @username where it has none,
-- and their conversation with its language when it has none; the earliest
-- time the person wrote). The rows of every table that refers to chat users
-- (documents followed, deliveries, menus, outbox events, ИС ЭСФ tickets and
-- links) move to it, except those that would repeat one of its own under a
-- unique key (a document it already follows, a delivery it already had, a
-- conversation); the others are removed. The tables are found in the
-- catalogue, so a table added later is moved too. A row bound to another
-- organisation than the one kept loses its binding; a notice names both.
-- +goose StatementBegin
CREATE FUNCTION merge_chat_users(ids bigint[]) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    keep bigint;
    gone bigint;
    ref  record;
    idx  record;
    same text;
BEGIN
    SELECT u.id INTO keep FROM chat_users u LEFT JOIN conversations c ON c.chat_user_id = u.id
    WHERE u.id = ANY(ids)
    ORDER BY (u.bound_at IS NOT NULL OR u.iin IS NOT NULL) DESC, c.updated_at DESC NULLS LAST, u.id
    LIMIT 1;
    IF keep IS NULL THEN
        RETURN NULL;
    END IF;
    FOR gone IN SELECT id FROM chat_users WHERE id = ANY(ids) AND id <> keep ORDER BY id LOOP
        PERFORM 1 FROM chat_users k, chat_users g
        WHERE k.id = keep AND g.id = gone AND k.org_id IS NOT NULL AND g.org_id IS NOT NULL AND k.org_id <> g.org_id;
        IF FOUND THEN
            RAISE NOTICE 'merge_chat_users: chat user % bound to organisation % merged into chat user % bound to organisation %; its binding is dropped',
                gone, (SELECT org_id FROM chat_users WHERE id = gone), keep, (SELECT org_id FROM chat_users WHERE id = keep);
        END IF;
        UPDATE chat_users k SET
            iin      = CASE WHEN k.iin IS NULL AND k.bound_at IS NULL THEN g.iin ELSE k.iin END,
            org_id   = CASE WHEN k.iin IS NULL AND k.bound_at IS NULL THEN g.org_id ELSE k.org_id END,
            bound_at = CASE WHEN k.iin IS NULL AND k.bound_at IS NULL THEN g.bound_at ELSE k.bound_at END,
            phone    = CASE WHEN k.phone = '' THEN g.phone ELSE k.phone END,
            name     = CASE WHEN k.name = '' THEN g.name ELSE k.name END,
            username = CASE WHEN k.username = '' THEN g.username ELSE k.username END,
            -- the language goes with the conversation that is kept
            language = CASE WHEN NOT EXISTS (SELECT 1 FROM conversations WHERE chat_user_id = keep)
                             AND EXISTS (SELECT 1 FROM conversations WHERE chat_user_id = gone) THEN g.language ELSE k.language END,
            blocked_at = CASE WHEN k.blocked_at IS NULL OR g.blocked_at IS NULL THEN NULL ELSE greatest(k.blocked_at, g.blocked_at) END,
            created_at = least(k.created_at, g.created_at),
            wrote_at   = least(k.wrote_at, g.wrote_at) -- least ignores a NULL
        FROM chat_users g WHERE k.id = keep AND g.id = gone;
        FOR ref IN
            SELECT c.conrelid AS tbl, a.attname AS col, a.attnum AS num
            FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND c.confrelid = 'chat_users'::regclass AND cardinality(c.conkey) = 1
        LOOP
            -- Rows that would repeat one of keep's under a unique key stay
            -- behind and go: keep's own win. A unique key's NULLs repeat
            -- nothing, so its columns are compared with =.
            FOR idx IN
                SELECT i.indkey::int2[] AS cols FROM pg_index i
                WHERE i.indrelid = ref.tbl AND i.indisunique AND i.indexprs IS NULL AND i.indpred IS NULL
                  AND ref.num = ANY(i.indkey::int2[])
            LOOP
                SELECT coalesce(string_agg(format('k.%1$I = g.%1$I', a.attname), ' AND '), 'true') INTO same
                FROM pg_attribute a WHERE a.attrelid = ref.tbl AND a.attnum = ANY(idx.cols) AND a.attnum <> ref.num;
                EXECUTE format('DELETE FROM %1$s g WHERE g.%2$I = $2 AND EXISTS (SELECT 1 FROM %1$s k WHERE k.%2$I = $1 AND %3$s)',
                    ref.tbl::regclass, ref.col, same) USING keep, gone;
            END LOOP;
            EXECUTE format('UPDATE %s SET %I = $1 WHERE %I = $2', ref.tbl::regclass, ref.col, ref.col) USING keep, gone;
        END LOOP;
        DELETE FROM chat_users WHERE id = gone;
    END LOOP;
    RETURN keep;
END
$$;
-- +goose StatementEnd

-- The pairs whatsmeow learned so far (its tables exist once WhatsApp was
-- turned on): each person's rows become one, keyed on the hidden id, with
-- the number as the phone «Отправить получателю» finds them by.
-- +goose StatementBegin
DO $$
DECLARE
    pair record;
    kept bigint;
BEGIN
    IF to_regclass('whatsmeow_lid_map') IS NULL THEN
        RETURN;
    END IF;
    FOR pair IN
        SELECT m.lid, m.pn, array_agg(u.id) AS ids
        FROM whatsmeow_lid_map m
        JOIN chat_users u ON u.channel = 'whatsapp' AND u.external_id IN (m.lid || '@lid', m.pn || '@s.whatsapp.net')
        GROUP BY m.lid, m.pn
    LOOP
        kept := merge_chat_users(pair.ids);
        UPDATE chat_users SET external_id = pair.lid || '@lid',
            phone = CASE WHEN phone = '' AND pair.pn ~ '^[1-79][0-9]{9,14}$' THEN '+' || pair.pn ELSE phone END
        WHERE id = kept;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- Messages received from WhatsApp, kept from the moment they arrive until
-- they were handled: WhatsApp is told a message arrived only once it is
-- here, so a process stopped or killed mid-way loses none; the next holder
-- of the session handles what is left. Handled rows stay a while so that a
-- message WhatsApp delivers twice is handled once.
CREATE TABLE whatsapp_inbox (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text NOT NULL UNIQUE, -- sender and WhatsApp's message id
    person      text NOT NULL,        -- the chat user's key (JID)
    alias       text NOT NULL DEFAULT '', -- the person's other JID, when known
    name        text NOT NULL DEFAULT '',
    message     bytea NOT NULL,        -- waE2E.Message, protobuf
    edit        boolean NOT NULL DEFAULT false,
    received_at timestamptz NOT NULL,
    handled_at  timestamptz,
    -- what the read mark of a handled message names
    chat        text NOT NULL DEFAULT '',
    sender      text NOT NULL DEFAULT '',
    message_id  text NOT NULL DEFAULT ''
);
CREATE INDEX whatsapp_inbox_pending ON whatsapp_inbox (seq) WHERE handled_at IS NULL;
CREATE INDEX whatsapp_inbox_handled ON whatsapp_inbox (handled_at) WHERE handled_at IS NOT NULL;

-- +goose Down
-- The chat users merged stay merged: which rows were one person's two is
-- not kept, so the merge cannot be undone.
DROP TABLE whatsapp_inbox;
DROP FUNCTION merge_chat_users(bigint[]);
