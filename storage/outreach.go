package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"edobot/core"
)

// ReserveOutreach reads the cold-outreach statistics of s's account and
// organisation under a lock on the account, asks allow, and records the send
// when allow accepts it: two instances deciding at once cannot both take the
// last message of a budget. allow's error is returned as it is.
func (db *DB) ReserveOutreach(ctx context.Context, s core.OutreachSend, allow func(core.OutreachStats) error) error {
	return pgx.BeginFunc(ctx, db.pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('whatsapp_outreach:' || $1, 0))`, s.Account); err != nil {
			return fmt.Errorf("outreach lock: %w", err)
		}
		var st core.OutreachStats
		var first, paused *time.Time
		var reason *string
		err := tx.QueryRow(ctx, `SELECT
			(SELECT min(sent_at) FROM whatsapp_outreach WHERE account = $1),
			(SELECT count(*) FROM whatsapp_outreach WHERE account = $1 AND sent_at >= $3),
			(SELECT count(*) FROM whatsapp_outreach WHERE org_id = $2 AND sent_at >= $3),
			(SELECT until FROM whatsapp_outreach_pauses WHERE org_id = $2),
			(SELECT reason FROM whatsapp_outreach_pauses WHERE org_id = $2),
			EXISTS (SELECT 1 FROM whatsapp_outreach WHERE account = $1 AND text_sha256 = $4 AND phone <> $5 AND sent_at >= $6)`,
			s.Account, s.OrgID, s.DayStart, s.TextHash, s.Phone, s.SameTextSince).
			Scan(&first, &st.AccountToday, &st.OrgToday, &paused, &reason, &st.SameText)
		if err != nil {
			return fmt.Errorf("outreach stats: %w", err)
		}
		if first != nil {
			st.AccountFirst = *first
		}
		if paused != nil {
			st.OrgPausedTil = *paused
		}
		if reason != nil {
			st.PauseReason = *reason
		}
		if err := allow(st); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO whatsapp_outreach (account, org_id, phone, text_sha256, sent_at) VALUES ($1, $2, $3, $4, $5)`,
			s.Account, s.OrgID, s.Phone, s.TextHash, s.At)
		if err != nil {
			return fmt.Errorf("record outreach: %w", err)
		}
		return nil
	})
}

// PauseOutreach stops an organisation's cold messages until then; a later
// pause already set stays.
func (db *DB) PauseOutreach(ctx context.Context, orgID int64, until time.Time, reason string, at time.Time) error {
	_, err := db.pool().Exec(ctx, `INSERT INTO whatsapp_outreach_pauses (org_id, until, reason, paused_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (org_id) DO UPDATE SET until = greatest(whatsapp_outreach_pauses.until, EXCLUDED.until),
			reason = EXCLUDED.reason, paused_at = EXCLUDED.paused_at`, orgID, until, reason, at)
	if err != nil {
		return fmt.Errorf("pause outreach: %w", err)
	}
	return nil
}

// Lookup is the stored answer about a phone checked at or after since;
// core.ErrNotFound when there is none that fresh.
func (db *DB) Lookup(ctx context.Context, phone string, since time.Time) (*core.Lookup, error) {
	l := core.Lookup{Phone: phone}
	err := db.pool().QueryRow(ctx, `SELECT jid, on_whatsapp, checked_at FROM whatsapp_lookups WHERE phone = $1 AND checked_at >= $2`,
		phone, since).Scan(&l.JID, &l.OnWhatsApp, &l.CheckedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	return &l, nil
}

// SaveLookup keeps WhatsApp's answer about a phone.
func (db *DB) SaveLookup(ctx context.Context, l core.Lookup) error {
	_, err := db.pool().Exec(ctx, `INSERT INTO whatsapp_lookups (phone, jid, on_whatsapp, checked_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (phone) DO UPDATE SET jid = EXCLUDED.jid, on_whatsapp = EXCLUDED.on_whatsapp, checked_at = EXCLUDED.checked_at`,
		l.Phone, l.JID, l.OnWhatsApp, l.CheckedAt)
	if err != nil {
		return fmt.Errorf("save lookup: %w", err)
	}
	return nil
}
