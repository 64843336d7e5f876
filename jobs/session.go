package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"edobot/core"
)

// deliveryQueue is the queue of a delivery to a chat of channel. WhatsApp's
// have their own: one instance holds the WhatsApp session, and only it can
// send them, so no other instance may take them.
func deliveryQueue(channel string) string {
	if channel == core.ChannelWhatsApp {
		return QueueWhatsApp
	}
	return QueueNotify
}

// ServeWhatsApp works the WhatsApp deliveries until ctx ends, then lets
// those in flight finish (for up to Config.ShutdownTimeout; the rest go back
// to the queue for the next holder). Run it while this instance holds the
// WhatsApp session, beside Run; Run returns only after it, and it returns
// only once every handler it started returned.
func (r *Runner) ServeWhatsApp(ctx context.Context) error {
	r.servingMu.Lock()
	if r.stopped {
		r.servingMu.Unlock()
		return errors.New("jobs: the WhatsApp deliveries cannot start: the jobs stopped")
	}
	r.serving.Add(1)
	r.servingMu.Unlock()
	defer r.serving.Done()
	mux := asynq.NewServeMux()
	mux.HandleFunc(TaskNotifyDeliver, r.handleDeliver)
	stop, err := r.serveQueues(ctx, max(1, r.cfg.Concurrency/2), map[string]int{r.queue(QueueWhatsApp): 1}, mux)
	if err != nil {
		return fmt.Errorf("jobs: start the WhatsApp deliveries: %w", err)
	}
	r.log.Info("serving the WhatsApp deliveries")
	<-ctx.Done()
	stop()
	r.log.Info("stopped serving the WhatsApp deliveries")
	return nil
}
