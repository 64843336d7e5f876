package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"edobot/core"
)

var _ core.ChatStore = (*DB)(nil)

const chatUserColumns = `id, channel, external_id, name, coalesce(iin, ''), coalesce(org_id, 0), language, username, phone, blocked_at, wrote_at, created_at`

func scanChatUser(row pgx.Row, u *core.ChatUser) error {
	return row.Scan(&u.ID, &u.Channel, &u.ExternalID, &u.Name, &u.IIN, &u.OrgID, &u.Language, &u.Username, &u.Phone, &u.BlockedAt, &u.WroteAt, &u.CreatedAt)
}

// upsertChatUser creates a chat user or refreshes the stored one: a name
// given replaces the stored one (the bot writing first knows none), and a
// person who writes (wrote_at given) has unblocked the bot; the bot writing
// first to a person who blocked it leaves the block.
const upsertChatUser = `
	INSERT INTO chat_users (channel, external_id, name, language, wrote_at) VALUES ($1, $2, $3, $4, $5)
	ON CONFLICT (channel, external_id) DO UPDATE SET
		name = CASE WHEN EXCLUDED.name = '' THEN chat_users.name ELSE EXCLUDED.name END,
		blocked_at = CASE WHEN EXCLUDED.wrote_at IS NULL THEN chat_users.blocked_at END,
		wrote_at = coalesce(chat_users.wrote_at, EXCLUDED.wrote_at)
	RETURNING ` + chatUserColumns

// EnsureChatUser finds the person by channel and external id, creating the
// row on first contact. A later contact refreshes the display name and, when
// the person wrote (u.WroteAt set), clears a block: a person who writes again
// has unblocked the bot. Every
// update of every chat comes through here, so the usual case, nothing
// changed, is one read and no write.
//
// aliases are other external ids of the same person (WhatsApp's phone
// number beside its hidden id): rows stored under them are merged into one
// (merge_chat_users), which is then keyed on u.ExternalID.
func (db *DB) EnsureChatUser(ctx context.Context, u *core.ChatUser, aliases ...string) error {
	aliases = slices.DeleteFunc(slices.Clone(aliases), func(a string) bool { return a == "" || a == u.ExternalID })
	ids := append([]string{u.ExternalID}, aliases...)
	var got core.ChatUser
	rows, err := db.pool().Query(ctx, `SELECT `+chatUserColumns+` FROM chat_users WHERE channel = $1 AND external_id = ANY($2)`,
		u.Channel, ids)
	if err != nil {
		return fmt.Errorf("chat user: %w", err)
	}
	n := 0
	for rows.Next() {
		if err := scanChatUser(rows, &got); err != nil {
			rows.Close()
			return fmt.Errorf("chat user: %w", err)
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("chat user: %w", err)
	}
	if n == 1 && got.ExternalID == u.ExternalID && (u.Name == "" || got.Name == u.Name) &&
		(u.WroteAt == nil || got.BlockedAt == nil && got.WroteAt != nil) {
		*u = got
		return nil
	}
	if n > 1 || n == 1 && got.ExternalID != u.ExternalID {
		return db.mergeChatUser(ctx, u, ids)
	}
	err = scanChatUser(db.pool().QueryRow(ctx, upsertChatUser, u.Channel, u.ExternalID, u.Name, u.Language, u.WroteAt), u)
	if err != nil {
		return fmt.Errorf("chat user: %w", err)
	}
	return nil
}

// mergeChatUser makes the rows of one person under ids one, keyed on
// u.ExternalID, and loads it into u.
func (db *DB) mergeChatUser(ctx context.Context, u *core.ChatUser, ids []string) error {
	t, err := db.pool().Begin(ctx)
	if err != nil {
		return fmt.Errorf("chat user: %w", err)
	}
	defer t.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	var keep []int64
	rows, err := t.Query(ctx, `SELECT id FROM chat_users WHERE channel = $1 AND external_id = ANY($2) ORDER BY id FOR UPDATE`, u.Channel, ids)
	if err == nil {
		keep, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	}
	if err != nil {
		return fmt.Errorf("chat user: %w", err)
	}
	var id *int64
	if len(keep) > 0 {
		if err := t.QueryRow(ctx, `SELECT merge_chat_users($1)`, keep).Scan(&id); err != nil {
			return fmt.Errorf("merge chat users %v: %w", keep, err)
		}
	}
	if id == nil { // merged away by another transaction meanwhile
		err = scanChatUser(t.QueryRow(ctx, upsertChatUser, u.Channel, u.ExternalID, u.Name, u.Language, u.WroteAt), u)
	} else {
		err = scanChatUser(t.QueryRow(ctx, `UPDATE chat_users SET external_id = $2, name = CASE WHEN $3 = '' THEN name ELSE $3 END,
				blocked_at = CASE WHEN $4::timestamptz IS NULL THEN blocked_at END, wrote_at = coalesce(wrote_at, $4)
			WHERE id = $1 RETURNING `+chatUserColumns, *id, u.ExternalID, u.Name, u.WroteAt), u)
	}
	if err != nil {
		return fmt.Errorf("chat user: %w", err)
	}
	if err := t.Commit(ctx); err != nil {
		return fmt.Errorf("chat user: %w", err)
	}
	return nil
}

// ChatUserByID reads one chat user.
func (db *DB) ChatUserByID(ctx context.Context, id int64) (*core.ChatUser, error) {
	var u core.ChatUser
	err := scanChatUser(db.pool().QueryRow(ctx, `SELECT `+chatUserColumns+` FROM chat_users WHERE id = $1`, id), &u)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("chat user %d: %w", id, err)
	}
	return &u, nil
}

// ChatUserByHandle finds the most recent person of a channel with that
// @username (case-insensitive) or phone.
func (db *DB) ChatUserByHandle(ctx context.Context, channel, username, phone string) (*core.ChatUser, error) {
	if username == "" && phone == "" {
		return nil, core.ErrNotFound
	}
	var u core.ChatUser
	err := scanChatUser(db.pool().QueryRow(ctx, `SELECT `+chatUserColumns+` FROM chat_users
		WHERE channel = $1 AND (($2 <> '' AND lower(username) = lower($2)) OR ($3 <> '' AND phone = $3))
		ORDER BY created_at DESC LIMIT 1`, channel, username, phone), &u)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("chat user by handle: %w", err)
	}
	return &u, nil
}

// SetChatContact keeps the @username and phone the messenger reported.
func (db *DB) SetChatContact(ctx context.Context, id int64, username, phone string) error {
	_, err := db.pool().Exec(ctx, `UPDATE chat_users SET username = $2, phone = CASE WHEN $3 = '' THEN phone ELSE $3 END WHERE id = $1`,
		id, username, phone)
	if err != nil {
		return fmt.Errorf("set chat contact: %w", err)
	}
	return nil
}

// BindChatUser records the IIN and organisation a person proved, without
// telling any chat (core's sign-in binds in a transaction, with its events).
func (db *DB) BindChatUser(ctx context.Context, id int64, iin string, orgID int64, at time.Time) error {
	return bindChatUser(ctx, db.pool(), id, iin, orgID, at)
}

// BindChatUser is DB.BindChatUser within the transaction.
func (t *tx) BindChatUser(ctx context.Context, id int64, iin string, orgID int64, at time.Time) error {
	return bindChatUser(ctx, t.tx, id, iin, orgID, at)
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func bindChatUser(ctx context.Context, q execer, id int64, iin string, orgID int64, at time.Time) error {
	tag, err := q.Exec(ctx, `UPDATE chat_users SET iin = $2, org_id = $3, bound_at = $4 WHERE id = $1`, id, iin, orgID, at)
	if err != nil {
		return fmt.Errorf("bind chat user: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return core.ErrNotFound
	}
	return nil
}

// OrgChatUsers lists the chats acting for an organisation.
func (db *DB) OrgChatUsers(ctx context.Context, orgID int64) ([]core.ChatUser, error) {
	rows, err := db.pool().Query(ctx, `SELECT `+chatUserColumns+` FROM chat_users WHERE org_id = $1 AND blocked_at IS NULL ORDER BY id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("chats of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var out []core.ChatUser
	for rows.Next() {
		var u core.ChatUser
		if err := scanChatUser(rows, &u); err != nil {
			return nil, fmt.Errorf("chats of organisation %d: %w", orgID, err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// SetChatLanguage stores the language the person chose.
func (db *DB) SetChatLanguage(ctx context.Context, id int64, lang string) error {
	tag, err := db.pool().Exec(ctx, `UPDATE chat_users SET language = $2 WHERE id = $1`, id, lang)
	if err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return core.ErrNotFound
	}
	return nil
}

// MarkChatBlocked stops notifications to the chat.
func (db *DB) MarkChatBlocked(ctx context.Context, id int64, at time.Time) error {
	_, err := db.pool().Exec(ctx, `UPDATE chat_users SET blocked_at = $2 WHERE id = $1 AND blocked_at IS NULL`, id, at)
	if err != nil {
		return fmt.Errorf("mark chat blocked: %w", err)
	}
	return nil
}

// FollowDocument records a chat that follows a document.
func (db *DB) FollowDocument(ctx context.Context, documentID uuid.UUID, chatUserID int64, side core.Side) error {
	_, err := db.pool().Exec(ctx, `INSERT INTO document_chats (document_id, chat_user_id, side) VALUES ($1, $2, $3)
		ON CONFLICT (document_id, chat_user_id) DO NOTHING`, documentID, chatUserID, string(side))
	if err != nil {
		return fmt.Errorf("follow document: %w", err)
	}
	return nil
}

// Following tells the side a chat follows a document from.
func (db *DB) Following(ctx context.Context, documentID uuid.UUID, chatUserID int64) (core.Side, bool, error) {
	var side string
	err := db.pool().QueryRow(ctx, `SELECT side FROM document_chats WHERE document_id = $1 AND chat_user_id = $2`,
		documentID, chatUserID).Scan(&side)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("following: %w", err)
	}
	return core.Side(side), true, nil
}

// DocumentChats lists the chats to tell of a document's change. A chat
// bound to the sender's organisation sees the sender's side, one bound to
// the recipient's number (or whose person has that IIN) the recipient's; a
// follower keeps the side it followed from. A person is listed once, with the side found first.
func (db *DB) DocumentChats(ctx context.Context, d *core.Document) ([]core.DocumentChat, error) {
	rows, err := db.pool().Query(ctx, `
		SELECT DISTINCT ON (u.id) u.id, u.channel, u.external_id, u.name, coalesce(u.iin, ''), coalesce(u.org_id, 0), u.language,
			u.username, u.phone, u.blocked_at, u.wrote_at, u.created_at, c.side FROM (
			-- A document addressed to a person's own IIN (an employee's) is
			-- theirs to sign, even when they work for the sender.
			SELECT id AS chat_user_id, 'recipient' AS side, 0 AS rank FROM chat_users WHERE iin = $3
			UNION ALL
			SELECT chat_user_id, side, 1 FROM document_chats WHERE document_id = $1
			UNION ALL
			SELECT id, 'sender', 2 FROM chat_users WHERE org_id = $2
			UNION ALL
			SELECT cu.id, 'recipient', 3 FROM chat_users cu JOIN organisations o ON o.id = cu.org_id WHERE o.number = $3
		) c JOIN chat_users u ON u.id = c.chat_user_id
		WHERE u.blocked_at IS NULL
		ORDER BY u.id, c.rank`, d.ID, d.SenderOrgID, d.RecipientNumber)
	if err != nil {
		return nil, fmt.Errorf("document chats: %w", err)
	}
	defer rows.Close()
	var out []core.DocumentChat
	for rows.Next() {
		var c core.DocumentChat
		u := &c.User
		var side string
		if err := rows.Scan(&u.ID, &u.Channel, &u.ExternalID, &u.Name, &u.IIN, &u.OrgID, &u.Language, &u.Username, &u.Phone, &u.BlockedAt, &u.WroteAt, &u.CreatedAt, &side); err != nil {
			return nil, fmt.Errorf("document chats: %w", err)
		}
		c.Side = core.Side(side)
		out = append(out, c)
	}
	return out, rows.Err()
}
