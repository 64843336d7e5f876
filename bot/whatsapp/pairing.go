package whatsapp

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/skip2/go-qrcode"
	"go.mau.fi/whatsmeow"
	waLog "go.mau.fi/whatsmeow/util/log"
)

// Logger passes whatsmeow's logs to slog. Its debug output is a flood of
// protocol detail, so it goes out at slog's debug level only.
func Logger(log *slog.Logger, module string) waLog.Logger {
	return slogLogger{log: log.With("whatsmeow", module)}
}

type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Errorf(msg string, args ...any) { l.log.Error(fmt.Sprintf(msg, args...)) }
func (l slogLogger) Warnf(msg string, args ...any)  { l.log.Warn(fmt.Sprintf(msg, args...)) }
func (l slogLogger) Infof(msg string, args ...any)  { l.log.Info(fmt.Sprintf(msg, args...)) }
func (l slogLogger) Debugf(msg string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(msg, args...))
	}
}
func (l slogLogger) Sub(module string) waLog.Logger {
	return slogLogger{log: l.log.With("sub", module)}
}

// Pairing links the bot's account while `serve` runs unlinked: it keeps a
// pairing session open and holds its current QR, which an operator scans
// from the admin URL (QRHandler).
type Pairing struct {
	Client *whatsmeow.Client
	Log    *slog.Logger
	// Linked is called with the bot's number once the phone accepted.
	Linked func(phone string)

	mu   sync.Mutex
	code string
}

// Code is the QR's current content; "" when there is none.
func (p *Pairing) Code() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code
}

func (p *Pairing) set(code string) {
	p.mu.Lock()
	p.code = code
	p.mu.Unlock()
}

// Run offers QR codes until the account is linked or ctx ends. WhatsApp
// closes a pairing session after a few minutes of codes; a new one starts
// after a pause, so the admin URL always has a fresh code.
func (p *Pairing) Run(ctx context.Context) {
	for ctx.Err() == nil {
		done, err := p.session(ctx)
		p.set("")
		if done {
			return
		}
		if err != nil {
			p.Log.Error("whatsapp pairing failed", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
	}
}

// session runs one pairing session; true once the account is linked.
func (p *Pairing) session(ctx context.Context) (bool, error) {
	ch, err := p.Client.GetQRChannel(ctx)
	if err != nil {
		return false, fmt.Errorf("qr channel: %w", err)
	}
	if err := p.Client.Connect(); err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	for {
		var item whatsmeow.QRChannelItem
		var open bool
		select {
		case <-ctx.Done():
			// whatsmeow ends the channel on ctx only between codes.
			p.Client.Disconnect()
			return false, nil
		case item, open = <-ch:
		}
		if !open {
			break
		}
		switch {
		case item.Event == whatsmeow.QRChannelEventCode:
			if p.Code() == "" {
				p.Log.Warn("WhatsApp not linked: scan the QR at /admin/whatsapp/qr.png (EDOBOT_ADMIN_TOKEN) or run `edobot whatsapp link`")
			}
			p.set(item.Code)
		case item == whatsmeow.QRChannelSuccess:
			phone := ""
			if id := p.Client.Store.ID; id != nil {
				phone = id.User
			}
			p.Log.Info("whatsapp account linked", "phone", phone)
			if p.Linked != nil {
				p.Linked(phone)
			}
			return true, nil
		case item.Event == whatsmeow.QRChannelEventError:
			p.Client.Disconnect()
			return false, item.Error
		default:
			p.Client.Disconnect()
			return false, fmt.Errorf("pairing ended: %s", item.Event)
		}
	}
	p.Client.Disconnect()
	return false, nil
}

// QRHandler serves the current pairing QR as a PNG to a holder of the admin
// token: 404 when there is no token configured or no QR to show (the
// account is linked), 401 for a wrong token.
func QRHandler(token string, code func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			http.NotFound(w, r)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="edobot admin"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		c := code()
		if c == "" {
			http.Error(w, "no pairing QR: the WhatsApp account is linked, or the next code is on its way", http.StatusNotFound)
			return
		}
		png, err := qrcode.Encode(c, qrcode.Medium, 512)
		if err != nil {
			http.Error(w, "qr", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(png)
	})
}
