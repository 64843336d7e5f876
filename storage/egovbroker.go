package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"edobot/core"
)

var _ core.BrokerStore = (*DB)(nil)

// refusalRow is a stored core.Refusal.
type refusalRow struct {
	Code   core.Code   `json:"code"`
	Action core.Action `json:"action,omitempty"`
	Status core.Status `json:"status,omitempty"`
	Field  string      `json:"field,omitempty"`
}

// InsertBrokerSession stores a new brokered signing, leased to its
// starter until leasedUntil.
func (db *DB) InsertBrokerSession(ctx context.Context, idHash []byte, s *core.BrokerSession, leasedUntil time.Time) error {
	texts, err := json.Marshal(s.Texts)
	if err != nil {
		return err
	}
	var doc *uuid.UUID
	if s.DocumentID != uuid.Nil {
		doc = &s.DocumentID
	}
	r := s.Registration
	_, err = db.pool().Exec(ctx, `INSERT INTO egov_broker_sessions (id_hash, document_id, challenge_hash, data_url, sign_url,
		qr_png, mobile_link, business_link, texts, state, created_at, updated_at, expires_at, leased_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13)`,
		idHash, doc, s.ChallengeHash, r.DataURL, r.SignURL, r.QRPNG, r.MobileLink, r.BusinessLink, texts, s.State,
		s.CreatedAt, r.ExpiresAt, leasedUntil)
	if err != nil {
		return fmt.Errorf("insert broker session: %w", err)
	}
	return nil
}

// BrokerSessionByHash reads a brokered signing.
func (db *DB) BrokerSessionByHash(ctx context.Context, idHash []byte) (*core.BrokerSession, error) {
	var s core.BrokerSession
	var doc *uuid.UUID
	var texts, refusal []byte
	r := &s.Registration
	err := db.pool().QueryRow(ctx, `SELECT document_id, challenge_hash, data_url, sign_url, qr_png, mobile_link, business_link,
		texts, state, refusal, created_at, updated_at, expires_at FROM egov_broker_sessions WHERE id_hash = $1`, idHash).
		Scan(&doc, &s.ChallengeHash, &r.DataURL, &r.SignURL, &r.QRPNG, &r.MobileLink, &r.BusinessLink, &texts, &s.State,
			&refusal, &s.CreatedAt, &s.UpdatedAt, &r.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.ErrEgovSession
	}
	if err != nil {
		return nil, fmt.Errorf("broker session: %w", err)
	}
	if doc != nil {
		s.DocumentID = *doc
	}
	if err := json.Unmarshal(texts, &s.Texts); err != nil {
		return nil, fmt.Errorf("broker session texts: %w", err)
	}
	if refusal != nil {
		var rr refusalRow
		if err := json.Unmarshal(refusal, &rr); err != nil {
			return nil, fmt.Errorf("broker session refusal: %w", err)
		}
		s.Refusal = &core.Refusal{Code: rr.Code, Action: rr.Action, Status: rr.Status, Field: rr.Field}
	}
	return &s, nil
}

// SetBrokerState moves a brokered signing on, from one of the given states.
func (db *DB) SetBrokerState(ctx context.Context, idHash []byte, from []core.BrokerState, to core.BrokerState, why *core.Refusal, at time.Time) (bool, error) {
	var refusal []byte
	if why != nil {
		var err error
		if refusal, err = json.Marshal(refusalRow{Code: why.Code, Action: why.Action, Status: why.Status, Field: why.Field}); err != nil {
			return false, err
		}
	}
	states := make([]string, len(from))
	for i, s := range from {
		states[i] = string(s)
	}
	tag, err := db.pool().Exec(ctx, `UPDATE egov_broker_sessions SET state = $2, refusal = $3, updated_at = $4
		WHERE id_hash = $1 AND state = ANY($5)`, idHash, to, refusal, at, states)
	if err != nil {
		return false, fmt.Errorf("set broker state: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ClaimBrokerSessions leases to the caller, until until, every unfinished
// brokered signing whose lease ran out by now, and returns their hashes.
// Two instances claiming at once get disjoint sets.
func (db *DB) ClaimBrokerSessions(ctx context.Context, now, until time.Time) ([][]byte, error) {
	rows, err := db.pool().Query(ctx, `UPDATE egov_broker_sessions SET leased_until = $2
		WHERE state IN ('waiting', 'taken') AND leased_until <= $1 RETURNING id_hash`, now, until)
	if err != nil {
		return nil, fmt.Errorf("claim broker sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("claim broker sessions: %w", err)
	}
	return out, nil
}

// UnfinishedBrokerSessions counts unfinished, unexpired brokered signings:
// of one document or challenge, and of all.
func (db *DB) UnfinishedBrokerSessions(ctx context.Context, documentID uuid.UUID, challengeHash []byte, now time.Time) (int, int, error) {
	var doc *uuid.UUID
	if documentID != uuid.Nil {
		doc = &documentID
	}
	var thing, all int
	err := db.pool().QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE document_id = $1 OR challenge_hash = $2),
			count(*)
		FROM egov_broker_sessions WHERE state IN ('waiting', 'taken') AND expires_at > $3`, doc, challengeHash, now).Scan(&thing, &all)
	if err != nil {
		return 0, 0, fmt.Errorf("count broker sessions: %w", err)
	}
	return thing, all, nil
}

// LeaseBrokerSession moves a session's lease to until: later while its
// holder waits, now when it gives the session back.
func (db *DB) LeaseBrokerSession(ctx context.Context, idHash []byte, until time.Time) error {
	if _, err := db.pool().Exec(ctx, `UPDATE egov_broker_sessions SET leased_until = $2 WHERE id_hash = $1`, idHash, until); err != nil {
		return fmt.Errorf("lease broker session: %w", err)
	}
	return nil
}
