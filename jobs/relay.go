package jobs

import (
	"context"
	"time"

	"github.com/google/uuid"

	"edobot/core"
)

// relay moves outbox rows into asynq until ctx ends. An event becomes two
// tasks under ids derived from the event id, so a row relayed twice (an
// instance that died between enqueueing and marking, or two instances) is
// enqueued once. While Redis is away the rows stay unsent and the relay
// backs off, up to a few seconds, until it answers again.
func (r *Runner) relay(ctx context.Context) {
	const maxBackoff = 5 * time.Second
	backoff := r.cfg.RelayInterval
	failing := false
	for ctx.Err() == nil {
		n, err := r.relayOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.metrics.relayErrors.Inc()
			if !failing {
				r.log.Error("outbox relay failed; the events wait in the outbox", "err", err)
			}
			failing = true
			_ = sleep(ctx, backoff)
			backoff = min(backoff*2, maxBackoff)
			continue
		case err == nil && failing:
			r.log.Info("outbox relay works again")
			failing = false
		}
		backoff = r.cfg.RelayInterval
		if n < r.cfg.RelayBatch {
			_ = sleep(ctx, r.cfg.RelayInterval)
		}
	}
}

// relayOnce relays one batch and reports how many events reached the queue.
func (r *Runner) relayOnce(ctx context.Context) (int, error) {
	return r.store.RelayOutbox(ctx, r.cfg.RelayBatch, r.now(), func(ctx context.Context, batch []core.OutboxMessage) ([]uuid.UUID, error) {
		sent := make([]uuid.UUID, 0, len(batch))
		for _, m := range batch {
			if err := r.enqueueEvent(ctx, m); err != nil {
				return sent, err
			}
			sent = append(sent, m.ID)
			r.metrics.relayed.Inc()
		}
		return sent, nil
	})
}

// enqueueEvent queues what one outbox event sets off: the chats' notices
// and, for a document's event, the webhook delivery.
func (r *Runner) enqueueEvent(ctx context.Context, m core.OutboxMessage) error {
	ev, err := eventFromOutbox(m)
	if err != nil {
		// A row that cannot be read never will be; relaying it as is lets
		// the handler archive it where an operator sees it.
		r.log.Error("outbox event unreadable", "event", m.ID, "err", err)
	}
	t, err := ev.task(TaskNotifyEvent)
	if err != nil {
		return err
	}
	if err := r.enqueue(ctx, t, m.ID.String(), QueueNotify); err != nil {
		return err
	}
	if core.ChatEvent(m.Kind) || core.ESFEvent(m.Kind) {
		return nil // a sign-in or an invoice is the chats' business, not the webhooks'
	}
	wt, err := webhookTask(m)
	if err != nil {
		return err
	}
	return r.enqueue(ctx, wt, "webhook:"+m.ID.String(), QueueWebhooks)
}
