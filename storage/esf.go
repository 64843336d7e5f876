package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"edobot/core"
)

var _ core.ESFStore = (*DB)(nil)

// InESFTx runs fn in a transaction of the invoice use cases.
func (db *DB) InESFTx(ctx context.Context, fn func(tx core.ESFTx) error) error {
	return db.InTx(ctx, func(t core.Tx) error { return fn(&esfTx{tx: t.(*tx)}) })
}

// esfTx implements core.ESFTx.
type esfTx struct{ *tx }

func (db *DB) ESFPassword(ctx context.Context, orgID int64, iin string) (sealed, nonce []byte, err error) {
	err = db.pool().QueryRow(ctx, `SELECT sealed, nonce FROM esf_credentials WHERE org_id = $1 AND iin = $2`, orgID, iin).Scan(&sealed, &nonce)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, core.ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("esf password: %w", err)
	}
	return sealed, nonce, nil
}

func (t *esfTx) SaveESFPassword(ctx context.Context, orgID int64, iin string, sealed, nonce []byte, at time.Time) error {
	_, err := t.tx.tx.Exec(ctx, `INSERT INTO esf_credentials (org_id, iin, sealed, nonce, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (org_id, iin) DO UPDATE SET sealed = EXCLUDED.sealed, nonce = EXCLUDED.nonce, updated_at = EXCLUDED.updated_at`,
		orgID, iin, sealed, nonce, at)
	if err != nil {
		return fmt.Errorf("save esf password: %w", err)
	}
	return nil
}

func (t *esfTx) DeleteESFPassword(ctx context.Context, orgID int64, iin string) (bool, error) {
	tag, err := t.tx.tx.Exec(ctx, `DELETE FROM esf_credentials WHERE org_id = $1 AND iin = $2`, orgID, iin)
	if err != nil {
		return false, fmt.Errorf("delete esf password: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

const esfTicketColumns = `t.id, t.org_id, t.iin, coalesce(t.chat_user_id, 0), coalesce(u.name, ''), t.key_serial, t.key_kind,
	t.certificate, t.signed_xml, t.expires_at, t.state, t.created_at, t.ended_at`

func scanESFTicket(r pgx.CollectableRow) (core.ESFTicket, error) {
	var t core.ESFTicket
	err := r.Scan(&t.ID, &t.OrgID, &t.IIN, &t.ChatUserID, &t.Name, &t.KeySerial, &t.KeyKind, &t.Certificate, &t.SignedXML,
		&t.ExpiresAt, &t.State, &t.CreatedAt, &t.EndedAt)
	return t, err
}

func (db *DB) ActiveESFTickets(ctx context.Context, orgID int64, now time.Time) ([]core.ESFTicket, error) {
	rows, err := db.pool().Query(ctx, `SELECT `+esfTicketColumns+` FROM esf_tickets t LEFT JOIN chat_users u ON u.id = t.chat_user_id
		WHERE t.org_id = $1 AND t.state = 'active' AND t.expires_at > $2 ORDER BY t.expires_at DESC, t.id DESC`, orgID, now)
	if err != nil {
		return nil, fmt.Errorf("active esf tickets: %w", err)
	}
	ts, err := pgx.CollectRows(rows, scanESFTicket)
	if err != nil {
		return nil, fmt.Errorf("active esf tickets: %w", err)
	}
	return ts, nil
}

const esfInvoiceColumns = `org_id, esf_id, registration_number, num, issued, seller_name, seller_bin, total, currency, status, updated_at`

func (db *DB) ESFInvoice(ctx context.Context, orgID, esfID int64) (*core.ESFInvoice, error) {
	var v core.ESFInvoice
	err := db.pool().QueryRow(ctx, `SELECT `+esfInvoiceColumns+` FROM esf_invoices WHERE org_id = $1 AND esf_id = $2`, orgID, esfID).
		Scan(&v.OrgID, &v.ESFID, &v.RegistrationNumber, &v.Number, &v.Date, &v.SellerName, &v.SellerBIN, &v.Total, &v.Currency, &v.Status, &v.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("esf invoice: %w", err)
	}
	return &v, nil
}

func scanESFSync(orgID int64, r pgx.Row) (core.ESFSync, error) {
	s := core.ESFSync{OrgID: orgID}
	var date *time.Time
	var warned *int64
	err := r.Scan(&date, &s.Cursor.LastInvoiceID, &s.LastSyncAt, &s.PausedNotified, &warned, &s.FailingSince, &s.UnavailableNotified)
	if date != nil {
		s.Cursor.LastEventDate = *date
	}
	if warned != nil {
		s.WarnedTicketID = *warned
	}
	return s, err
}

const esfSyncColumns = `last_event_date, last_invoice_id, last_sync_at, paused_notified, warned_ticket, failing_since, unavailable_notified`

func (db *DB) ESFSyncState(ctx context.Context, orgID int64) (core.ESFSync, error) {
	s, err := scanESFSync(orgID, db.pool().QueryRow(ctx, `SELECT `+esfSyncColumns+` FROM esf_sync WHERE org_id = $1`, orgID))
	if errors.Is(err, pgx.ErrNoRows) {
		return core.ESFSync{OrgID: orgID}, nil
	}
	if err != nil {
		return s, fmt.Errorf("esf sync state: %w", err)
	}
	return s, nil
}

func (db *DB) ESFOrgsToSync(ctx context.Context, now time.Time) ([]int64, error) {
	rows, err := db.pool().Query(ctx, `SELECT DISTINCT t.org_id FROM esf_tickets t LEFT JOIN esf_sync s ON s.org_id = t.org_id
		WHERE (t.state = 'active' AND t.expires_at > $1) OR NOT coalesce(s.paused_notified, false) ORDER BY 1`, now)
	if err != nil {
		return nil, fmt.Errorf("esf organisations: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("esf organisations: %w", err)
	}
	return ids, nil
}

func (db *DB) ClaimESFSession(ctx context.Context, iin string, now time.Time, gap, hold time.Duration) (bool, error) {
	var ok bool
	err := db.pool().QueryRow(ctx, `INSERT INTO esf_people AS p (iin, busy_until) VALUES ($1, $2) ON CONFLICT (iin) DO UPDATE
		SET busy_until = EXCLUDED.busy_until
		WHERE (p.busy_until IS NULL OR p.busy_until <= $3) AND (p.last_opened_at IS NULL OR p.last_opened_at <= $4)
		RETURNING true`, iin, now.Add(hold), now, now.Add(-gap)).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim esf session: %w", err)
	}
	return ok, nil
}

func (db *DB) ReleaseESFSession(ctx context.Context, iin string, openedAt time.Time) error {
	var opened *time.Time
	if !openedAt.IsZero() {
		opened = &openedAt
	}
	_, err := db.pool().Exec(ctx, `UPDATE esf_people SET busy_until = NULL, last_opened_at = coalesce($2, last_opened_at) WHERE iin = $1`, iin, opened)
	if err != nil {
		return fmt.Errorf("release esf session: %w", err)
	}
	return nil
}

func (db *DB) AddESFCalls(ctx context.Context, orgID int64, day time.Time, n int) error {
	_, err := db.pool().Exec(ctx, `INSERT INTO esf_calls (org_id, day, calls) VALUES ($1, $2, $3)
		ON CONFLICT (org_id, day) DO UPDATE SET calls = esf_calls.calls + EXCLUDED.calls`, orgID, day, n)
	if err != nil {
		return fmt.Errorf("count esf calls: %w", err)
	}
	return nil
}

func (db *DB) ESFCallsOf(ctx context.Context, orgID int64, day time.Time) (int64, error) {
	var n int64
	err := db.pool().QueryRow(ctx, `SELECT calls FROM esf_calls WHERE org_id = $1 AND day = $2`, orgID, day).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("esf calls of %d: %w", orgID, err)
	}
	return n, nil
}

func (db *DB) ESFCallsOn(ctx context.Context, day time.Time) (map[string]int64, error) {
	rows, err := db.pool().Query(ctx, `SELECT o.number, c.calls FROM esf_calls c JOIN organisations o ON o.id = c.org_id WHERE c.day = $1`, day)
	if err != nil {
		return nil, fmt.Errorf("esf calls: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var bin string
		var n int64
		if err := rows.Scan(&bin, &n); err != nil {
			return nil, fmt.Errorf("esf calls: %w", err)
		}
		out[bin] = n
	}
	return out, rows.Err()
}

func (t *esfTx) LockESFSync(ctx context.Context, orgID int64) (core.ESFSync, error) {
	if _, err := t.tx.tx.Exec(ctx, `INSERT INTO esf_sync (org_id) VALUES ($1) ON CONFLICT DO NOTHING`, orgID); err != nil {
		return core.ESFSync{}, fmt.Errorf("lock esf sync: %w", err)
	}
	s, err := scanESFSync(orgID, t.tx.tx.QueryRow(ctx, `SELECT `+esfSyncColumns+` FROM esf_sync WHERE org_id = $1 FOR UPDATE`, orgID))
	if err != nil {
		return s, fmt.Errorf("lock esf sync: %w", err)
	}
	return s, nil
}

func (t *esfTx) SaveESFSync(ctx context.Context, s core.ESFSync) error {
	var date *time.Time
	if !s.Cursor.LastEventDate.IsZero() {
		date = &s.Cursor.LastEventDate
	}
	var warned *int64
	if s.WarnedTicketID != 0 {
		warned = &s.WarnedTicketID
	}
	_, err := t.tx.tx.Exec(ctx, `UPDATE esf_sync SET last_event_date = $2, last_invoice_id = $3, last_sync_at = $4,
		paused_notified = $5, warned_ticket = $6, failing_since = $7, unavailable_notified = $8 WHERE org_id = $1`,
		s.OrgID, date, s.Cursor.LastInvoiceID, s.LastSyncAt, s.PausedNotified, warned, s.FailingSince, s.UnavailableNotified)
	if err != nil {
		return fmt.Errorf("save esf sync: %w", err)
	}
	return nil
}

func (t *esfTx) InsertESFTicket(ctx context.Context, tk *core.ESFTicket) error {
	var chat *int64
	if tk.ChatUserID != 0 {
		chat = &tk.ChatUserID
	}
	err := t.tx.tx.QueryRow(ctx, `INSERT INTO esf_tickets (org_id, iin, chat_user_id, key_serial, key_kind, certificate, signed_xml, expires_at, state, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		tk.OrgID, tk.IIN, chat, tk.KeySerial, tk.KeyKind, tk.Certificate, tk.SignedXML, tk.ExpiresAt, tk.State, tk.CreatedAt).Scan(&tk.ID)
	if err != nil {
		return fmt.Errorf("insert esf ticket: %w", err)
	}
	return nil
}

func (t *esfTx) SetESFTicketState(ctx context.Context, orgID, id int64, state core.ESFTicketState, at time.Time) (bool, error) {
	tag, err := t.tx.tx.Exec(ctx, `UPDATE esf_tickets SET state = $3, ended_at = $4 WHERE org_id = $1 AND id = $2 AND state = 'active'`,
		orgID, id, state, at)
	if err != nil {
		return false, fmt.Errorf("esf ticket state: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

func (t *esfTx) EndESFTicketsOf(ctx context.Context, orgID int64, iin string, at time.Time) error {
	_, err := t.tx.tx.Exec(ctx, `UPDATE esf_tickets SET state = 'ended', ended_at = $3 WHERE org_id = $1 AND iin = $2 AND state = 'active'`,
		orgID, iin, at)
	if err != nil {
		return fmt.Errorf("end esf tickets: %w", err)
	}
	return nil
}

func (t *esfTx) UpsertESFInvoice(ctx context.Context, v *core.ESFInvoice) (string, error) {
	var prev *string
	err := t.tx.tx.QueryRow(ctx, `WITH old AS (SELECT status FROM esf_invoices WHERE org_id = $1 AND esf_id = $2)
		INSERT INTO esf_invoices (`+esfInvoiceColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (org_id, esf_id) DO UPDATE SET registration_number = EXCLUDED.registration_number, num = EXCLUDED.num,
			issued = EXCLUDED.issued, seller_name = EXCLUDED.seller_name, seller_bin = EXCLUDED.seller_bin, total = EXCLUDED.total,
			currency = EXCLUDED.currency, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
		RETURNING (SELECT status FROM old)`,
		v.OrgID, v.ESFID, v.RegistrationNumber, v.Number, v.Date, v.SellerName, v.SellerBIN, v.Total, v.Currency, v.Status, v.UpdatedAt).Scan(&prev)
	if err != nil {
		return "", fmt.Errorf("upsert esf invoice: %w", err)
	}
	if prev == nil {
		return "", nil
	}
	return *prev, nil
}
