package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	latency     *prometheus.HistogramVec
	sent        *prometheus.CounterVec
	failures    *prometheus.CounterVec
	webhooks    *prometheus.CounterVec
	relayed     prometheus.Counter
	relayErrors prometheus.Counter
	esfSyncs    *prometheus.CounterVec
	queues      *queueCollector
}

func newMetrics(r *Runner) *metrics {
	return &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edobot_notification_latency_seconds",
			Help:    "Time from a change's commit to its message reaching the messenger.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
		}, []string{"channel"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edobot_notifications_sent_total", Help: "Notifications the messengers accepted.",
		}, []string{"channel"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edobot_notification_failures_total",
			Help: "Notification attempts that did not send, by reason: retry_after (429), blocked, error (5xx, timeouts), rate_limited (put back by our own limit), no_messenger.",
		}, []string{"channel", "reason"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edobot_webhook_deliveries_total", Help: "Webhook attempts by result: ok, error (retried), refused (final).",
		}, []string{"result"}),
		relayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edobot_outbox_relayed_total", Help: "Outbox events moved into the queues.",
		}),
		relayErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edobot_outbox_relay_errors_total", Help: "Relay rounds that failed (Redis or PostgreSQL away).",
		}),
		esfSyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edobot_esf_syncs_total", Help: "ИС ЭСФ synchronisations by result: ok, paused, deferred (five-minute rule), error (retried when it may pass).",
		}, []string{"result"}),
		queues: &queueCollector{r: r, inspector: asynq.NewInspectorFromRedisClient(r.rdb)},
	}
}

// Collectors are the jobs' metrics, for the registry the web server serves
// on /metrics.
func (r *Runner) Collectors() []prometheus.Collector {
	m := r.metrics
	cs := []prometheus.Collector{m.latency, m.sent, m.failures, m.webhooks, m.relayed, m.relayErrors, m.queues}
	if r.esf != nil {
		cs = append(cs, m.esfSyncs, esfCallsCollector{r})
	}
	return cs
}

// queueCollector reads the queues' depth from Redis and the outbox's from
// PostgreSQL at each scrape: while Redis is away, the outbox is where the
// backlog shows.
type queueCollector struct {
	r         *Runner
	inspector *asynq.Inspector
}

var (
	queueDepthDesc = prometheus.NewDesc("edobot_queue_tasks", "Tasks in each asynq queue by state.", []string{"queue", "state"}, nil)
	queueLagDesc   = prometheus.NewDesc("edobot_queue_latency_seconds", "Age of the oldest pending task of each queue.", []string{"queue"}, nil)
	outboxDesc     = prometheus.NewDesc("edobot_outbox_pending", "Outbox events not relayed to the queues yet.", nil, nil)
	scrapeDesc     = prometheus.NewDesc("edobot_queue_scrape_ok", "1 when the queues could be read at this scrape.", nil, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- queueLagDesc
	ch <- outboxDesc
	ch <- scrapeDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if n, err := c.r.store.OutboxPending(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n))
	}
	ok := 1.0
	for _, q := range []string{QueueNotify, QueueWebhooks, QueuePeriodic, QueueWhatsApp} {
		info, err := c.inspector.GetQueueInfo(c.r.queue(q))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			continue // nothing was ever queued on it
		}
		if err != nil {
			ok = 0
			continue
		}
		for state, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived, "completed": info.Completed} {
			ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(n), q, state)
		}
		ch <- prometheus.MustNewConstMetric(queueLagDesc, prometheus.GaugeValue, info.Latency.Seconds(), q)
	}
	ch <- prometheus.MustNewConstMetric(scrapeDesc, prometheus.GaugeValue, ok)
}
