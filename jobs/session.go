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
	// As in Run: handlers do not see ctx's end, and one asynq gave up on at
	// the shutdown timeout is cancelled and waited for.
	handling, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var tasks taskSet
	defer tasks.close()
	srv := asynq.NewServerFromRedisClient(r.rdb, asynq.Config{
		Concurrency:              max(1, r.cfg.Concurrency/2),
		BaseContext:              func() context.Context { return handling },
		TaskCheckInterval:        r.cfg.QueuePoll,
		DelayedTaskCheckInterval: r.cfg.DelayedPoll,
		RetryDelayFunc:           r.retryDelay,
		IsFailure:                func(err error) bool { return !isRateLimited(err) },
		Queues:                   map[string]int{r.queue(QueueWhatsApp): 1},
		ShutdownTimeout:          r.cfg.ShutdownTimeout,
		Logger:                   asynqLogger{r.log},
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler:             asynq.ErrorHandlerFunc(r.taskFailed),
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc(TaskNotifyDeliver, r.handleDeliver)
	if err := srv.Start(tasks.wrap(mux)); err != nil {
		return fmt.Errorf("jobs: start the WhatsApp deliveries: %w", err)
	}
	r.log.Info("serving the WhatsApp deliveries")
	<-ctx.Done()
	srv.Shutdown()
	cancel()
	tasks.close()
	r.log.Info("stopped serving the WhatsApp deliveries")
	return nil
}
