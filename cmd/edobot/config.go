package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/robfig/cron/v3"

	"edobot/bot/i18n"
	"edobot/bot/web"
	"edobot/bot/whatsapp"
	"edobot/core"
	"edobot/core/egov"
	"edobot/core/esf"
	"edobot/core/nca"
	"edobot/core/sigex"
	"edobot/jobs"
)

// config is edobot's configuration. It is read from the environment in one
// place, loadConfig, by the table of variables below; the packages get plain
// structs (web.Limits, jobs.Config) filled from it. `edobot env` prints the
// table as README's configuration section.
type config struct {
	DatabaseURL   string
	HTTPAddr      string
	PublicURL     string
	TelegramToken string
	Lang          string
	TempDir       string
	LogLevel      string
	TrustedCA     string      // PEM bundles of trusted CAs, comma-separated
	trustedCAs    []nca.Extra // their certificates, read once by loadConfig
	OCSPURL       string      // OCSP responder; empty = NCA's, "off" = no revocation check
	// OCSPUnreachable: "refuse" (default) or "accept" a signature whose revocation cannot be checked.
	OCSPUnreachable string
	// NCA's CA certificates trusted out of the box: EDOBOT_NCA (production,
	// test or off), where they are downloaded from, and how often.
	NCA        string
	NCACertURL string
	NCACerts   string
	NCARefresh time.Duration
	// eGov deep-link templates; %s is the URL-encoded session URL.
	EgovMobileLink   string
	EgovBusinessLink string
	EgovTTL          time.Duration
	EgovPDFMime      string // API №2's mime of a PDF: application/pdf or the legacy @file/pdf
	NCALayerURL      string
	// Telegram: the Bot API server (tests and local Bot API servers), and
	// the webhook mode's public URL and secret token (long polling without).
	TelegramAPIURL        string
	TelegramWebhookURL    string
	TelegramWebhookSecret string
	// Trial is how long an organisation that registers itself in a chat may
	// send documents before it needs a subscription.
	Trial time.Duration
	// demo is `edobot demo`'s kit; never from the environment, nil for
	// every other command.
	demo *demoKit
	// databaseURLGiven: DATABASE_URL was set (the demo picks its own
	// database otherwise).
	databaseURLGiven bool
	// WhatsApp runs the WhatsApp bot (EDOBOT_WHATSAPP=on); AdminToken guards
	// the operator's URLs, such as the WhatsApp pairing QR.
	WhatsApp   bool
	AdminToken string
	// Cold is the WhatsApp cold-outreach policy (EDOBOT_WHATSAPP_COLD*).
	Cold whatsapp.Cold

	// EgovVia is how the eGov app reaches us: "direct" (our own QR
	// protocol; our domain must be on eGov's allow-list) or "sigex"
	// (through SIGEX's egovQr at SigexURL; see sigex.go).
	EgovVia  string
	SigexURL string

	// ИС ЭСФ: incoming invoices in the chats (EDOBOT_ESF=on), the key that
	// seals the cabinet passwords, the service and its pace (see esf.go).
	ESF            bool
	SecretKey      string
	ESFURL         string
	ESFPoll        time.Duration
	ESFTicketTTL   time.Duration
	ESFDailyCalls  int
	ESFCallTimeout time.Duration
	ESFPageSize    int

	// Limits of the HTTP server and the page renders.
	Limits web.Limits
	// Jobs tunes the notification jobs; its RedisAddr is REDIS_ADDR.
	Jobs jobs.Config
}

// The sections of README's configuration table, in order.
const (
	secService = "Service"
	secChats   = "Telegram and WhatsApp"
	secTrust   = "Signatures and trust"
	secEgov    = "eGov"
	secESF     = "ИС ЭСФ (electronic invoices)"
	secHTTP    = "HTTP limits"
	secPages   = "Page images"
	secJobs    = "Notifications and queues"
)

// variable is one environment variable: its name, default and meaning for
// README, and how its value is checked and stored.
type variable struct {
	Name    string
	Section string
	// Default is what an unset or empty variable takes; it goes through the
	// same check as a given value ("" leaves the field empty).
	Default string
	// Shown is README's default when Default alone would not say it (a
	// default worked out elsewhere); empty shows Default.
	Shown   string
	Meaning string // Markdown
	// Secret values are never repeated in an error.
	Secret bool
	kind
}

// kind is what values a variable takes: Allowed says it (Markdown, a noun
// phrase: "a duration above 0 …"), set checks and stores one.
type kind struct {
	Allowed string
	set     func(v string) error
}

// errBad is a value that is not what kind.Allowed says, with nothing more
// to add.
var errBad = errors.New("bad value")

// variables is the table of every variable edobot reads, bound to c's fields.
func (c *config) variables() []variable {
	return []variable{
		{Name: "DATABASE_URL", Section: secService, Default: "postgres://postgres:postgres@127.0.0.1:5432/edobot?sslmode=disable", Secret: true,
			Meaning: "PostgreSQL; the database is created if missing. `pool_max_conns` in the URL sets the pool size (default 16)", kind: postgresURL(&c.DatabaseURL)},
		{Name: "REDIS_ADDR", Section: secService, Default: "127.0.0.1:6379",
			Meaning: "Redis, for the job queues", kind: hostPort(&c.Jobs.RedisAddr)},
		{Name: "HTTP_ADDR", Section: secService, Default: "127.0.0.1:8080",
			Meaning: "where `serve` listens", kind: hostPort(&c.HTTPAddr)},
		{Name: "PUBLIC_URL", Section: secService, Default: "http://127.0.0.1:8080",
			Meaning: "the address recipients and signing apps reach; links are built on it", kind: webURL(&c.PublicURL, "http", "https")},
		{Name: "EDOBOT_LANG", Section: secService, Default: "ru",
			Meaning: "language of the command line's messages", kind: oneOf(&c.Lang, i18n.Languages...)},
		{Name: "LOG_LEVEL", Section: secService, Default: "info",
			Meaning: "logs are JSON on stderr", kind: oneOf(&c.LogLevel, "debug", "info", "warn", "error")},
		{Name: "EDOBOT_TMPDIR", Section: secService, Shown: "the system's",
			Meaning: "where uploads are spooled while they are checked, and cards made. `serve` keeps its files in a directory of its own there, `edobot-spool-<pid>-<id>/`, beside a lock file it holds while it runs; at start it removes the spool directories whose lock is free (their process died, `kill -9` included), never those of live instances sharing the directory nor anything else there. Rendered page images are cached in `edobot-pages/` there (in the system's temp when unset); a render or copy a killed process left half-made is removed at the next start",
			kind:    text(&c.TempDir)},
		{Name: "EDOBOT_TRIAL", Section: secService, Default: "336h", Shown: "`336h` (14 days)",
			Meaning: "how long an organisation that registered itself in a chat may send documents before it needs a subscription", kind: duration(&c.Trial)},
		{Name: "EDOBOT_ADMIN_TOKEN", Section: secService, Shown: "empty (admin URLs off)", Secret: true,
			Meaning: "bearer token of the operator's URLs: `GET /admin/whatsapp/qr.png`", kind: text(&c.AdminToken)},

		{Name: "TELEGRAM_TOKEN", Section: secChats, Shown: "empty (Telegram off)", Secret: true,
			Meaning: "the bot's token from @BotFather", kind: text(&c.TelegramToken)},
		{Name: "TELEGRAM_API_URL", Section: secChats, Shown: "Telegram's",
			Meaning: "another Bot API server (a local `telegram-bot-api`, or a test server)", kind: webURL(&c.TelegramAPIURL, "http", "https")},
		{Name: "TELEGRAM_WEBHOOK_URL", Section: secChats, Shown: "empty (long polling)",
			Meaning: "the public URL of `POST /telegram/webhook`; Telegram then calls it instead of being polled", kind: telegramWebhook(&c.TelegramWebhookURL)},
		{Name: "TELEGRAM_WEBHOOK_SECRET", Section: secChats, Secret: true,
			Meaning: "required with the webhook: Telegram sends it as `X-Telegram-Bot-Api-Secret-Token`, and a call without it is answered 401",
			kind:    webhookSecret(&c.TelegramWebhookSecret)},
		{Name: "EDOBOT_WHATSAPP", Section: secChats, Default: "off",
			Meaning: "`on` runs the WhatsApp bot in `serve` (its device store lives in `DATABASE_URL`, tables `whatsmeow_*`)", kind: onOff(&c.WhatsApp)},
		{Name: "EDOBOT_WHATSAPP_COLD", Section: secChats, Default: "off",
			Meaning: "`on` lets «Отправить получателю» write first to a WhatsApp number that never wrote to the bot, within the budgets below and only 09:00–20:00 Kazakhstan time; `off` (WhatsApp bans accounts that write to strangers) offers the sender the bot's `wa.me` link with the document to forward instead",
			kind:    onOff(&c.Cold.On)},
		{Name: "EDOBOT_WHATSAPP_COLD_START", Section: secChats, Default: "5",
			Meaning: "first messages to such numbers a day for the bot's account at first", kind: integer(&c.Cold.Start, 1, 1000)},
		{Name: "EDOBOT_WHATSAPP_COLD_MAX", Section: secChats, Default: "20",
			Meaning: "the same once warmed up; the budget grows evenly from the start to this", kind: integer(&c.Cold.Full, 1, 1000)},
		{Name: "EDOBOT_WHATSAPP_COLD_WARMUP", Section: secChats, Default: "336h", Shown: "`336h` (14 days)",
			Meaning: "how long the growth takes, from the account's first such message", kind: duration(&c.Cold.WarmUp)},
		{Name: "EDOBOT_WHATSAPP_COLD_PER_ORG", Section: secChats, Default: "5",
			Meaning: "first messages a day on behalf of one organisation", kind: integer(&c.Cold.PerOrg, 1, 1000)},
		{Name: "EDOBOT_WHATSAPP_COLD_PAUSE", Section: secChats, Default: "168h", Shown: "`168h` (7 days)",
			Meaning: "how long an organisation's first messages stop after WhatsApp refused one as restricted (error 463)", kind: duration(&c.Cold.Pause)},
		{Name: "EDOBOT_WHATSAPP_LOOKUP_TTL", Section: secChats, Default: "168h", Shown: "`168h` (7 days)",
			Meaning: "how long WhatsApp's answer whether a number is on it is kept before asking again", kind: duration(&c.Cold.LookupFresh)},

		{Name: "EDOBOT_NCA", Section: secTrust, Default: string(nca.ModeProduction),
			Meaning: "whose CA certificates are trusted out of the box (see «Trust»): `production` (NCA's, from pki.gov.kz), `test` (NCA's test PKI, from test.pki.gov.kz) or `off` (only `EDOBOT_TRUSTED_CA`)",
			kind:    ncaMode(&c.NCA)},
		{Name: "EDOBOT_NCA_CERT_URL", Section: secTrust, Shown: "`" + nca.ProductionBaseURL + "` (`" + nca.TestBaseURL + "` for `test`)",
			Meaning: "where the certificates' file names are downloaded from: NCA's site, or a mirror of it", kind: webURL(&c.NCACertURL, "http", "https")},
		{Name: "EDOBOT_NCA_CERTS", Section: secTrust, Shown: "NCA's list (see «Trust»)",
			Meaning: "the certificates to download: file names under `EDOBOT_NCA_CERT_URL`, or full URLs", kind: ncaCerts(&c.NCACerts)},
		{Name: "EDOBOT_NCA_REFRESH", Section: secTrust, Default: "24h",
			Meaning: "how often `serve` downloads them again", kind: duration(&c.NCARefresh)},
		{Name: "EDOBOT_TRUSTED_CA", Section: secTrust,
			Meaning: "PEM bundles (comma-separated paths) of CAs trusted on top of NCA's; self-signed ones are roots", kind: pemFiles(&c.TrustedCA, &c.trustedCAs)},
		{Name: "EDOBOT_OCSP_URL", Section: secTrust, Shown: "`http://ocsp.pki.gov.kz` (NCA's; with `EDOBOT_NCA=test`, `http://test.pki.gov.kz/ocsp/`; with `EDOBOT_NCA=off`, none unless set)",
			Meaning: "the OCSP responder asked about every signer certificate; a certificate revoked before signing is refused; `off` disables the check", kind: ocspURL(&c.OCSPURL)},
		{Name: "EDOBOT_OCSP_UNREACHABLE", Section: secTrust, Default: "refuse",
			Meaning: "when the responder cannot be reached or gives no trustworthy answer: `refuse` the signature («revocation could not be checked, try again later», nothing is recorded) or `accept` it as if the certificate were good (logged). Refusing is the default because a recorded signature is legally binding",
			kind:    oneOf(&c.OCSPUnreachable, "refuse", "accept")},

		{Name: "EDOBOT_EGOV_VIA", Section: secEgov, Default: egovDirect,
			Meaning: "how the eGov app reaches edobot: `direct` (our own QR protocol at `PUBLIC_URL`, whose domain must be on eGov's allow-list) or `sigex` (through SIGEX's `egovQr`; see «Prerequisites for real signing»)",
			kind:    oneOf(&c.EgovVia, egovDirect, egovSIGEX)},
		{Name: "EDOBOT_SIGEX_URL", Section: secEgov, Default: sigex.DefaultBaseURL,
			Meaning: "SIGEX's address in `sigex` mode (tests point it at a fake)", kind: webURL(&c.SigexURL, "http", "https")},
		{Name: "EDOBOT_EGOV_MOBILE_LINK", Section: secEgov, Default: egov.DefaultLinks.Mobile,
			Meaning: "eGov Mobile deep link (NITEC's «Кросс подписание»); `%s` is API №1, URL-encoded. The old `*.page.link` links died with Firebase Dynamic Links on 2025-08-25",
			kind:    linkTemplate(&c.EgovMobileLink)},
		{Name: "EDOBOT_EGOV_BUSINESS_LINK", Section: secEgov, Default: egov.DefaultLinks.Business,
			Meaning: "eGov Business deep link, likewise", kind: linkTemplate(&c.EgovBusinessLink)},
		{Name: "EDOBOT_EGOV_TTL", Section: secEgov, Default: "10m",
			Meaning: "how long an eGov QR / deep link stays usable", kind: duration(&c.EgovTTL)},
		{Name: "EDOBOT_EGOV_PDF_MIME", Section: secEgov, Default: egov.MimePDF,
			Meaning: "the `mime` API №2 gives a PDF: `application/pdf` (the app shows the PDF and lets the person save it), or the legacy `@file/pdf`",
			kind:    oneOf(&c.EgovPDFMime, egov.MimePDF, egov.MimePDFLegacy)},
		{Name: "EDOBOT_NCALAYER_URL", Section: secEgov, Default: web.DefaultNCALayerURL,
			Meaning: "where the signing page looks for NCALayer on the visitor's computer", kind: webURL(&c.NCALayerURL, "ws", "wss")},

		{Name: "EDOBOT_ESF", Section: secESF, Default: "off",
			Meaning: "`on` brings the organisations' incoming electronic invoices from ИС ЭСФ into their chats («ИС ЭСФ» in the menu, `/esf`); it needs `EDOBOT_SECRET_KEY`. Off by default: it speaks to a state system with each manager's cabinet password",
			kind:    onOff(&c.ESF)},
		{Name: "EDOBOT_SECRET_KEY", Section: secESF, Shown: "empty (required with `EDOBOT_ESF=on`)", Secret: true,
			Meaning: "the deployment's secret (at least 32 characters) from which the AES-256-GCM key sealing the ИС ЭСФ cabinet passwords is derived. Changing it makes the kept passwords unreadable: managers enter them again",
			kind:    secretKey(&c.SecretKey)},
		{Name: "EDOBOT_ESF_URL", Section: secESF, Default: esf.ProductionBaseURL,
			Meaning: "ИС ЭСФ's SOAP services (`/AuthService`, `/SessionService`, `/InvoiceService` under it); the test system is `" + esf.TestBaseURL + "`",
			kind:    webURL(&c.ESFURL, "http", "https")},
		{Name: "EDOBOT_ESF_POLL", Section: secESF, Default: "15m",
			Meaning: "how often each organisation with an active ticket is synchronised", kind: durationIn(&c.ESFPoll, 5*time.Minute, 24*time.Hour)},
		{Name: "EDOBOT_ESF_TICKET_TTL", Section: secESF, Default: "24h",
			Meaning: "the life a new ticket is asked for (`createAuthTicket`'s `ttlInMinutes`); a longer one is announced a day before it ends",
			kind:    durationIn(&c.ESFTicketTTL, time.Minute, 24*time.Hour)},
		{Name: "EDOBOT_ESF_DAILY_CALLS", Section: secESF, Default: "3000",
			Meaning: "calls to ИС ЭСФ an organisation may make a day (Kazakhstan time), shown in `/metrics` as `edobot_esf_calls_today`; `0` is no limit",
			kind:    integer(&c.ESFDailyCalls, 0, 10_000_000)},
		{Name: "EDOBOT_ESF_CALL_TIMEOUT", Section: secESF, Default: "1m",
			Meaning: "the longest one call to ИС ЭСФ may take; a timeout is retried with backoff", kind: duration(&c.ESFCallTimeout)},
		{Name: "EDOBOT_ESF_PAGE_SIZE", Section: secESF, Shown: "ИС ЭСФ's",
			Meaning: "updates asked for per `queryUpdates` page", kind: integer(&c.ESFPageSize, 1, 1000)},

		{Name: "EDOBOT_HTTP_MAX_CONNS", Section: secHTTP, Default: "1024",
			Meaning: "connections held open at once; more wait in the listen backlog", kind: integer(&c.Limits.MaxConns, 1, 1_000_000)},
		{Name: "EDOBOT_HTTP_HEADER_TIMEOUT", Section: secHTTP, Default: "10s",
			Meaning: "time to send a request's headers", kind: duration(&c.Limits.HeaderTimeout)},
		{Name: "EDOBOT_HTTP_IDLE_TIMEOUT", Section: secHTTP, Default: "60s",
			Meaning: "how long a keep-alive connection may sit idle", kind: duration(&c.Limits.IdleTimeout)},
		{Name: "EDOBOT_HTTP_REQUEST_TIMEOUT", Section: secHTTP, Default: "30s",
			Meaning: "time any request gets to start sending its body, and each piece (up to 64 KiB) of its answer to be taken (the status long poll and page renders add their wait before answering)",
			kind:    duration(&c.Limits.RequestTimeout)},
		{Name: "EDOBOT_HTTP_MIN_RATE", Section: secHTTP, Default: "16K",
			Meaning: "bytes a second on top of that: a body must average it from the request's start, each piece of an answer gets its size at this rate. A 15 MB upload or download on a slow phone goes on; a stalled or trickling client is cut",
			kind:    size(&c.Limits.MinRate)},
		{Name: "EDOBOT_HTTP_TRANSFER_MAX", Section: secHTTP, Default: "15m",
			Meaning: "the longest any request may take", kind: duration(&c.Limits.TransferMax)},
		{Name: "EDOBOT_RATE_VIEW", Section: secHTTP, Default: "50/s:200,300/s:1000",
			Meaning: "link pages, downloads and page images: per client address, then per link; a rate per second (`/s`) or minute (`/m`) and, after `:`, the burst; `off` for none. Over it: 429 with `Retry-After`",
			kind:    webRate(&c.Limits.Rates.View)},
		{Name: "EDOBOT_RATE_STATUS", Section: secHTTP, Default: "2/s:20,100/s:400",
			Meaning: "the link page's status long poll, likewise", kind: webRate(&c.Limits.Rates.Status)},
		{Name: "EDOBOT_RATE_SIGN", Section: secHTTP, Default: "12/m:10,60/m:20",
			Meaning: "starting a signature from a link (`POST /d/{link}/egov`, `/sign`), likewise", kind: webRate(&c.Limits.Rates.Sign)},
		{Name: "EDOBOT_TRUSTED_PROXIES", Section: secHTTP,
			Meaning: "reverse proxies whose `X-Forwarded-For` names the client; without them the client is the connection's address",
			kind:    proxies(&c.Limits.TrustedProxies)},

		{Name: "EDOBOT_RENDER_CONCURRENCY", Section: secPages, Default: "2",
			Meaning: "page images (`pdftoppm`) rendered at once; one render per page however many visitors ask", kind: integer(&c.Limits.RenderConcurrency, 1, 256)},
		{Name: "EDOBOT_RENDER_TIMEOUT", Section: secPages, Default: "20s",
			Meaning: "wall-clock time one page render may take", kind: duration(&c.Limits.RenderTimeout)},
		{Name: "EDOBOT_RENDER_CPU", Section: secPages, Default: "10s",
			Meaning: "CPU time one page render may take (rlimit)", kind: duration(&c.Limits.RenderCPU)},
		{Name: "EDOBOT_RENDER_MEMORY", Section: secPages, Default: "1G",
			Meaning: "address space one page render may take (rlimit). A page that fails is shown as unavailable and not tried again for an hour", kind: size(&c.Limits.RenderMemory)},
		{Name: "EDOBOT_PAGE_CACHE_SIZE", Section: secPages, Default: "512M",
			Meaning: "rendered pages and PDF copies kept on disk; the least recently used go first", kind: size(&c.Limits.PageCacheSize)},

		{Name: "EDOBOT_REDIS_DB", Section: secJobs, Default: "0",
			Meaning: "Redis database of the queues (address: `REDIS_ADDR`)", kind: integer(&c.Jobs.RedisDB, 0, 65535)},
		{Name: "EDOBOT_REDIS_PASSWORD", Section: secJobs, Secret: true,
			Meaning: "Redis password of the queues", kind: text(&c.Jobs.RedisPassword)},
		{Name: "EDOBOT_QUEUE_PREFIX", Section: secJobs,
			Meaning: "put before queue names and rate-limit keys, to share a Redis database", kind: text(&c.Jobs.QueuePrefix)},
		{Name: "EDOBOT_JOBS_CONCURRENCY", Section: secJobs, Default: "20",
			Meaning: "tasks worked on at once per instance", kind: integer(&c.Jobs.Concurrency, 1, 10_000)},
		{Name: "EDOBOT_OUTBOX_POLL", Section: secJobs, Default: "200ms",
			Meaning: "how often the relay looks at the outbox", kind: duration(&c.Jobs.RelayInterval)},
		{Name: "EDOBOT_QUEUE_POLL", Section: secJobs, Default: "100ms",
			Meaning: "how often an idle worker looks for a task", kind: duration(&c.Jobs.QueuePoll)},
		{Name: "EDOBOT_TELEGRAM_RATE", Section: secJobs, Default: "30/s,1s,5",
			Meaning: "Telegram: messages a second overall, least time between two messages to one chat, and how many may go at once after a pause (the long-run rate stays the first figure)",
			kind:    chatRate(c, core.ChannelTelegram)},
		{Name: "EDOBOT_WHATSAPP_RATE", Section: secJobs, Default: "20/m,3s,1,3s",
			Meaning: "the same for WhatsApp, whose default sends each message up to 3 s later at random. WhatsApp bans accounts that send like a machine", kind: chatRate(c, core.ChannelWhatsApp)},
		{Name: "EDOBOT_RETRY_MAX", Section: secJobs, Default: "10m",
			Meaning: "longest backoff between two attempts", kind: duration(&c.Jobs.RetryMax)},
		{Name: "EDOBOT_NOTIFY_MAX_RETRY", Section: secJobs, Default: "100",
			Meaning: "attempts before a task is archived", kind: integer(&c.Jobs.MaxRetry, 1, 100_000)},
		{Name: "EDOBOT_REMINDER_DAYS", Section: secJobs, Default: "2",
			Meaning: "days a document waits for a signature before its first reminder", kind: integer(&c.Jobs.ReminderAfterDays, 1, 365)},
		{Name: "EDOBOT_REMINDER_CRON", Section: secJobs, Default: "0 10 * * *",
			Meaning: "when the reminder scan runs (Kazakhstan time); it queues reminders only between 09:00 and 20:00, at most three a document, and none to a WhatsApp chat that never wrote to the bot", kind: reminderCron(&c.Jobs)},
		{Name: "EDOBOT_EXPIRE_AFTER", Section: secJobs, Default: "24h",
			Meaning: "how long expired eGov sessions and challenges are kept", kind: duration(&c.Jobs.ExpireAfter)},
	}
}

// loadConfig reads every variable of the table through getenv (os.Getenv
// in the binary). An empty variable takes its default; a bad value is an
// error naming the variable and what it may be, all of them at once. The
// config returned with an error holds what could be read.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{Limits: web.DefaultLimits(), Jobs: jobs.DefaultConfig()}
	var errs []error
	refused := map[string]bool{}
	for _, v := range c.variables() {
		val := strings.TrimSpace(getenv(v.Name))
		given := val != ""
		if !given {
			val = v.Default
		}
		if v.Name == "DATABASE_URL" {
			c.databaseURLGiven = given
		}
		if val == "" {
			continue
		}
		if err := v.set(val); err != nil {
			errs = append(errs, v.refusal(val, given, err))
			refused[v.Name] = true
		}
	}
	// Links are built as PUBLIC_URL + "/…".
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.Cold.Start > c.Cold.Full && !refused["EDOBOT_WHATSAPP_COLD_START"] && !refused["EDOBOT_WHATSAPP_COLD_MAX"] {
		errs = append(errs, fmt.Errorf("EDOBOT_WHATSAPP_COLD_START: %d is not at most EDOBOT_WHATSAPP_COLD_MAX (%d)", c.Cold.Start, c.Cold.Full))
	}
	if c.TelegramWebhookURL != "" && c.TelegramWebhookSecret == "" && !refused["TELEGRAM_WEBHOOK_SECRET"] {
		errs = append(errs, errors.New("TELEGRAM_WEBHOOK_SECRET: must be set when TELEGRAM_WEBHOOK_URL is"))
	}
	if c.ESF && c.SecretKey == "" && !refused["EDOBOT_SECRET_KEY"] {
		errs = append(errs, fmt.Errorf("EDOBOT_SECRET_KEY: must be set (at least %d characters) when EDOBOT_ESF is on: it seals the ИС ЭСФ cabinet passwords", core.MinSecretKey))
	}
	return c, errors.Join(errs...)
}

// refusal says why a value is refused: "EDOBOT_NCA: "staging" is not
// production, test or off".
func (v variable) refusal(val string, given bool, err error) error {
	shown := strconv.Quote(val)
	if v.Secret {
		shown = "the value"
	}
	if !given {
		shown = "the default " + shown // a defect of the table, caught by its tests
	}
	msg := fmt.Sprintf("%s: %s is not %s", v.Name, shown, strings.ReplaceAll(v.Allowed, "`", ""))
	if !errors.Is(err, errBad) {
		msg += " (" + err.Error() + ")"
	}
	return errors.New(msg)
}

func text(dst *string) kind {
	return kind{Allowed: "any text", set: func(v string) error { *dst = v; return nil }}
}

// postgresURL is a connection URL pgx reads. Not a key=value string, which
// pgx reads too: the database named in it is created when missing, which
// needs the URL's form. Its parser's complaint is not repeated: it would
// show the URL.
func postgresURL(dst *string) kind {
	return kind{Allowed: "a `postgres://` URL, like `postgres://user:password@host:5432/name?sslmode=disable`", set: func(v string) error {
		if !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") {
			return errBad
		}
		if _, err := pgxpool.ParseConfig(v); err != nil {
			return errBad
		}
		*dst = v
		return nil
	}}
}

// pemFiles is a comma-separated list of files each holding PEM
// certificates.
func pemFiles(dst *string, certs *[]nca.Extra) kind {
	return kind{Allowed: "comma-separated paths of files holding PEM certificates", set: func(v string) error {
		read, err := trustedFiles(v)
		if err != nil {
			return err
		}
		*dst, *certs = v, read
		return nil
	}}
}

// oneOf is a value from a fixed list, such as an enum's.
func oneOf(dst *string, values ...string) kind {
	return kind{Allowed: listOf(values), set: func(v string) error {
		if !slices.Contains(values, v) {
			return errBad
		}
		*dst = v
		return nil
	}}
}

// listOf renders `a`, `b` or `c`.
func listOf(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = "`" + v + "`"
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func onOff(dst *bool) kind {
	return kind{Allowed: "`on` or `off` (also `true`/`false`, `yes`/`no`, `1`/`0`)", set: func(v string) error {
		switch strings.ToLower(v) {
		case "on", "true", "yes", "1":
			*dst = true
		case "off", "false", "no", "0":
			*dst = false
		default:
			return errBad
		}
		return nil
	}}
}

func integer(dst *int, lo, hi int) kind {
	return kind{Allowed: fmt.Sprintf("a whole number from %d to %d", lo, hi), set: func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return errBad
		}
		*dst = n
		return nil
	}}
}

func duration(dst *time.Duration) kind {
	return kind{Allowed: "a duration above 0, like `90s`, `10m` or `24h`", set: func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errBad
		}
		*dst = d
		return nil
	}}
}

// size reads bytes: "16384", "16K", "512M", "1G" (powers of 1024).
func size(dst *int64) kind {
	return kind{Allowed: "a size in bytes, like `16384`, `64K`, `512M` or `1G`", set: func(v string) error {
		mult := int64(1)
		s := strings.TrimSuffix(strings.ToUpper(v), "B")
		if n := len(s); n > 0 {
			switch s[n-1] {
			case 'K':
				mult, s = 1<<10, s[:n-1]
			case 'M':
				mult, s = 1<<20, s[:n-1]
			case 'G':
				mult, s = 1<<30, s[:n-1]
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n > (1<<62)/mult {
			return errBad
		}
		*dst = n * mult
		return nil
	}}
}

func hostPort(dst *string) kind {
	return kind{Allowed: "`host:port`", set: func(v string) error {
		if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
			return errBad
		}
		*dst = v
		return nil
	}}
}

// webURL is an absolute URL of one of the schemes, with a host.
func webURL(dst *string, schemes ...string) kind {
	name := strings.Join(schemes, "/")
	if len(schemes) == 2 && schemes[1] == schemes[0]+"s" {
		name = schemes[0] + "(s)"
	}
	allowed := "a " + name + " URL"
	if strings.HasPrefix(name, "http") {
		allowed = "an " + name + " URL"
	}
	return kind{Allowed: allowed, set: func(v string) error {
		if !isURL(v, schemes...) {
			return errBad
		}
		*dst = v
		return nil
	}}
}

// telegramWebhook is where Telegram calls: https, as Telegram requires;
// http only to this machine (a local Bot API server, tests).
func telegramWebhook(dst *string) kind {
	return kind{Allowed: "an https URL (http only to this machine)", set: func(v string) error {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())) {
			return errBad
		}
		*dst = v
		return nil
	}}
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func isURL(v string, schemes ...string) bool {
	u, err := url.Parse(v)
	return err == nil && slices.Contains(schemes, u.Scheme) && u.Host != ""
}

func ocspURL(dst *string) kind {
	return kind{Allowed: "an http(s) URL or `off`", set: func(v string) error {
		if v != "off" && !isURL(v, "http", "https") {
			return errBad
		}
		*dst = v
		return nil
	}}
}

// linkTemplate is a deep link with one %s, where the session's URL goes.
func linkTemplate(dst *string) kind {
	return kind{Allowed: "an https URL with one `%s`", set: func(v string) error {
		if strings.Count(v, "%") != 1 || !strings.Contains(v, "%s") || !isURL(fmt.Sprintf(v, "x"), "https", "http") {
			return errBad
		}
		*dst = v
		return nil
	}}
}

// durationIn is a duration between lo and hi.
func durationIn(dst *time.Duration, lo, hi time.Duration) kind {
	return kind{Allowed: fmt.Sprintf("a duration from `%s` to `%s`", short(lo), short(hi)), set: func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return errBad
		}
		*dst = d
		return nil
	}}
}

// short writes 24h0m0s as 24h and 5m0s as 5m.
func short(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

// secretKey is a secret long enough to derive a key from.
func secretKey(dst *string) kind {
	return kind{Allowed: fmt.Sprintf("at least %d characters", core.MinSecretKey), set: func(v string) error {
		if len(v) < core.MinSecretKey {
			return errBad
		}
		*dst = v
		return nil
	}}
}

// webhookSecret is what Telegram accepts as a secret token, long enough
// not to be guessed.
func webhookSecret(dst *string) kind {
	return kind{Allowed: "16 to 256 characters of `A-Z`, `a-z`, `0-9`, `_` and `-`", set: func(v string) error {
		if len(v) < 16 || len(v) > 256 || strings.IndexFunc(v, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
		}) >= 0 {
			return errBad
		}
		*dst = v
		return nil
	}}
}

func ncaMode(dst *string) kind {
	return kind{Allowed: listOf([]string{string(nca.ModeProduction), string(nca.ModeTest), string(nca.ModeOff)}), set: func(v string) error {
		m, err := nca.ParseMode(v)
		if err != nil {
			return errBad
		}
		*dst = string(m)
		return nil
	}}
}

func ncaCerts(dst *string) kind {
	return kind{Allowed: "file names or http(s) URLs, separated by commas or spaces", set: func(v string) error {
		if _, err := nca.Sources(nca.ModeProduction, "", v); err != nil {
			return errBad
		}
		*dst = v
		return nil
	}}
}

func webRate(dst *web.RateLimit) kind {
	return kind{Allowed: "`<per address>,<per link>`, each `off` or a rate like `20/s`, `30/m`, `20/s:100` (a burst of 100); or `off`", set: func(v string) error {
		r, err := web.ParseRateLimit(v)
		if err != nil {
			return errBad
		}
		*dst = r
		return nil
	}}
}

// chatRate is a messenger's limit in the jobs' Limits.
func chatRate(c *config, channel string) kind {
	return kind{Allowed: "`<messages>/s` or `<messages>/m`, then `,<per-chat interval>[,<burst>[,<jitter>]]` (each message put up to the jitter later at random), like `30/s,1s,5` or `20/m,3s,1,3s`", set: func(v string) error {
		r, err := jobs.ParseRateLimit(v)
		if err != nil {
			return errBad
		}
		c.Jobs.Limits[channel] = r
		return nil
	}}
}

// proxies reads comma-separated addresses or CIDR prefixes.
func proxies(dst *[]netip.Prefix) kind {
	return kind{Allowed: "addresses or prefixes, comma-separated: `10.0.0.0/8,127.0.0.1`", set: func(v string) error {
		var out []netip.Prefix
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if p, err := netip.ParsePrefix(f); err == nil {
				out = append(out, p.Masked())
				continue
			}
			a, err := netip.ParseAddr(f)
			if err != nil {
				return fmt.Errorf("%q is neither an address nor a prefix", f)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
		*dst = out
		return nil
	}}
}

func cronSpec(dst *string) kind {
	return kind{Allowed: "a cron schedule of five fields, like `0 * * * *`, or `@every 1h`", set: func(v string) error {
		if _, err := cron.ParseStandard(v); err != nil {
			return err
		}
		*dst = v
		return nil
	}}
}

// reminderCron is the reminder scan's schedule: one that never fires in
// the hours reminders may be queued (jobs.Config.ReminderFrom–ReminderUntil,
// Kazakhstan time) within a year from now would remind nobody. (An `@every`
// schedule is judged as if started now.)
func reminderCron(j *jobs.Config) kind {
	k := cronSpec(&j.ReminderSpec)
	from, until := jobs.DefaultConfig().ReminderFrom, jobs.DefaultConfig().ReminderUntil // not configurable
	k.Allowed += fmt.Sprintf(", firing between %02d:00 and %02d:00 Kazakhstan time", from, until)
	parse := k.set
	k.set = func(v string) error {
		if err := parse(v); err != nil {
			return err
		}
		s, _ := cron.ParseStandard(v)
		t := time.Now().In(core.KazakhstanTime)
		end := t.AddDate(1, 0, 0)
		for range 1_000_000 {
			if t = s.Next(t); t.IsZero() || t.After(end) {
				break
			}
			if h := t.In(core.KazakhstanTime).Hour(); h >= from && h < until {
				return nil
			}
		}
		return errBad
	}
	return k
}

// markdown renders the table as README's configuration section: a table
// per section, in the table's order.
func markdown(vars []variable) string {
	var sections []string
	bySection := map[string][]variable{}
	for _, v := range vars {
		if _, ok := bySection[v.Section]; !ok {
			sections = append(sections, v.Section)
		}
		bySection[v.Section] = append(bySection[v.Section], v)
	}
	var b strings.Builder
	for i, s := range sections {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "### %s\n\n| variable | default | values | meaning |\n| --- | --- | --- | --- |\n", s)
		for _, v := range bySection[s] {
			def := v.Shown
			switch {
			case def != "":
			case v.Default == "":
				def = "empty"
			default:
				def = "`" + v.Default + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", v.Name, cell(def), cell(v.Allowed), cell(v.Meaning))
		}
	}
	return b.String()
}

// cell keeps a table cell in its column.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }
