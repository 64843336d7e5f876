package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"edobot/core"
)

// Periodic task types.
const (
	TaskReminders = "periodic:reminders"
	TaskExpiry    = "periodic:expiry"
)

// reminderNamespace makes reminder event ids: a reminder has no outbox row,
// and the same document and day must give the same id so that a rescan is
// stopped by the task id and the delivery records.
var reminderNamespace = uuid.MustParse("4b0f7d1e-8a2c-5e39-9c61-2f4d8e0a7b13")

// ReminderEventID is the event id of a document's reminder on a day.
func ReminderEventID(documentID uuid.UUID, day time.Time) uuid.UUID {
	return uuid.NewSHA1(reminderNamespace, []byte(documentID.String()+"/"+day.Format(time.DateOnly)))
}

// register puts the periodic jobs on the scheduler. Every instance runs a
// scheduler; Unique keeps their ticks from piling up, and the jobs are
// harmless to run twice anyway.
func (r *Runner) register(s *asynq.Scheduler) error {
	for _, e := range []struct{ spec, kind string }{
		{r.cfg.ReminderSpec, TaskReminders},
		{r.cfg.ExpirySpec, TaskExpiry},
	} {
		_, err := s.Register(e.spec, asynq.NewTask(e.kind, nil), asynq.Queue(r.queue(QueuePeriodic)),
			asynq.Unique(10*time.Minute), asynq.MaxRetry(3))
		if err != nil {
			return fmt.Errorf("jobs: schedule %s at %q: %w", e.kind, e.spec, err)
		}
	}
	if r.esf != nil {
		spec := "@every " + r.esf.Poll().String()
		if _, err := s.Register(spec, asynq.NewTask(TaskESFSchedule, nil), asynq.Queue(r.queue(QueuePeriodic)),
			asynq.Unique(r.esf.Poll()/2), asynq.MaxRetry(3)); err != nil {
			return fmt.Errorf("jobs: schedule %s at %q: %w", TaskESFSchedule, spec, err)
		}
	}
	return nil
}

func (r *Runner) handleReminders(ctx context.Context, _ *asynq.Task) error {
	_, err := r.Remind(ctx)
	return err
}

// Remind queues today's reminder (in Kazakhstan time) of each document that
// has waited for a signature for Config.ReminderAfterDays days, was not
// reminded of today and fewer than Config.ReminderMax times in all, and
// reports how many it queued. It queues nothing outside the hours
// Config.ReminderFrom–ReminderUntil: nobody is reminded at night. The
// reminder is queued before it is recorded: a crash in between queues the
// same event id again, which the task id and the delivery records absorb.
func (r *Runner) Remind(ctx context.Context) (int, error) {
	now := r.now()
	day := now.In(core.KazakhstanTime)
	if h := day.Hour(); h < r.cfg.ReminderFrom || h >= r.cfg.ReminderUntil {
		return 0, nil
	}
	before := now.AddDate(0, 0, -r.cfg.ReminderAfterDays)
	n := 0
	for {
		ids, err := r.store.DocumentsDueForReminder(ctx, before, day, r.cfg.ReminderMax, 100)
		if err != nil {
			return n, fmt.Errorf("reminders: %w", err)
		}
		for _, id := range ids {
			ev := event{ID: ReminderEventID(id, day), Kind: core.NotifyReminder, DocumentID: id, At: now}
			t, err := ev.task(TaskNotifyEvent)
			if err != nil {
				return n, err
			}
			if err := r.enqueue(ctx, t, ev.ID.String(), QueueNotify); err != nil {
				return n, fmt.Errorf("reminders: %w", err)
			}
			if err := r.store.RecordReminder(ctx, id, day); err != nil {
				return n, fmt.Errorf("reminders: %w", err)
			}
			n++
		}
		if len(ids) < 100 {
			break
		}
	}
	if n > 0 {
		r.log.Info("reminders queued", "documents", n)
	}
	return n, nil
}

func (r *Runner) handleExpiry(ctx context.Context, _ *asynq.Task) error {
	return r.Expire(ctx)
}

// Expire deletes the eGov signing sessions and identity challenges that
// expired more than Config.ExpireAfter ago; the grace period lets a person
// who comes back to a dead QR code still be told it expired.
func (r *Runner) Expire(ctx context.Context) error {
	s, c, err := r.store.DeleteExpired(ctx, r.now().Add(-r.cfg.ExpireAfter))
	if err != nil {
		return fmt.Errorf("expiry: %w", err)
	}
	if s+c > 0 {
		r.log.Info("expired sessions deleted", "egov_sessions", s, "auth_challenges", c)
	}
	return nil
}
