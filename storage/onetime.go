package storage

import (
	"context"
	"fmt"
	"time"
)

// oneTime is a table of rows found by id_hash that an eGov app opens with
// a one-time token (token_hash) and that are used once (used_at) before
// they expire (expires_at): eGov sessions, sign-in challenges, ИС ЭСФ
// links. Its value is the table's name, one of the constants below.
type oneTime string

const (
	egovSessions   oneTime = "egov_sessions"
	authChallenges oneTime = "auth_challenges"
	esfLinks       oneTime = "esf_links"
)

// setToken replaces the row's one-time token, unless it was used.
func (o oneTime) setToken(ctx context.Context, db *DB, idHash, tokenHash []byte) error {
	_, err := db.pool().Exec(ctx, `UPDATE `+string(o)+` SET token_hash = $2 WHERE id_hash = $1 AND used_at IS NULL`, idHash, tokenHash)
	if err != nil {
		return fmt.Errorf("%s: set token: %w", o, err)
	}
	return nil
}

// use marks the row used, once and before it expires; false when it was
// used, has expired or is not there.
func (o oneTime) use(ctx context.Context, db *DB, idHash []byte, now time.Time) (bool, error) {
	tag, err := db.pool().Exec(ctx, `UPDATE `+string(o)+` SET used_at = $2 WHERE id_hash = $1 AND used_at IS NULL AND expires_at > $2`, idHash, now)
	if err != nil {
		return false, fmt.Errorf("%s: use: %w", o, err)
	}
	return tag.RowsAffected() == 1, nil
}
