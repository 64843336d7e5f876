package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"edobot/core"
	"edobot/core/tasks"
)

// Messenger tells one chat of a change, in the chat user's language: a
// document's (core.Outbox* document kinds, core.NotifyReminder), a
// sign-in's (core.OutboxChatBound, core.OutboxChatJoined) or an
// organisation's ИС ЭСФ event (core.OutboxESF*).
type Messenger interface {
	Notify(ctx context.Context, chat core.DocumentChat, n core.Notification) error
}

// Outbox is where the relay finds the events to pass on.
type Outbox interface {
	// RelayOutbox hands unsent rows to send, under a lock other relays skip,
	// and marks sent the ids send returns.
	RelayOutbox(ctx context.Context, limit int, at time.Time, send func(ctx context.Context, batch []core.OutboxMessage) ([]uuid.UUID, error)) (int, error)
	OutboxPending(ctx context.Context) (int64, error)
}

// Deliveries remembers which chat was told of which event.
type Deliveries interface {
	Delivered(ctx context.Context, eventID uuid.UUID, chatUserID int64) (bool, error)
	RecordDelivery(ctx context.Context, eventID uuid.UUID, chatUserID int64, at time.Time) error
	// RecordDeliveryFailure notes a delivery the messenger refused for
	// good, with its reason: it counts as done and is not tried again.
	RecordDeliveryFailure(ctx context.Context, eventID uuid.UUID, chatUserID int64, reason string, at time.Time) error
}

// Chats is what the notifications read of documents, chat users and
// organisations.
type Chats interface {
	Document(ctx context.Context, id uuid.UUID) (*core.Document, error)
	Signers(ctx context.Context, documentIDs []uuid.UUID) (map[uuid.UUID][]core.Signature, error)
	DocumentChats(ctx context.Context, d *core.Document) ([]core.DocumentChat, error)
	ChatUserByID(ctx context.Context, id int64) (*core.ChatUser, error)
	// OrgChatUsers lists the chats bound to an organisation that did not
	// block the bot.
	OrgChatUsers(ctx context.Context, orgID int64) ([]core.ChatUser, error)
	OrganisationByID(ctx context.Context, id int64) (*core.Organisation, error)
	MarkChatBlocked(ctx context.Context, chatUserID int64, at time.Time) error
}

// Housekeeping is what the periodic jobs need.
type Housekeeping interface {
	// DocumentsDueForReminder lists documents waiting for a signature,
	// created before createdBefore, not reminded of on day and fewer than
	// most times in all.
	DocumentsDueForReminder(ctx context.Context, createdBefore, day time.Time, most, limit int) ([]uuid.UUID, error)
	RecordReminder(ctx context.Context, documentID uuid.UUID, day time.Time) error
	DeleteExpired(ctx context.Context, before time.Time) (sessions, challenges int64, err error)
}

// Store is everything the jobs read and write; *storage.DB implements it.
type Store interface {
	Outbox
	Deliveries
	Chats
	Housekeeping
	core.WebhookStore
}

// Config tunes the jobs. Zero fields take the defaults of DefaultConfig.
type Config struct {
	RedisAddr     string
	RedisPassword string
	RedisDB       int
	// QueuePrefix is put before every queue name and rate-limit key, so that
	// several deployments (or tests) can share one Redis database.
	QueuePrefix string

	Concurrency     int           // tasks worked on at once by this instance
	RelayInterval   time.Duration // how often the outbox is polled when idle
	RelayBatch      int           // outbox rows relayed per transaction
	QueuePoll       time.Duration // how often an idle worker looks for a task
	DelayedPoll     time.Duration // how often retries and scheduled tasks are moved to their queue
	RetryBase       time.Duration // first retry delay; doubled each time
	RetryMax        time.Duration // longest retry delay
	MaxRetry        int           // attempts of a notification or webhook before it is archived
	Retention       time.Duration // how long a finished task keeps its id taken
	SendTimeout     time.Duration // one call to a messenger or a webhook
	RateWaitMax     time.Duration // longest a worker waits for an overall rate-limit slot before putting a task back
	ChatWaitMax     time.Duration // longest a worker waits for a chat's turn before putting a task back
	ShutdownTimeout time.Duration // how long Run lets tasks in flight finish

	// Limits per channel (core.ChannelTelegram, core.ChannelWhatsApp).
	Limits map[string]RateLimit

	ReminderAfterDays int    // a document unsigned this many days is reminded of, once a day
	ReminderMax       int    // reminders of one document at most
	ReminderSpec      string // cron spec (Kazakhstan time) of the reminder scan
	// ReminderFrom and ReminderUntil are the hours (Kazakhstan time) a scan
	// may queue reminders in: a scan outside them queues none, so people are
	// reminded in the day, never at night.
	ReminderFrom, ReminderUntil int
	ExpirySpec                  string // cron spec of the expiry job
	ExpireAfter                 time.Duration
}

// DefaultConfig runs on a developer's machine.
func DefaultConfig() Config {
	return Config{
		RedisAddr:         "127.0.0.1:6379",
		Concurrency:       20,
		RelayInterval:     200 * time.Millisecond,
		RelayBatch:        100,
		QueuePoll:         100 * time.Millisecond,
		DelayedPoll:       time.Second,
		RetryBase:         time.Second,
		RetryMax:          10 * time.Minute,
		MaxRetry:          100,
		Retention:         24 * time.Hour,
		SendTimeout:       10 * time.Second,
		RateWaitMax:       5 * time.Second,
		ChatWaitMax:       200 * time.Millisecond,
		ShutdownTimeout:   15 * time.Second,
		Limits:            map[string]RateLimit{core.ChannelTelegram: TelegramLimit, core.ChannelWhatsApp: WhatsAppLimit},
		ReminderAfterDays: 2,
		ReminderMax:       3,
		ReminderSpec:      "0 10 * * *",
		ReminderFrom:      9,
		ReminderUntil:     20,
		ExpirySpec:        "30 * * * *",
		ExpireAfter:       24 * time.Hour,
	}
}

// ParseRateLimit reads "30/s,1s", "30/s,1s,5" or "20/m,3s,1,3s": messages
// a second ("/s") or a minute ("/m") overall, the least time between two
// messages to one chat, how many messages may go at once after a pause (1 =
// none), and up to how much later each message is put at random.
func ParseRateLimit(v string) (RateLimit, error) {
	bad := errors.New(`want "<messages>/s|/m,<per-chat interval>[,<burst>[,<jitter>]]", like "30/s,1s,5" or "20/m,3s,1,3s"`)
	parts := strings.Split(v, ",")
	if len(parts) < 2 || len(parts) > 4 {
		return RateLimit{}, bad
	}
	rate, per := strings.TrimSpace(parts[0]), 1.0
	switch {
	case strings.HasSuffix(rate, "/m"):
		rate, per = strings.TrimSuffix(rate, "/m"), 60
	default:
		rate = strings.TrimSuffix(rate, "/s")
	}
	n, err := strconv.ParseFloat(rate, 64)
	if err != nil || n <= 0 {
		return RateLimit{}, bad
	}
	n /= per
	d, err := time.ParseDuration(strings.TrimSpace(parts[1]))
	if err != nil || d < 0 {
		return RateLimit{}, bad
	}
	burst := 1
	if len(parts) >= 3 {
		if burst, err = strconv.Atoi(strings.TrimSpace(parts[2])); err != nil || burst < 1 {
			return RateLimit{}, bad
		}
	}
	var jitter time.Duration
	if len(parts) == 4 {
		if jitter, err = time.ParseDuration(strings.TrimSpace(parts[3])); err != nil || jitter < 0 {
			return RateLimit{}, bad
		}
	}
	return RateLimit{PerSecond: n, Burst: burst, PerChat: d, Jitter: jitter}, nil
}

func (c *Config) fill() {
	d := DefaultConfig()
	setDur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	if c.RedisAddr == "" {
		c.RedisAddr = d.RedisAddr
	}
	if c.Concurrency <= 0 {
		c.Concurrency = d.Concurrency
	}
	if c.RelayBatch <= 0 {
		c.RelayBatch = d.RelayBatch
	}
	if c.MaxRetry <= 0 {
		c.MaxRetry = d.MaxRetry
	}
	setDur(&c.RelayInterval, d.RelayInterval)
	setDur(&c.QueuePoll, d.QueuePoll)
	setDur(&c.DelayedPoll, d.DelayedPoll)
	setDur(&c.RetryBase, d.RetryBase)
	setDur(&c.RetryMax, d.RetryMax)
	setDur(&c.Retention, d.Retention)
	setDur(&c.SendTimeout, d.SendTimeout)
	setDur(&c.RateWaitMax, d.RateWaitMax)
	setDur(&c.ChatWaitMax, d.ChatWaitMax)
	setDur(&c.ShutdownTimeout, d.ShutdownTimeout)
	setDur(&c.ExpireAfter, d.ExpireAfter)
	if c.Limits == nil {
		c.Limits = d.Limits
	}
	if c.ReminderAfterDays <= 0 {
		c.ReminderAfterDays = d.ReminderAfterDays
	}
	if c.ReminderMax <= 0 {
		c.ReminderMax = d.ReminderMax
	}
	if c.ReminderFrom == 0 && c.ReminderUntil == 0 {
		c.ReminderFrom, c.ReminderUntil = d.ReminderFrom, d.ReminderUntil
	}
	if c.ReminderSpec == "" {
		c.ReminderSpec = d.ReminderSpec
	}
	if c.ExpirySpec == "" {
		c.ExpirySpec = d.ExpirySpec
	}
}

// Deps are what the jobs work with.
type Deps struct {
	Store Store
	// Messengers by channel; a chat of a channel without one is skipped.
	Messengers map[string]Messenger
	HTTPClient *http.Client // for webhooks; a default one when nil
	Logger     *slog.Logger
	Now        func() time.Time
	// OnRateGrant, when set, is told of every message slot the rate
	// limiter reserves (tests check the limits with it).
	OnRateGrant func(Grant)
	// ESF, when set, synchronises the organisations' incoming invoices
	// every ESF.Poll(); ESFOrgs names the organisations.
	ESF     ESF
	ESFOrgs ESFOrgs
}

// Queue names, before Config.QueuePrefix.
const (
	QueueNotify   = "notify"
	QueueWebhooks = "webhooks"
	QueuePeriodic = "periodic"
	// QueueWhatsApp holds the deliveries to WhatsApp chats: only the
	// instance holding the WhatsApp session serves it (ServeWhatsApp).
	QueueWhatsApp = "whatsapp"
)

// Runner runs the outbox relay, the asynq workers and the scheduler of one
// edobot instance; any number of instances may run against one database and
// one Redis.
type Runner struct {
	cfg     Config
	store   Store
	msgs    map[string]Messenger
	http    *http.Client
	log     *slog.Logger
	now     func() time.Time
	rdb     redis.UniversalClient
	client  *asynq.Client
	limiter *Limiter
	metrics *metrics
	esf     ESF
	esfOrgs ESFOrgs

	// serving counts the ServeWhatsApp calls running: Run closes the Redis
	// connection they share only after them, and none starts once Run
	// returned (stopped).
	servingMu sync.Mutex
	stopped   bool
	serving   sync.WaitGroup

	// afterDelivery, when set by a test, runs once a delivery is recorded
	// and before its task is acknowledged.
	afterDelivery func(ctx context.Context)
}

// New prepares a Runner; nothing connects before Run.
func New(cfg Config, deps Deps) *Runner {
	cfg.fill()
	r := &Runner{cfg: cfg, store: deps.Store, msgs: deps.Messengers, http: deps.HTTPClient, log: deps.Logger, now: deps.Now,
		esf: deps.ESF, esfOrgs: deps.ESFOrgs}
	if r.esf == nil || r.esfOrgs == nil {
		r.esf, r.esfOrgs = nil, nil
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.log = r.log.With("component", "jobs")
	if r.now == nil {
		r.now = time.Now
	}
	if r.http == nil {
		r.http = &http.Client{Timeout: cfg.SendTimeout}
	}
	// Short timeouts: while Redis is away the relay must notice at once and
	// leave the outbox rows for later rather than hold their lock.
	r.rdb = redis.NewClient(&redis.Options{
		Addr: cfg.RedisAddr, Password: cfg.RedisPassword, DB: cfg.RedisDB,
		DialTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second,
		MaxRetries: 1,
	})
	r.client = asynq.NewClientFromRedisClient(r.rdb)
	r.limiter = NewLimiter(r.rdb, "edobot:"+cfg.QueuePrefix)
	r.limiter.OnGrant = deps.OnRateGrant
	r.metrics = newMetrics(r)
	return r
}

// Ping reports whether the Redis of the queues answers, through the
// Runner's own client.
func (r *Runner) Ping(ctx context.Context) error {
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("jobs: redis: %w", err)
	}
	return nil
}

func (r *Runner) queue(name string) string { return r.cfg.QueuePrefix + name }

// Run works until ctx ends, then lets the tasks in flight finish (for up to
// Config.ShutdownTimeout; the rest go back to the queue) and returns once
// every handler it started returned.
func (r *Runner) Run(ctx context.Context) error {
	defer func() {
		r.servingMu.Lock()
		r.stopped = true
		r.servingMu.Unlock()
		r.serving.Wait() // ServeWhatsApp uses the same Redis client
		r.rdb.Close()
	}()
	stopWorkers, err := r.serveQueues(ctx, r.cfg.Concurrency,
		map[string]int{r.queue(QueueNotify): 6, r.queue(QueueWebhooks): 3, r.queue(QueuePeriodic): 1}, r.mux())
	if err != nil {
		return fmt.Errorf("jobs: start workers: %w", err)
	}
	// The scheduler gets a connection of its own: it closes it on shutdown.
	sched := asynq.NewScheduler(asynq.RedisClientOpt{Addr: r.cfg.RedisAddr, Password: r.cfg.RedisPassword, DB: r.cfg.RedisDB,
		DialTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second}, &asynq.SchedulerOpts{
		Location: core.KazakhstanTime, Logger: asynqLogger{r.log}, LogLevel: asynq.WarnLevel,
	})
	if err := r.register(sched); err != nil {
		stopWorkers()
		return err
	}
	if err := sched.Start(); err != nil {
		stopWorkers()
		return fmt.Errorf("jobs: start scheduler: %w", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { r.relay(ctx) })
	r.log.Info("jobs started", "redis", r.cfg.RedisAddr, "concurrency", r.cfg.Concurrency)
	<-ctx.Done()
	wg.Wait()
	sched.Shutdown()
	stopWorkers()
	r.log.Info("jobs stopped")
	return nil
}

// serveQueues starts asynq's workers on queues (name → priority) with
// concurrency handlers at most. stop lets the tasks in flight finish (for
// up to Config.ShutdownTimeout; the rest go back to the queue) and returns
// once every handler it started returned.
func (r *Runner) serveQueues(ctx context.Context, concurrency int, queues map[string]int, h asynq.Handler) (stop func(), err error) {
	// Handlers must not see ctx's end: Shutdown decides what finishes. A
	// handler asynq gave up on at the timeout is cancelled, and waited for.
	handling, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var tasks taskSet
	srv := asynq.NewServerFromRedisClient(r.rdb, asynq.Config{
		Concurrency:              concurrency,
		BaseContext:              func() context.Context { return handling },
		TaskCheckInterval:        r.cfg.QueuePoll,
		DelayedTaskCheckInterval: r.cfg.DelayedPoll,
		RetryDelayFunc:           r.retryDelay,
		IsFailure:                func(err error) bool { return !isRateLimited(err) },
		Queues:                   queues,
		ShutdownTimeout:          r.cfg.ShutdownTimeout,
		Logger:                   asynqLogger{r.log},
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler:             asynq.ErrorHandlerFunc(r.taskFailed),
	})
	if err := srv.Start(tasks.wrap(h)); err != nil {
		cancel()
		return nil, err
	}
	return func() {
		srv.Shutdown()
		cancel()
		tasks.close()
	}, nil
}

// taskSet owns the goroutines asynq runs handlers in: asynq stops waiting
// for one at its shutdown timeout, but the handler goes on until it
// returns. close refuses new handlers and waits for the running ones.
type taskSet struct{ tasks.Group }

var errStopping = errors.New("jobs: stopping")

func (s *taskSet) wrap(h asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		if !s.Enter() {
			return errStopping
		}
		defer s.Leave()
		return h.ProcessTask(ctx, t)
	})
}

func (s *taskSet) close() { s.Close() }

// Idle reports whether there is nothing left to do: no event waits in the
// outbox and no task of this deployment's queues is pending, running,
// scheduled or waiting for a retry, so no message is on its way. (A
// periodic job the scheduler starts later is work again.) Tests wait for it
// before they check that nothing more was sent.
func (r *Runner) Idle(ctx context.Context) (bool, error) {
	// The outbox first: the relay queues an event's task before it marks the
	// event sent, so an event is always in one place or the other.
	if n, err := r.store.OutboxPending(ctx); err != nil || n > 0 {
		return false, err
	}
	insp := r.metrics.queues.inspector
	known, err := insp.Queues()
	if err != nil {
		return false, fmt.Errorf("jobs: queues: %w", err)
	}
	for _, q := range []string{QueueNotify, QueueWebhooks, QueuePeriodic, QueueWhatsApp} {
		if !slices.Contains(known, r.queue(q)) {
			continue // nothing was ever queued on it
		}
		info, err := insp.GetQueueInfo(r.queue(q))
		if err != nil {
			return false, fmt.Errorf("jobs: queue %s: %w", q, err)
		}
		if info.Pending+info.Active+info.Scheduled+info.Retry+info.Aggregating > 0 {
			return false, nil
		}
	}
	return true, nil
}

func (r *Runner) mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.HandleFunc(TaskNotifyEvent, r.handleEvent)
	mux.HandleFunc(TaskNotifyDeliver, r.handleDeliver)
	mux.HandleFunc(TaskWebhook, r.handleWebhook)
	mux.HandleFunc(TaskReminders, r.handleReminders)
	mux.HandleFunc(TaskExpiry, r.handleExpiry)
	if r.esf != nil {
		mux.HandleFunc(TaskESFSchedule, r.scheduleESF)
		mux.HandleFunc(TaskESFSync, r.handleESFSync)
	}
	return mux
}

// retryDelay obeys a messenger's 429 and a rate limiter's "later" exactly,
// and backs off exponentially from everything else.
func (r *Runner) retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if d, ok := retryAfter(err); ok {
		return d
	}
	d := r.cfg.RetryBase << min(n, 30)
	if d <= 0 || d > r.cfg.RetryMax {
		d = r.cfg.RetryMax
	}
	return d
}

// taskFailed logs a failed attempt; the failure counters are kept by the
// handlers, which know the reason.
func (r *Runner) taskFailed(ctx context.Context, t *asynq.Task, err error) {
	if isRateLimited(err) {
		return
	}
	id, _ := asynq.GetTaskID(ctx)
	r.log.Warn("task failed", "type", t.Type(), "id", id, "err", err)
}

// enqueue puts a task on a queue under a fixed id; a task already holding
// the id (waiting, running, or finished within Config.Retention) counts as
// done, so enqueueing again is harmless.
func (r *Runner) enqueue(ctx context.Context, t *asynq.Task, id, queue string, opts ...asynq.Option) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	opts = append([]asynq.Option{asynq.TaskID(id), asynq.Queue(r.queue(queue)), asynq.Retention(r.cfg.Retention), asynq.MaxRetry(r.cfg.MaxRetry)}, opts...)
	_, err := r.client.EnqueueContext(ctx, t, opts...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s %s: %w", t.Type(), id, err)
	}
	return nil
}

// asynqLogger sends asynq's own logs to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "from", "asynq") }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "from", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "from", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "from", "asynq") }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...), "from", "asynq") }
