// Command edobot is the whole service in one binary: the server, database
// migrations and the operator's commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"edobot/bot/flow"
	"edobot/bot/i18n"
	"edobot/bot/telegram"
	"edobot/bot/web"
	"edobot/core"
	"edobot/core/card"
	"edobot/core/egov"
	"edobot/core/nca"
	"edobot/core/signature"
	"edobot/jobs"
	"edobot/storage"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		return helpCommand(args[1:], stdout, stderr)
	}
	c, rest, ok := find(args)
	if !ok {
		if g := group(args[0]); g != "" && (len(args) == 1 || asksHelp(args[1:2])) {
			if len(args) == 1 {
				fmt.Fprintf(stderr, "edobot: %s needs a command\n\n%s", args[0], g)
				return 2
			}
			fmt.Fprint(stdout, g)
			return 0
		}
		fmt.Fprintf(stderr, "edobot: unknown command %q\n\n%s", strings.Join(args, " "), usage())
		return 2
	}
	if asksHelp(rest) {
		fmt.Fprint(stdout, c.help())
		return 0
	}
	cfg, cfgErr := loadConfig(os.Getenv)
	if cfgErr != nil && !c.noConfig {
		fmt.Fprintf(stderr, "edobot: the configuration has bad values (see `edobot env`):\n%s\n", indent(cfgErr.Error()))
		return 1
	}
	log := newLogger(stderr, cfg.LogLevel)
	asDefault(log)
	err := c.run(ctx, env{cfg: cfg, stdout: stdout, stderr: stderr, log: log}, rest)
	if errors.Is(err, errSilent) {
		return 1
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "edobot: %s\n\n%s", ue, c.help())
			return 2
		}
		fmt.Fprintln(stderr, "edobot:", describe(cfg.Lang, err))
		return 1
	}
	return 0
}

// helpCommand answers `edobot help [COMMAND]`.
func helpCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage())
		return 0
	}
	if c, rest, ok := find(args); ok && len(rest) == 0 {
		fmt.Fprint(stdout, c.help())
		return 0
	}
	if g := group(args[0]); g != "" && len(args) == 1 {
		fmt.Fprint(stdout, g)
		return 0
	}
	fmt.Fprintf(stderr, "edobot: unknown command %q\n\n%s", strings.Join(args, " "), usage())
	return 2
}

// errSilent fails a command that already said why on stdout.
var errSilent = errors.New("failed")

type usageError string

func (u usageError) Error() string { return string(u) }

// describe renders a refusal in the operator's language and keeps internal
// errors as they are: the operator needs the details a chat user must not see.
func describe(lang string, err error) string {
	if i18n.ErrorCode(err) != "" {
		return i18n.MustNew().Error(i18n.Lang(lang), err)
	}
	return err.Error()
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if dirty {
				rev += "-dirty"
			}
			return rev
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

// asDefault makes the command's logger the process's default, so that a
// library logging through slog or the log package writes the same JSON
// lines. Tests, which run many commands in one process, leave it alone.
var asDefault = slog.SetDefault

// newLogger logs at LOG_LEVEL, which the configuration checked.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// openDB creates the database when missing, connects and migrates.
func openDB(ctx context.Context, cfg config) (*storage.DB, []string, error) {
	if err := storage.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return nil, nil, err
	}
	db, err := storage.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, applied, nil
}

func migrate(ctx context.Context, cfg config, stdout io.Writer) error {
	db, applied, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, m := range applied {
		fmt.Fprintln(stdout, "applied", m)
	}
	return nil
}

// signatureFreshness bounds how far a signature's stated signing time may
// be from now: signatures reaching the service are made live.
const signatureFreshness = 15 * time.Minute

// serviceDeps is what the use cases are built from; log is where core
// logs (nil = slog's default).
func serviceDeps(db *storage.DB, cfg config, trust *nca.Trust, log *slog.Logger) (core.Deps, error) {
	v, err := newVerifier(cfg)
	if err != nil {
		return core.Deps{}, err
	}
	if trust != nil { // it holds EDOBOT_TRUSTED_CA's CAs too
		v = &signature.Verifier{Trust: trust, Issuers: trust, Revocation: v.Revocation}
	}
	// Signatures reaching the service are made live: a stated signing time
	// far from now is refused.
	v.Freshness = signatureFreshness
	var verifier core.SignatureVerifier = v
	if cfg.demo != nil {
		verifier = cfg.demo.verifier()
	}
	return core.Deps{Store: db, Blobs: storage.Blobs{DB: db}, Verifier: verifier, Demo: cfg.demo != nil, Egov: db, Webhooks: db, Chats: db,
		Inbox: db, Outreach: db,
		Combine: signature.Combine, Cards: card.Renderer, Downloads: db, Trial: cfg.Trial, TempDir: cfg.TempDir, Log: log}, nil
}

// openService is the database and the use cases for a one-off command.
func openService(ctx context.Context, cfg config) (*core.Service, func(), error) {
	db, _, err := openDB(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	deps, err := serviceDeps(db, cfg, nil, nil)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return core.New(deps), db.Close, nil
}

func orgAdd(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("org add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bin := fs.String("bin", "", "BIN (or IIN of a sole proprietor)")
	name := fs.String("name", "", "name")
	until := fs.String("subscription-until", "", "last day of the subscription, YYYY-MM-DD")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *bin == "" || *name == "" {
		return usageError("org add needs --bin and --name")
	}
	var untilDate *time.Time
	if *until != "" {
		t, err := time.Parse(time.DateOnly, *until)
		if err != nil {
			return usageError("--subscription-until must be a date like 2027-12-31")
		}
		untilDate = &t
	}
	svc, done, err := openService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	org, created, err := svc.RegisterOrganisation(ctx, *bin, *name, untilDate)
	if err != nil {
		return err
	}
	verb := "updated"
	if created {
		verb = "registered"
	}
	fmt.Fprintf(stdout, "organisation %s %s (%s), id %d, subscription %s\n", org.Number, verb, org.Name, org.ID, subscription(*org))
	return nil
}

func apikeyCreate(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	return withOrg(ctx, cfg, "apikey create", args, func(svc *core.Service, bin string) error {
		key, org, err := svc.CreateAPIKey(ctx, bin)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", key)
		fmt.Fprintf(stderr, "API key for %s (%s) created. It is shown only now: keep it safe.\n", org.Number, org.Name)
		return nil
	})
}

func apikeyList(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	return withOrg(ctx, cfg, "apikey list", args, func(svc *core.Service, bin string) error {
		keys, org, err := svc.APIKeys(ctx, bin)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "API keys of %s (%s), times UTC+5:\n", org.Number, org.Name)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tCREATED\tLAST USED\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%d\t%s…\t%s\t%s\t%s\n", k.ID, k.Prefix, cliTime(&k.CreatedAt), cliTime(k.LastUsedAt), cliTime(k.RevokedAt))
		}
		if len(keys) == 0 {
			fmt.Fprintln(tw, "(none)")
		}
		return tw.Flush()
	})
}

// cliTime shows a moment to the operator in Kazakhstan's time; "-" for none.
func cliTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.In(core.KazakhstanTime).Format("2006-01-02 15:04")
}

func apikeyRevoke(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError("apikey revoke needs the key's ID (see apikey list)")
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return usageError("apikey revoke: the ID is a number from apikey list, not " + strconv.Quote(args[0]))
	}
	svc, done, err := openService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	k, already, err := svc.RevokeAPIKey(ctx, id)
	if err != nil {
		return err
	}
	if already {
		fmt.Fprintf(stdout, "API key %d (%s…) was already revoked at %s\n", k.ID, k.Prefix, cliTime(k.RevokedAt))
		return nil
	}
	fmt.Fprintf(stdout, "API key %d (%s…) revoked: it is refused from the next request on\n", k.ID, k.Prefix)
	return nil
}

func webhookSet(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("webhook set", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bin := fs.String("org", "", "BIN/IIN of the organisation")
	u := fs.String("url", "", "the accounting system's endpoint")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *bin == "" || *u == "" {
		return usageError("webhook set needs --org BIN and --url URL")
	}
	svc, done, err := openService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	h, err := svc.SetWebhook(ctx, *bin, *u)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, h.Secret)
	fmt.Fprintf(stderr, "Webhook %s set. The secret above signs every delivery (X-Edobot-Signature: sha256=HMAC(secret, timestamp + \".\" + body)); it is shown only now.\n", h.URL)
	return nil
}

// telegramBot connects the Telegram front end when a token is configured.
// reach lets «Отправить получателю» find recipients on WhatsApp; nil
// without WhatsApp.
func telegramBot(ctx context.Context, cfg config, f flow.Flow, log *slog.Logger,
	reach flow.ReachFunc) (*telegram.Bot, error) {
	if cfg.TelegramToken == "" {
		log.Info("TELEGRAM_TOKEN is empty: the Telegram bot is off")
		return nil, nil
	}
	f.Reach = reach
	return telegram.New(ctx, telegram.Config{Token: cfg.TelegramToken, ServerURL: cfg.TelegramAPIURL,
		WebhookURL: cfg.TelegramWebhookURL, WebhookSecret: cfg.TelegramWebhookSecret}, f)
}

func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	return serveWith(ctx, cfg, log, nil)
}

// serveWith is serve; tune, when a test gives one, adjusts the jobs'
// dependencies before they start.
func serveWith(ctx context.Context, cfg config, log *slog.Logger, tune func(*jobs.Deps)) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	db, applied, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if len(applied) > 0 {
		log.Info("migrations applied", "files", applied)
	}
	// The trusted CAs load now, so a wrong EDOBOT_TRUSTED_CA stops the start.
	// The demo trusts its own CA alone: no NCA certificate.
	var trust *nca.Trust
	if cfg.demo == nil {
		if trust, err = serveTrust(ctx, cfg, db, log); err != nil {
			return err
		}
	}
	wiring, err := serviceDeps(db, cfg, trust, log)
	if err != nil {
		return err
	}
	// Files spooled by a process killed before it could remove them are
	// removed now, those of other live instances left alone.
	spool, removed, err := claimSpoolDir(cfg.TempDir)
	if err != nil {
		return err
	}
	defer func() {
		if err := spool.release(); err != nil {
			log.Warn("removing the spool directory", "dir", spool.path, "err", err)
		}
	}()
	if len(removed) > 0 {
		log.Info("removed the spool directories of processes that died", "dirs", removed)
	}
	wiring.TempDir = spool.path
	// Signings through SIGEX wait in the background, which the shutdown
	// stops once nothing can start one any more.
	// One catalogue of texts for every front end.
	cat := i18n.MustNew()
	svc, bg, err := brokered(ctx, cfg, wiring, db, cat, log)
	if err != nil {
		return err
	} else if bg != nil {
		defer bg.Close() // when the start fails before the loops run
	}
	if svc.ESF, err = esfInvoices(cfg, db, wiring, log); err != nil {
		return err
	}
	srv := &web.Server{Log: log, Version: version(), Service: svc, Cat: cat, PublicURL: cfg.PublicURL,
		EgovLinks: egov.Links{Mobile: cfg.EgovMobileLink, Business: cfg.EgovBusinessLink}, EgovTTL: cfg.EgovTTL,
		EgovPDFMime: cfg.EgovPDFMime, Limits: cfg.Limits, PageCache: pageCache(cfg.TempDir),
		NCALayerURL: cfg.NCALayerURL, Checks: []web.Check{
			{Name: "postgres", Ping: db.Ping},
		}}
	if trust != nil {
		srv.Checks = append(srv.Checks, web.Check{Name: "nca_trust", Ping: trust.Ready})
	}
	cfg.demo.wire(srv)
	// WhatsApp first: the Telegram flow reaches recipients through it.
	chat := chatFlow(cfg, svc, cat, log)
	wa, waErr := whatsappBot(ctx, cfg, chat, db, log)
	defer wa.close()
	if waErr != nil {
		// On but off: not ready, so that the operator sees why.
		srv.Checks = append(srv.Checks, web.Check{Name: "whatsapp", Ping: func(context.Context) error { return waErr }})
	}
	var reach flow.ReachFunc
	if wa != nil {
		reach = wa.bot.Reach
		srv.Checks = append(srv.Checks, web.Check{Name: "whatsapp", Ping: wa.bot.Ready})
		srv.Collectors = append(srv.Collectors, wa.bot.Collectors()...)
		srv.AdminRoutes = wa.adminRoutes(cfg.AdminToken)
		srv.WhatsAppStartLink = wa.bot.StartLink
	}
	tg, err := telegramBot(ctx, cfg, chat, log, reach)
	if err != nil {
		return err
	}
	if tg != nil {
		srv.StartLink, srv.MiniApp = tg.StartLink, tg.CheckMiniApp
		srv.Collectors = append(srv.Collectors, tg.Collectors()...)
		if cfg.TelegramWebhookURL != "" {
			srv.TelegramWebhook = tg.WebhookHandler()
		}
	}
	// The eGov app returns a person who signed in to their chat.
	srv.ChatLink = func(channel string) string {
		switch {
		case channel == core.ChannelTelegram && tg != nil:
			return "https://t.me/" + tg.Username()
		case channel == core.ChannelWhatsApp && wa != nil && wa.bot.Phone() != "":
			return "https://wa.me/" + wa.bot.Phone()
		}
		return ""
	}
	// The front ends by channel: what the jobs deliver (a document's change,
	// a sign-in) goes to the chat's own messenger.
	messengers := map[string]jobs.Messenger{}
	if tg != nil {
		messengers[core.ChannelTelegram] = tg
	}
	if wa != nil {
		messengers[core.ChannelWhatsApp] = wa.bot
	}
	// The notification jobs: the outbox relay, deliveries into chats, the
	// organisations' webhooks, reminders and expiries.
	jcfg := cfg.Jobs
	deps := jobs.Deps{Store: db, Messengers: messengers, Logger: log}
	esfJobs(&deps, svc, db)
	if tune != nil {
		tune(&deps)
	}
	runner := jobs.New(jcfg, deps)
	// Redis is ready when the jobs' own client reaches it.
	srv.Checks = slices.Insert(srv.Checks, 1, web.Check{Name: "redis", Ping: runner.Ping})
	srv.Collectors = append(srv.Collectors, runner.Collectors()...)
	if wa != nil {
		// Served by the bot's Run while this instance holds the session.
		wa.serveDeliveries(runner)
	}
	ln, err := srv.Listen(cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	log.Info("edobot serving", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "version", version(),
		"telegram", cfg.TelegramToken != "", "whatsapp", wa != nil)
	logNextSteps(log, cfg, tg)
	l := loops{http: srv.NewHTTPServer(cfg.HTTPAddr), listener: ln, telegram: tg, whatsapp: wa, background: bg, jobs: runner, trust: trust}
	return l.run(ctx, log)
}

// shutdownTimeout bounds how long the HTTP server waits for the requests
// in flight before it cancels them.
const shutdownTimeout = 15 * time.Second

// loops are what serve runs until a signal or a failure, each owned by
// one errgroup: the first loop to fail ends them all and serve with its
// error.
type loops struct {
	http       *http.Server
	listener   net.Listener
	telegram   *telegram.Bot    // nil when off
	whatsapp   *whatsappFront   // nil when off
	background *core.Background // nil unless eGov goes through SIGEX
	jobs       *jobs.Runner
	trust      *nca.Trust // nil in the demo
}

// run runs the loops; when ctx ends or one fails, it stops them in an
// order where nothing still running needs what was stopped before it:
// the HTTP server stops taking requests and finishes those in flight, the
// bots stop taking updates and finish theirs (their replies still go out,
// and what they queued reaches the jobs; the WhatsApp holder also finishes
// its deliveries, disconnects and gives the session up), the brokered eGov
// waits end, the
// jobs finish their tasks, the trust refresh ends. Only then does run
// return, and serve close the storage.
func (l loops) run(ctx context.Context, log *slog.Logger) error {
	g, gctx := errgroup.WithContext(ctx)
	bots, work, last := newStage(g, ctx), newStage(g, ctx), newStage(g, ctx)
	if l.telegram != nil {
		bots.run("telegram", l.telegram.Run)
	}
	if l.whatsapp != nil {
		// The bot's Run owns the session: it waits for the lease, serves
		// the WhatsApp deliveries while holding it, and gives it up in
		// order, so bots.stop returns before the jobs and the storage stop.
		bots.run("whatsapp", l.whatsapp.bot.Run)
	}
	work.run("jobs", l.jobs.Run)
	if l.trust != nil {
		last.run("trust refresh", l.trust.Run)
	}

	var reqs requests
	httpCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	l.http.Handler = reqs.wrap(l.http.Handler)
	l.http.BaseContext = func(net.Listener) context.Context { return httpCtx }
	g.Go(func() error {
		if err := l.http.Serve(l.listener); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down: the HTTP server finishes its requests", "cause", context.Cause(gctx).Error())
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		err := l.http.Shutdown(sctx)
		cancelRequests()
		reqs.close()
		log.Info("shutting down: the bots finish the updates in flight")
		bots.stop()
		if l.background != nil {
			l.background.Close()
		}
		log.Info("shutting down: the jobs finish the tasks in flight")
		work.stop()
		last.stop()
		if err != nil {
			return fmt.Errorf("http server shutdown: %w", err)
		}
		return nil
	})
	err := g.Wait()
	log.Info("every loop stopped; closing the storage")
	return err
}

// pageCache is where rendered page images are kept between requests and
// restarts: beside the spools in EDOBOT_TMPDIR when it is set, the
// system's temp otherwise ("").
func pageCache(tmp string) string {
	if tmp == "" {
		return ""
	}
	return filepath.Join(tmp, "edobot-pages")
}
