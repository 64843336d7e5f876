package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"edobot/core"
)

// Task types.
const (
	// TaskNotifyEvent fans one event out into a TaskNotifyDeliver per chat.
	TaskNotifyEvent = "notify:event"
	// TaskNotifyDeliver tells one chat of one event.
	TaskNotifyDeliver = "notify:deliver"
)

// event is the payload of the notify tasks: what happened, without the
// document or chat, which are read when the message is written.
type event struct {
	ID         uuid.UUID   `json:"event_id"`
	Kind       string      `json:"kind"`
	DocumentID uuid.UUID   `json:"document_id"`
	Status     core.Status `json:"status,omitempty"` // the status the change left, not the current one
	Side       core.Side   `json:"side,omitempty"`
	At         time.Time   `json:"at"`
	// ActorChat is the chat user whose own act the event is: that chat saw
	// the result already and is not told again.
	ActorChat int64 `json:"actor_chat,omitempty"`
	// Set for the chat.* kinds: the chat that signed in and the
	// organisation it was bound to.
	Chat  int64 `json:"chat,omitempty"`
	OrgID int64 `json:"org_id,omitempty"`
	// Set for the esf.* kinds: what the event tells (OrgID is set too).
	ESF *core.ESFNotice `json:"esf,omitempty"`
	// Set for TaskNotifyDeliver only.
	ChatUserID int64     `json:"chat_user_id,omitempty"`
	ChatSide   core.Side `json:"chat_side,omitempty"`
	Channel    string    `json:"channel,omitempty"`
}

func (e event) task(kind string) (*asynq.Task, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("task payload: %w", err)
	}
	return asynq.NewTask(kind, b), nil
}

func eventFromOutbox(m core.OutboxMessage) (event, error) {
	ev := event{ID: m.ID, Kind: m.Kind, DocumentID: m.DocumentID, Chat: m.ChatUserID, At: m.CreatedAt}
	if core.ESFEvent(m.Kind) {
		var p core.ESFNotice
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			return ev, fmt.Errorf("outbox %s payload: %w", m.ID, err)
		}
		// A person's own event (esf.refused…) has the chat as its subject
		// and names the organisation in the notice.
		ev.OrgID, ev.ESF = m.OrgID, &p
		if ev.OrgID == 0 {
			ev.OrgID = p.OrgID
		}
		return ev, nil
	}
	if core.ChatEvent(m.Kind) {
		var p core.ChatEventPayload
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			return ev, fmt.Errorf("outbox %s payload: %w", m.ID, err)
		}
		ev.OrgID = p.OrgID
		return ev, nil
	}
	var p struct {
		Status    core.Status `json:"status"`
		Side      core.Side   `json:"side"`
		ActorChat int64       `json:"actor_chat_user_id"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return ev, fmt.Errorf("outbox %s payload: %w", m.ID, err)
	}
	ev.Status, ev.Side, ev.ActorChat = p.Status, p.Side, p.ActorChat
	return ev, nil
}

func parseEvent(t *asynq.Task) (event, error) {
	var e event
	if err := json.Unmarshal(t.Payload(), &e); err != nil {
		return e, fmt.Errorf("%s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	return e, nil
}

// deliveryID names one (event, chat) delivery: as the task id it keeps a
// rerun of the fan-out from queueing a chat twice.
func deliveryID(eventID uuid.UUID, chatUserID int64) string {
	return eventID.String() + ":" + strconv.FormatInt(chatUserID, 10)
}

// handleEvent finds the chats to tell of an event and queues one delivery
// for each. Rerunning it queues nothing new for the chats already queued.
func (r *Runner) handleEvent(ctx context.Context, t *asynq.Task) error {
	ev, err := parseEvent(t)
	if err != nil {
		return err
	}
	if core.ChatEvent(ev.Kind) {
		return r.fanOutChatEvent(ctx, ev)
	}
	if core.ESFEvent(ev.Kind) {
		return r.fanOutESFEvent(ctx, ev)
	}
	d, err := r.store.Document(ctx, ev.DocumentID)
	if errors.Is(err, core.ErrNotFound) {
		return fmt.Errorf("event %s: document %s: %w", ev.ID, ev.DocumentID, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("event %s: %w", ev.ID, err)
	}
	chats, err := r.store.DocumentChats(ctx, d)
	if err != nil {
		return fmt.Errorf("event %s: %w", ev.ID, err)
	}
	for _, c := range chats {
		if ev.Kind == core.NotifyReminder && (d.SignedBy(c.Side) || !waitsForSignature(d) || c.User.NeverWrote()) {
			// A reminder is for the sides that still have to sign, in
			// chats that wrote to the bot: unasked reminders are what
			// WhatsApp bans accounts for.
			continue
		}
		if ev.ActorChat != 0 && c.User.ID == ev.ActorChat {
			continue // the chat that acted saw the result in its reply
		}
		if err := r.queueDelivery(ctx, ev, c); err != nil {
			return err
		}
	}
	return nil
}

// fanOutChatEvent queues a sign-in's deliveries: chat.bound to the chat that
// signed in, chat.joined to every other chat of its organisation.
func (r *Runner) fanOutChatEvent(ctx context.Context, ev event) error {
	var chats []core.ChatUser
	switch ev.Kind {
	case core.OutboxChatBound:
		u, err := r.reachableChat(ctx, ev.Chat)
		if err != nil {
			return fmt.Errorf("event %s: %w", ev.ID, err)
		}
		if u != nil {
			chats = append(chats, *u)
		}
	case core.OutboxChatJoined:
		all, err := r.store.OrgChatUsers(ctx, ev.OrgID)
		if err != nil {
			return fmt.Errorf("event %s: %w", ev.ID, err)
		}
		for _, u := range all {
			if u.ID != ev.Chat {
				chats = append(chats, u)
			}
		}
	}
	for _, u := range chats {
		if err := r.queueDelivery(ctx, ev, core.DocumentChat{User: u}); err != nil {
			return err
		}
	}
	return nil
}

// queueDelivery queues the task that tells one chat of one event, paced by
// the chat's rate limit.
func (r *Runner) queueDelivery(ctx context.Context, ev event, c core.DocumentChat) error {
	de := ev
	de.ChatUserID, de.ChatSide, de.Channel = c.User.ID, c.Side, c.User.Channel
	dt, err := de.task(TaskNotifyDeliver)
	if err != nil {
		return err
	}
	in, err := r.limiter.Plan(ctx, c.User.Channel, strconv.FormatInt(c.User.ID, 10), r.cfg.Limits[c.User.Channel])
	if err != nil {
		return fmt.Errorf("event %s: %w", ev.ID, err)
	}
	// The delivery records, not the task ids, keep a chat from being told
	// twice, so finished deliveries need not linger in Redis: at 30
	// messages a second a day's worth would take gigabytes.
	if err := r.enqueue(ctx, dt, deliveryID(ev.ID, c.User.ID), deliveryQueue(c.User.Channel), asynq.Retention(0), asynq.ProcessIn(in)); err != nil {
		return fmt.Errorf("event %s: %w", ev.ID, err)
	}
	return nil
}

func waitsForSignature(d *core.Document) bool {
	return d.DeletedAt == nil && (d.Status == core.StatusCreated || d.Status == core.StatusSigning)
}

// handleDeliver tells one chat of one event, once.
//
// The delivery record is read before sending and written right after, both
// outside the task's cancellation: a graceful shutdown lets a send that
// started finish and be recorded. What remains is a crash of the process
// (or of PostgreSQL) between the messenger accepting the message and the
// record's commit: the rerun then sends again. Messengers have no
// idempotency key to close that window; recording before sending would
// turn the duplicate into a lost message instead.
func (r *Runner) handleDeliver(ctx context.Context, t *asynq.Task) error {
	ev, err := parseEvent(t)
	if err != nil {
		return err
	}
	done, err := r.store.Delivered(ctx, ev.ID, ev.ChatUserID)
	if err != nil {
		return fmt.Errorf("delivery %s: %w", deliveryID(ev.ID, ev.ChatUserID), err)
	}
	if done {
		return nil
	}
	// The rate limit comes before reading anything else: a task put back
	// for later should cost as little as possible.
	chat := strconv.FormatInt(ev.ChatUserID, 10)
	later, err := r.limiter.Wait(ctx, ev.Channel, chat, r.cfg.Limits[ev.Channel], r.cfg.RateWaitMax, r.cfg.ChatWaitMax)
	if err != nil {
		return fmt.Errorf("delivery %s: %w", deliveryID(ev.ID, ev.ChatUserID), err)
	}
	if later > 0 {
		r.metrics.failures.WithLabelValues(ev.Channel, "rate_limited").Inc()
		return &rateLimitedError{delay: later}
	}
	u, err := r.reachableChat(ctx, ev.ChatUserID)
	if err != nil {
		return fmt.Errorf("delivery %s: %w", deliveryID(ev.ID, ev.ChatUserID), err)
	}
	if u == nil {
		return nil // blocked since the fan-out
	}
	m := r.msgs[u.Channel]
	if m == nil {
		r.metrics.failures.WithLabelValues(u.Channel, "no_messenger").Inc()
		return fmt.Errorf("no messenger for %s: %w", u.Channel, asynq.SkipRetry)
	}
	n, err := r.notification(ctx, ev, u)
	if err != nil {
		return fmt.Errorf("delivery %s: %w", deliveryID(ev.ID, ev.ChatUserID), err)
	}

	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.SendTimeout)
	err = m.Notify(sendCtx, core.DocumentChat{User: *u, Side: ev.ChatSide}, n)
	cancel()
	var ra *core.RetryAfterError
	var restricted *core.RestrictedError
	switch {
	case err == nil:
	case errors.As(err, &restricted):
		// Retrying a refusal of a restricted account digs it deeper: the
		// delivery fails for good, with its reason, and the operator hears.
		r.metrics.failures.WithLabelValues(u.Channel, "restricted").Inc()
		r.log.Error("messenger refused the delivery: the bot's account is restricted; not retried",
			"channel", u.Channel, "chat_user", u.ID, "event", ev.ID, "code", restricted.Code, "reason", restricted.Reason)
		if ferr := r.store.RecordDeliveryFailure(context.WithoutCancel(ctx), ev.ID, u.ID, restricted.Error(), r.now()); ferr != nil {
			r.log.Error("delivery failure not recorded", "event", ev.ID, "chat_user", u.ID, "err", ferr)
		}
		return fmt.Errorf("delivery %s: %w: %w", deliveryID(ev.ID, ev.ChatUserID), err, asynq.SkipRetry)
	case errors.Is(err, core.ErrChatBlocked):
		r.metrics.failures.WithLabelValues(u.Channel, "blocked").Inc()
		if merr := r.store.MarkChatBlocked(context.WithoutCancel(ctx), u.ID, r.now()); merr != nil {
			return fmt.Errorf("chat %d blocked the bot: %w", u.ID, merr)
		}
		r.log.Info("chat blocked the bot; no more notifications to it", "chat_user", u.ID, "channel", u.Channel)
		return fmt.Errorf("chat %d: %w: %w", u.ID, err, asynq.SkipRetry)
	case errors.As(err, &ra):
		r.metrics.failures.WithLabelValues(u.Channel, "retry_after").Inc()
		if perr := r.limiter.Penalize(ctx, u.Channel, chat, ra.Delay); perr != nil {
			r.log.Warn("rate limit penalty", "err", perr)
		}
		return fmt.Errorf("delivery %s: %w", deliveryID(ev.ID, ev.ChatUserID), ra)
	default:
		r.metrics.failures.WithLabelValues(u.Channel, "error").Inc()
		return fmt.Errorf("delivery %s: %w", deliveryID(ev.ID, ev.ChatUserID), err)
	}

	sent := r.now()
	r.metrics.sent.WithLabelValues(u.Channel).Inc()
	r.metrics.latency.WithLabelValues(u.Channel).Observe(sent.Sub(ev.At).Seconds())
	recCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.SendTimeout)
	defer cancel()
	if err := r.store.RecordDelivery(recCtx, ev.ID, u.ID, sent); err != nil {
		// The message went; retrying would send it again. Better a lost
		// record (and a duplicate only if this task reruns) than a certain one.
		r.log.Error("delivery sent but not recorded", "event", ev.ID, "chat_user", u.ID, "err", err)
	}
	if r.afterDelivery != nil {
		r.afterDelivery(ctx)
	}
	return nil
}

// reachableChat reads the chat user id: nil when they blocked the bot, and
// an error that is not retried when they are gone.
func (r *Runner) reachableChat(ctx context.Context, id int64) (*core.ChatUser, error) {
	u, err := r.store.ChatUserByID(ctx, id)
	if errors.Is(err, core.ErrNotFound) {
		return nil, fmt.Errorf("chat user %d: %w", id, asynq.SkipRetry)
	}
	if err != nil || u.BlockedAt != nil {
		return nil, err
	}
	return u, nil
}

// organisation reads the organisation id; one gone is an error that is not
// retried.
func (r *Runner) organisation(ctx context.Context, id int64) (*core.Organisation, error) {
	org, err := r.store.OrganisationByID(ctx, id)
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrOrgUnknown) {
		return nil, fmt.Errorf("organisation %d: %w", id, asynq.SkipRetry)
	}
	return org, err
}

// notification reads what a delivery tells of, once: the document as it is
// now with its signers, or the chat that signed in and its organisation.
// The messenger draws the message from these and reads them no more.
func (r *Runner) notification(ctx context.Context, ev event, to *core.ChatUser) (core.Notification, error) {
	n := core.Notification{EventID: ev.ID, Kind: ev.Kind, Status: ev.Status, Side: ev.Side, At: ev.At}
	if core.ESFEvent(ev.Kind) {
		if ev.ESF == nil {
			return n, fmt.Errorf("event %s without its notice: %w", ev.ID, asynq.SkipRetry)
		}
		org, err := r.organisation(ctx, ev.OrgID)
		if err != nil {
			return n, err
		}
		n.Org, n.ESF = org, ev.ESF
		return n, nil
	}
	if core.ChatEvent(ev.Kind) {
		chat := to
		if ev.Chat != to.ID {
			var err error
			if chat, err = r.store.ChatUserByID(ctx, ev.Chat); errors.Is(err, core.ErrNotFound) {
				return n, fmt.Errorf("chat user %d: %w", ev.Chat, asynq.SkipRetry)
			} else if err != nil {
				return n, err
			}
		}
		org, err := r.organisation(ctx, ev.OrgID)
		if err != nil {
			return n, err
		}
		n.Chat, n.Org = chat, org
		return n, nil
	}
	d, err := r.store.Document(ctx, ev.DocumentID)
	if errors.Is(err, core.ErrNotFound) {
		return n, fmt.Errorf("document %s: %w", ev.DocumentID, asynq.SkipRetry)
	}
	if err != nil {
		return n, err
	}
	signers, err := r.store.Signers(ctx, []uuid.UUID{d.ID})
	if err != nil {
		return n, err
	}
	n.Document, n.Signers = d, signers[d.ID]
	return n, nil
}

// rateLimitedError puts a task back until the rate limit has room: not a
// failure, only a delay.
type rateLimitedError struct{ delay time.Duration }

func (e *rateLimitedError) Error() string {
	return fmt.Sprintf("rate limited for %s", e.delay)
}

func isRateLimited(err error) bool {
	var rl *rateLimitedError
	return errors.As(err, &rl)
}

// retryAfter is the delay a task must wait before its next attempt, when
// someone named one.
func retryAfter(err error) (time.Duration, bool) {
	var ra *core.RetryAfterError
	if errors.As(err, &ra) {
		return ra.Delay, true
	}
	var rl *rateLimitedError
	if errors.As(err, &rl) {
		return rl.delay, true
	}
	return 0, false
}
