package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ESFSyncResult is what one synchronisation of an organisation did.
type ESFSyncResult struct {
	New, Changed int  // invoices announced as new, status changes announced
	Paused       bool // no ticket or password works: synchronisation waits for a person
	Deferred     bool // the person's session turn is not now (five-minute rule or one in use)
	Cursor       ESFCursor
}

// Sync reads an organisation's incoming invoices and their status changes
// since the stored cursor: a session with its active ticket, queryUpdates
// (INBOUND) page by page, the session closed, then the new cursor and one
// outbox event per new invoice or status change in one transaction, so no
// cursor moves past an invoice whose event is not kept. A ticket ИС ЭСФ
// refuses is dead at once; with none left (or a wrong password) the
// organisation's chats are told once that synchronisation is paused.
// Faults of ИС ЭСФ come back as errors carrying an *ESFFault: retry the
// retryable ones later. When such faults have lasted UnavailableAfter the
// chats are told once that ИС ЭСФ is unavailable, and once that it is back
// at the next sync that succeeds.
func (iv *Invoices) Sync(ctx context.Context, orgID int64) (ESFSyncResult, error) {
	org, err := iv.d.Store.OrganisationByID(ctx, orgID)
	if err != nil {
		return ESFSyncResult{}, err
	}
	tickets, err := iv.d.Store.ActiveESFTickets(ctx, orgID, iv.now())
	if err != nil {
		return ESFSyncResult{}, err
	}
	run := &syncRun{iv: iv, org: org, calls: iv.counter(orgID)}
	defer run.calls.flush(ctx)
	if len(tickets) == 0 {
		return ESFSyncResult{Paused: true}, run.pause(ctx, ESFPausedNoTicket, "")
	}
	err = run.open(ctx, tickets)
	var none *noSession
	switch {
	case errors.As(err, &none):
		return ESFSyncResult{Paused: true}, run.pause(ctx, none.reason, none.iin)
	case errors.Is(err, ErrESFTooSoon):
		return ESFSyncResult{Deferred: true}, nil
	case err != nil:
		return ESFSyncResult{}, run.failed(ctx, err)
	}
	defer run.release(ctx)
	pages, err := run.read(ctx)
	run.close(ctx)
	if err != nil {
		return ESFSyncResult{}, run.failed(ctx, err)
	}
	err = iv.d.Store.InESFTx(ctx, func(tx ESFTx) error { return run.commit(ctx, tx, pages, nil, true) })
	return run.result, err
}

// syncRun is one use of a session: which ticket opened it, where the
// updates were read from, what was found.
type syncRun struct {
	iv        *Invoices
	org       *Organisation
	calls     *callCounter
	alive     []ESFTicket // the active tickets not refused, latest expiry first
	claimed   string      // whose session turn is held
	openedAt  time.Time
	sessionID string
	from      ESFCursor
	result    ESFSyncResult
}

// noSession: no ticket could open a session for a reason a person must
// mend.
type noSession struct {
	reason ESFPauseReason
	iin    string
}

func (n *noSession) Error() string { return "esf: no session: " + string(n.reason) }

// open opens a session with the first ticket that works, marking dead
// those ИС ЭСФ refuses.
func (r *syncRun) open(ctx context.Context, tickets []ESFTicket) error {
	r.alive = append([]ESFTicket(nil), tickets...)
	reason, whose := ESFPausedNoTicket, ""
	for _, t := range tickets {
		cred, err := r.iv.credentials(ctx, r.org.ID, t.IIN)
		if errors.Is(err, ErrESFNoPassword) {
			reason, whose = ESFPausedPassword, t.IIN
			continue
		}
		if err != nil {
			return err
		}
		err = r.session(ctx, &t, cred)
		f := ESFFaultOf(err)
		switch {
		case err == nil:
			return nil
		case f != nil && f.Kind == ESFTicketRefused:
			r.iv.d.Logger.Info("esf: ticket refused; marked dead", "org", r.org.ID, "ticket", t.ID, "code", f.Code)
			if err := r.kill(ctx, t.ID); err != nil {
				return err
			}
		case f != nil && f.Kind == ESFPasswordWrong:
			reason, whose = ESFPausedPassword, t.IIN
		default:
			return err
		}
	}
	return &noSession{reason: reason, iin: whose}
}

func (r *syncRun) kill(ctx context.Context, id int64) error {
	for i, t := range r.alive {
		if t.ID == id {
			r.alive = append(r.alive[:i:i], r.alive[i+1:]...)
			break
		}
	}
	return r.iv.d.Store.InESFTx(ctx, func(tx ESFTx) error {
		_, err := tx.SetESFTicketState(ctx, r.org.ID, id, ESFTicketDead, r.iv.now())
		return err
	})
}

// session takes the person's turn and opens a session with t. A session
// the person left open (USER_ALREADY_HAS_SESSION) is closed by
// credentials, once.
func (r *syncRun) session(ctx context.Context, t *ESFTicket, cred ESFCredentials) error {
	ok, err := r.iv.d.Store.ClaimESFSession(ctx, t.IIN, r.iv.now(), ESFSessionGap, r.iv.d.Poll)
	if err != nil {
		return err
	}
	if !ok {
		return ErrESFTooSoon
	}
	r.claimed = t.IIN
	for attempt := 0; ; attempt++ {
		if err := r.calls.spend(ctx, 1); err != nil {
			r.release(ctx)
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, r.iv.d.CallTimeout)
		id, err := r.iv.d.Client.OpenSession(cctx, cred, r.org.Number, t.SignedXML)
		cancel()
		if err == nil {
			r.sessionID, r.openedAt = id, r.iv.now()
			return nil
		}
		if f := ESFFaultOf(err); f != nil && f.Kind == ESFUserHasSession && attempt == 0 {
			if err := r.calls.spend(ctx, 1); err != nil {
				r.release(ctx)
				return err
			}
			cctx, cancel := context.WithTimeout(ctx, r.iv.d.CallTimeout)
			cerr := r.iv.d.Client.CloseSessionByCredentials(cctx, cred, r.org.Number, t.Certificate)
			cancel()
			if cerr == nil {
				continue
			}
			err = cerr
		}
		r.release(ctx)
		return err
	}
}

// release gives the person's turn back.
func (r *syncRun) release(ctx context.Context) {
	if r.claimed == "" {
		return
	}
	if err := r.iv.d.Store.ReleaseESFSession(context.WithoutCancel(ctx), r.claimed, r.openedAt); err != nil {
		r.iv.d.Logger.Error("esf: session turn not released", "iin", r.claimed, "err", err)
	}
	r.claimed = ""
}

// close closes the session; a failure only leaves it to time out, and
// the next opening closes it by credentials.
func (r *syncRun) close(ctx context.Context) {
	if r.sessionID == "" {
		return
	}
	_ = r.calls.spend(ctx, 1) // closing is never refused for the budget
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.iv.d.CallTimeout)
	defer cancel()
	if err := r.iv.d.Client.CloseSession(cctx, r.sessionID); err != nil {
		r.iv.d.Logger.Warn("esf: session not closed", "org", r.org.ID, "err", err)
	}
	r.sessionID = ""
}

// read pages through the updates from the stored cursor.
func (r *syncRun) read(ctx context.Context) ([]ESFUpdates, error) {
	st, err := r.iv.d.Store.ESFSyncState(ctx, r.org.ID)
	if err != nil {
		return nil, err
	}
	r.from = st.Cursor
	cur := st.Cursor
	if cur.LastEventDate.IsZero() {
		cur = ESFCursor{LastEventDate: r.iv.now().Add(-r.iv.d.Backfill)}
	}
	var pages []ESFUpdates
	for len(pages) < r.iv.d.MaxPages {
		if err := r.calls.spend(ctx, 1); err != nil {
			return nil, err
		}
		cctx, cancel := context.WithTimeout(ctx, r.iv.d.CallTimeout)
		p, err := r.iv.d.Client.QueryUpdates(cctx, r.sessionID, cur)
		cancel()
		if err != nil {
			return nil, err
		}
		pages = append(pages, p)
		cur = p.Next
		if p.Last || len(p.Invoices) == 0 {
			break
		}
	}
	return pages, nil
}

// commit keeps what was read: the invoices, one event per new invoice or
// status change, the cursor, and the expiry notice when one is due. Pages
// read from a cursor another run has moved since are dropped: that run
// kept them. newTicket is a ticket inserted in this transaction.
func (r *syncRun) commit(ctx context.Context, tx ESFTx, pages []ESFUpdates, newTicket *ESFTicket, read bool) error {
	now := r.iv.now()
	s, err := tx.LockESFSync(ctx, r.org.ID)
	if err != nil {
		return err
	}
	if read {
		if err := r.restored(ctx, tx, &s); err != nil {
			return err
		}
	}
	if read && s.Cursor == r.from {
		for _, p := range pages {
			for i := range p.Invoices {
				if err := r.keep(ctx, tx, &p.Invoices[i]); err != nil {
					return err
				}
			}
			if !p.Next.LastEventDate.IsZero() {
				s.Cursor = p.Next
			}
		}
		s.LastSyncAt = &now
	}
	s.PausedNotified = false
	alive := r.alive
	if newTicket != nil {
		alive = append([]ESFTicket{*newTicket}, alive...)
	}
	if err := r.warnExpiry(ctx, tx, &s, alive); err != nil {
		return err
	}
	r.result.Cursor = s.Cursor
	return tx.SaveESFSync(ctx, s)
}

func (r *syncRun) keep(ctx context.Context, tx ESFTx, inv *ESFInvoice) error {
	inv.OrgID = r.org.ID
	prev, err := tx.UpsertESFInvoice(ctx, inv)
	if err != nil {
		return err
	}
	n := ESFNotice{OrgID: r.org.ID, Invoice: inv, PreviousStatus: prev}
	switch {
	case prev == "":
		r.result.New++
		return r.tell(ctx, tx, OutboxESFInvoice, n)
	case prev != inv.Status:
		r.result.Changed++
		return r.tell(ctx, tx, OutboxESFStatus, n)
	}
	return nil // read again, unchanged
}

// warnExpiry announces, once, the expiry of the ticket that lasts longest
// when it lives longer than WarnBefore and expires within it.
func (r *syncRun) warnExpiry(ctx context.Context, tx ESFTx, s *ESFSync, alive []ESFTicket) error {
	var last *ESFTicket
	for i := range alive {
		if last == nil || alive[i].ExpiresAt.After(last.ExpiresAt) {
			last = &alive[i]
		}
	}
	w := r.iv.d.WarnBefore
	if last == nil || last.ExpiresAt.Sub(last.CreatedAt) <= w || r.iv.now().Before(last.ExpiresAt.Add(-w)) || s.WarnedTicketID == last.ID {
		return nil
	}
	s.WarnedTicketID = last.ID
	exp := last.ExpiresAt
	return r.tell(ctx, tx, OutboxESFExpiring, ESFNotice{OrgID: r.org.ID, IIN: last.IIN, TicketID: last.ID, ExpiresAt: &exp})
}

// pause tells the organisation's chats, once, that synchronisation waits
// for a person.
func (r *syncRun) pause(ctx context.Context, reason ESFPauseReason, iin string) error {
	return r.iv.d.Store.InESFTx(ctx, func(tx ESFTx) error {
		s, err := tx.LockESFSync(ctx, r.org.ID)
		if err != nil || s.PausedNotified {
			return err
		}
		s.PausedNotified = true
		// The pause is what the chats are to know now; an outage before it
		// is over for them.
		s.FailingSince, s.UnavailableNotified = nil, false
		if err := r.tell(ctx, tx, OutboxESFPaused, ESFNotice{OrgID: r.org.ID, Reason: reason, IIN: iin}); err != nil {
			return err
		}
		return tx.SaveESFSync(ctx, s)
	})
}

// failed notes a synchronisation that failed with err and returns err. A
// fault that passes (ИС ЭСФ down, timed out, 5xx, an unreadable answer)
// starts an outage or goes on with it; once the outage has lasted
// UnavailableAfter, the organisation's chats are told, once, that ИС ЭСФ
// is unavailable and nothing is lost. Other errors leave the outage as it
// is.
func (r *syncRun) failed(ctx context.Context, err error) error {
	if f := ESFFaultOf(err); f == nil || !f.Retryable() {
		return err
	}
	now := r.iv.now()
	ctx = context.WithoutCancel(ctx) // a sync that timed out still counts
	terr := r.iv.d.Store.InESFTx(ctx, func(tx ESFTx) error {
		s, err := tx.LockESFSync(ctx, r.org.ID)
		if err != nil {
			return err
		}
		switch {
		case s.FailingSince == nil:
			s.FailingSince = &now
		case !s.UnavailableNotified && now.Sub(*s.FailingSince) >= r.iv.d.UnavailableAfter:
			s.UnavailableNotified = true
			since := *s.FailingSince
			if err := r.tell(ctx, tx, OutboxESFUnavailable, ESFNotice{OrgID: r.org.ID, Since: &since}); err != nil {
				return err
			}
		default:
			return nil
		}
		return tx.SaveESFSync(ctx, s)
	})
	if terr != nil {
		// The next failure notes it again.
		r.iv.d.Logger.Error("esf: outage not noted", "org", r.org.ID, "err", terr)
	}
	return err
}

// restored ends an outage at a sync that succeeded: the chats told that
// ИС ЭСФ was unavailable are told, once, that it is back.
func (r *syncRun) restored(ctx context.Context, tx ESFTx, s *ESFSync) error {
	since, told := s.FailingSince, s.UnavailableNotified
	s.FailingSince, s.UnavailableNotified = nil, false
	if !told {
		return nil
	}
	return r.tell(ctx, tx, OutboxESFRestored, ESFNotice{OrgID: r.org.ID, Since: since})
}

func (r *syncRun) tell(ctx context.Context, tx ESFTx, kind string, n ESFNotice) error {
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("esf notice: %w", err)
	}
	return tx.AddOutbox(ctx, &OutboxMessage{ID: uuid.New(), OrgID: r.org.ID, Kind: kind, Payload: b, CreatedAt: r.iv.now()})
}
