package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"edobot/core"
)

// ИС ЭСФ task types.
const (
	// TaskESFSchedule lists the organisations to synchronise and queues a
	// TaskESFSync for each.
	TaskESFSchedule = "esf:schedule"
	// TaskESFSync synchronises one organisation.
	TaskESFSync = "esf:sync"
)

// ESF is the invoice use cases the jobs run; *core.Invoices implements it.
type ESF interface {
	Sync(ctx context.Context, orgID int64) (core.ESFSyncResult, error)
	Poll() time.Duration
	CallsToday(ctx context.Context) (map[string]int64, error)
}

// ESFOrgs lists the organisations to synchronise; *storage.DB implements it.
type ESFOrgs interface {
	ESFOrgsToSync(ctx context.Context, now time.Time) ([]int64, error)
}

type esfSyncPayload struct {
	OrgID int64 `json:"org_id"`
}

// scheduleESF queues one sync per organisation for this poll slot. The
// task id names the organisation and the slot, so the schedulers of
// several instances queue it once, and a slot's retries never overlap the
// next slot's task for long: the person's session turn keeps them apart.
func (r *Runner) scheduleESF(ctx context.Context, _ *asynq.Task) error {
	now := r.now()
	orgs, err := r.esfOrgs.ESFOrgsToSync(ctx, now)
	if err != nil {
		return fmt.Errorf("esf schedule: %w", err)
	}
	slot := now.Truncate(r.esf.Poll()).Unix()
	for _, id := range orgs {
		b, _ := json.Marshal(esfSyncPayload{OrgID: id})
		// Retries back off (Config.RetryBase doubled, up to RetryMax) and end
		// before the next slot's task would be queued.
		if err := r.enqueue(ctx, asynq.NewTask(TaskESFSync, b), "esf:"+strconv.FormatInt(id, 10)+":"+strconv.FormatInt(slot, 10),
			QueuePeriodic, asynq.Timeout(r.esf.Poll())); err != nil {
			return fmt.Errorf("esf schedule: %w", err)
		}
	}
	return nil
}

// handleESFSync runs one organisation's synchronisation. Faults of ИС ЭСФ
// that may pass (down, timeouts, 5xx, SYSTEM_DOWN, unreadable answers) are
// retried with backoff; refusals are not.
func (r *Runner) handleESFSync(ctx context.Context, t *asynq.Task) error {
	var p esfSyncPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	res, err := r.esf.Sync(ctx, p.OrgID)
	if err != nil {
		r.metrics.esfSyncs.WithLabelValues("error").Inc()
		if f := core.ESFFaultOf(err); f != nil && f.Retryable() {
			return fmt.Errorf("esf sync of %d: %w", p.OrgID, err)
		}
		var ref *core.Refusal
		if errors.As(err, &ref) {
			return fmt.Errorf("esf sync of %d: %w: %w", p.OrgID, err, asynq.SkipRetry)
		}
		return fmt.Errorf("esf sync of %d: %w", p.OrgID, err) // the database: retry
	}
	switch {
	case res.Paused:
		r.metrics.esfSyncs.WithLabelValues("paused").Inc()
	case res.Deferred:
		r.metrics.esfSyncs.WithLabelValues("deferred").Inc()
	default:
		r.metrics.esfSyncs.WithLabelValues("ok").Inc()
	}
	return nil
}

// fanOutESFEvent queues an organisation's ИС ЭСФ event to each of its
// chats, and a person's own (esf.refused, esf.password_saved) to their chat.
func (r *Runner) fanOutESFEvent(ctx context.Context, ev event) error {
	if ev.Chat != 0 {
		u, err := r.reachableChat(ctx, ev.Chat)
		if err != nil {
			return fmt.Errorf("event %s: %w", ev.ID, err)
		}
		if u == nil {
			return nil // blocked
		}
		return r.queueDelivery(ctx, ev, core.DocumentChat{User: *u})
	}
	chats, err := r.store.OrgChatUsers(ctx, ev.OrgID)
	if err != nil {
		return fmt.Errorf("event %s: %w", ev.ID, err)
	}
	for _, u := range chats {
		if err := r.queueDelivery(ctx, ev, core.DocumentChat{User: u}); err != nil {
			return err
		}
	}
	return nil
}

// esfCallsCollector reads the day's ИС ЭСФ calls per organisation at each
// scrape: the budget's use.
type esfCallsCollector struct{ r *Runner }

var esfCallsDesc = prometheus.NewDesc("edobot_esf_calls_today", "Calls to ИС ЭСФ today (Kazakhstan time) by organisation (BIN).", []string{"bin"}, nil)

func (c esfCallsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- esfCallsDesc }

func (c esfCallsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	calls, err := c.r.esf.CallsToday(ctx)
	if err != nil {
		c.r.log.Warn("esf calls metric", "err", err)
		return
	}
	for bin, n := range calls {
		ch <- prometheus.MustNewConstMetric(esfCallsDesc, prometheus.GaugeValue, float64(n), bin)
	}
}
