package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jonboulle/clockwork"
	"github.com/mdp/qrterminal/v3"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types/events"

	"edobot/bot/flow"
	"edobot/bot/i18n"
	"edobot/bot/whatsapp"
	"edobot/core"
	"edobot/core/egov"
	"edobot/jobs"
	"edobot/storage"
)

// openDeviceStore opens whatsmeow's device store in the service's own
// PostgreSQL, through database/sql over pgx, and creates or upgrades its
// whatsmeow_* tables.
func openDeviceStore(ctx context.Context, databaseURL string, log *slog.Logger) (*sqlstore.Container, error) {
	// pgxpool's parser drops the pool_* settings the URL may carry, which
	// PostgreSQL would refuse as unknown parameters.
	pc, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("whatsapp device store: %w", err)
	}
	db := stdlib.OpenDB(*pc.ConnConfig)
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	c := sqlstore.NewWithDB(db, "postgres", whatsapp.Logger(log, "store"))
	if err := c.Upgrade(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("whatsapp device store: %w", err)
	}
	return c, nil
}

// The bot shows as "edobot" in the phone's «Linked devices».
func init() { store.SetOSInfo("edobot", [3]uint32{1, 0, 0}) }

// whatsappSessionLease names the PostgreSQL advisory lock that makes one
// serve instance the holder of the WhatsApp session.
const whatsappSessionLease = "whatsapp-session"

// whatsappFront is the WhatsApp side of serve.
type whatsappFront struct {
	bot     *whatsapp.Bot
	pairing *whatsapp.Pairing // run by the bot while the account is not linked
	store   *sqlstore.Container
	log     *slog.Logger
	clock   clockwork.Clock // the bot's

	// deliveries sends the WhatsApp deliveries (jobs.Runner.ServeWhatsApp);
	// set by serveDeliveries before the bot runs.
	deliveries func(context.Context) error
}

// whileHeld runs what needs the session while this instance holds it: the
// WhatsApp deliveries. The bot owns it, and ends its ctx before it
// disconnects. Deliveries that cannot start (Redis away) are tried again,
// after a wait that doubles up to deliveriesRetryMax, until they run or
// ctx ends: nobody else serves the WhatsApp queue meanwhile.
func (w *whatsappFront) whileHeld(ctx context.Context) {
	if w.deliveries == nil {
		return
	}
	wait := deliveriesRetryMin
	for {
		err := w.deliveries(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		w.log.Error("whatsapp deliveries cannot start; trying again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-w.clock.After(wait):
		}
		wait = min(2*wait, deliveriesRetryMax)
	}
}

// The waits between attempts to start the WhatsApp deliveries.
const (
	deliveriesRetryMin = time.Second
	deliveriesRetryMax = time.Minute
)

// serveDeliveries makes this instance send the WhatsApp deliveries while,
// and only while, it holds the session. Call it before the bot runs.
func (w *whatsappFront) serveDeliveries(runner *jobs.Runner) { w.deliveries = runner.ServeWhatsApp }

func (w *whatsappFront) close() {
	if w != nil && w.store != nil {
		_ = w.store.Close()
	}
}

// adminRoutes serve the pairing QR to the operator.
func (w *whatsappFront) adminRoutes(token string) func(*http.ServeMux) {
	return func(mux *http.ServeMux) {
		code := func() string { return "" }
		if w.pairing != nil {
			code = w.pairing.Code
		}
		mux.Handle("GET /admin/whatsapp/qr.png", whatsapp.QRHandler(token, code))
	}
}

// whatsappBot builds the WhatsApp front end when EDOBOT_WHATSAPP is on. A
// device store that cannot be opened leaves WhatsApp off rather than the
// whole service down: Telegram and the web keep working, and the error
// returned (with a nil front end) is what the readiness check reports.
func whatsappBot(ctx context.Context, cfg config, chat flow.Flow, db *storage.DB, log *slog.Logger) (*whatsappFront, error) {
	if !cfg.WhatsApp {
		log.Info("EDOBOT_WHATSAPP is off: the WhatsApp bot is off")
		return nil, nil
	}
	container, err := openDeviceStore(ctx, cfg.DatabaseURL, log)
	if err != nil {
		log.Error("WHATSAPP IS OFF: its device store cannot be opened", "err", err)
		return nil, err
	}
	device, err := container.GetFirstDevice(ctx)
	if err != nil {
		log.Error("WHATSAPP IS OFF: its device cannot be read", "err", err)
		_ = container.Close()
		return nil, fmt.Errorf("whatsapp device: %w", err)
	}
	client := whatsmeow.NewClient(device, whatsapp.Logger(log, "client"))
	client.EnableAutoReconnect = true
	// A message is acknowledged only once the handler kept it (it returns
	// false otherwise), and its plaintext is kept meanwhile, so WhatsApp's
	// second delivery can still be decrypted.
	client.SynchronousAck = true
	client.EnableDecryptedEventBuffer = true
	phone := ""
	if device.ID != nil {
		phone = device.ID.User
	}
	// The pairing is offered by the bot while it holds the session: at
	// start while unlinked, and again when WhatsApp logs the device out.
	clock := clockwork.NewRealClock()
	w := &whatsappFront{store: container, log: log, clock: clock, pairing: &whatsapp.Pairing{Client: client, Log: log}}
	lease := db.Lease(whatsappSessionLease)
	lease.Log = log
	// The holder announces the version WhatsApp Web runs now, so that
	// WhatsApp does not refuse a whatsmeow a few weeks old as outdated (the
	// compiled one otherwise); the other instances never connect.
	announced := announcingLease{Lease: lease, announce: func(ctx context.Context) {
		whatsapp.AnnounceVersion(ctx, func(ctx context.Context) (*store.WAVersionContainer, error) {
			return whatsmeow.GetLatestVersion(ctx, &http.Client{Timeout: 10 * time.Second})
		}, log)
	}}
	w.bot = whatsapp.New(client, whatsapp.Config{LIDs: device.LIDs, Lease: announced, Phone: phone,
		WhileHeld: w.whileHeld, Pair: w.pairing.Run, Cold: cfg.Cold, Clock: clock}, chat)
	w.pairing.Linked = w.bot.Linked
	return w, nil
}

// announcingLease runs announce each time this instance takes the session,
// before the bot connects.
type announcingLease struct {
	whatsapp.Lease
	announce func(ctx context.Context)
}

func (l announcingLease) Acquire(ctx context.Context) (context.Context, func(), error) {
	held, release, err := l.Lease.Acquire(ctx)
	if err == nil {
		l.announce(held)
	}
	return held, release, err
}

// chatFlow is the conversation template every chat front end copies.
func chatFlow(cfg config, svc *core.Service, cat *i18n.Catalog, log *slog.Logger) flow.Flow {
	return flow.Flow{
		Service: svc, Cat: cat, PublicURL: cfg.PublicURL, EgovTTL: cfg.EgovTTL, Log: log,
		Egov: egov.Links{Mobile: cfg.EgovMobileLink, Business: cfg.EgovBusinessLink},
	}
}

// whatsappLink pairs the bot's WhatsApp account: the QR in the terminal,
// or with --phone a code to type in WhatsApp → Linked devices → Link with
// phone number.
func whatsappLink(ctx context.Context, cfg config, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("whatsapp link", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	phone := fs.String("phone", "", "the bot's number, to link by a pairing code instead of a QR")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *phone != "" {
		p, ok := core.NormalizePhone(*phone)
		if !ok {
			return usageError("--phone must be a number like +77011234567")
		}
		*phone = p
	}
	if err := storage.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	container, err := openDeviceStore(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	defer container.Close()
	device, err := container.GetFirstDevice(ctx)
	if err != nil {
		return fmt.Errorf("whatsapp device: %w", err)
	}
	if device.ID != nil {
		fmt.Fprintf(stdout, "WhatsApp is already linked to +%s. To link another account, unlink this one in the phone's «Linked devices» first.\n", device.ID.User)
		return nil
	}
	client := whatsmeow.NewClient(device, whatsapp.Logger(log, "client"))
	connected := make(chan struct{}, 1)
	client.AddEventHandler(func(evt any) {
		if _, ok := evt.(*events.Connected); ok {
			select {
			case connected <- struct{}{}:
			default:
			}
		}
	})
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	qr, err := client.GetQRChannel(ctx)
	if err != nil {
		return fmt.Errorf("whatsapp: %w", err)
	}
	if err := client.Connect(); err != nil {
		return fmt.Errorf("whatsapp connect: %w", err)
	}
	defer client.Disconnect()
	asked := false
	for item := range qr {
		switch {
		case item.Event == whatsmeow.QRChannelEventCode && *phone != "":
			if asked {
				continue
			}
			asked = true
			code, err := client.PairPhone(ctx, *phone, true, whatsmeow.PairClientChrome, "Chrome (Linux)")
			if err != nil {
				return fmt.Errorf("whatsapp pairing code: %w", err)
			}
			fmt.Fprintf(stdout, "On the phone of %s: WhatsApp → Linked devices → Link a device → Link with phone number instead, and enter:\n\n    %s\n\n", *phone, code)
		case item.Event == whatsmeow.QRChannelEventCode:
			fmt.Fprintln(stdout, "Scan with WhatsApp → Linked devices → Link a device:")
			qrterminal.GenerateHalfBlock(item.Code, qrterminal.L, stdout)
		case item == whatsmeow.QRChannelSuccess:
			// whatsmeow reconnects after pairing and finishes the set-up
			// then; leaving at once would cut it short.
			select {
			case <-connected:
			case <-time.After(30 * time.Second):
			}
			id := ""
			if client.Store.ID != nil {
				id = client.Store.ID.User
			}
			fmt.Fprintf(stdout, "WhatsApp linked: +%s. Start `edobot serve` with EDOBOT_WHATSAPP=on.\n", id)
			return nil
		case item.Event == whatsmeow.QRChannelEventError:
			return fmt.Errorf("whatsapp pairing: %w", item.Error)
		default:
			return fmt.Errorf("whatsapp pairing ended: %s", item.Event)
		}
	}
	return errors.New("whatsapp pairing: no answer from WhatsApp")
}
