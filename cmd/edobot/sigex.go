package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"edobot/bot/i18n"
	"edobot/bot/web"
	"edobot/core"
	"edobot/core/sigex"
	"edobot/storage"
)

// The values of EDOBOT_EGOV_VIA.
const (
	egovDirect = "direct" // the app reaches our own QR protocol
	egovSIGEX  = "sigex"  // the app reaches SIGEX's egovQr, which hands us the CMS
)

// brokered builds the use cases from deps, with eGov signing going through
// SIGEX when EDOBOT_EGOV_VIA=sigex: the client, where its signings are
// kept, what the app is shown, and the background work that waits for
// people, which the caller owns and closes at shutdown (nil otherwise).
// Signings a stop interrupted resume now.
func brokered(ctx context.Context, cfg config, deps core.Deps, db *storage.DB, cat *i18n.Catalog, log *slog.Logger) (*core.Service, *core.Background, error) {
	if cfg.EgovVia != egovSIGEX {
		return core.New(deps), nil, nil
	}
	deps.Broker = sigex.Broker{Client: sigex.New(sigexHTTP(), cfg.SigexURL)}
	deps.BrokerSessions = db
	deps.EgovCaptions = web.EgovCaptions(cat)
	bg := core.NewBackground(ctx)
	deps.Background = bg
	svc := core.New(deps)
	n, err := svc.ResumeBrokered(ctx)
	if err != nil {
		bg.Close()
		return nil, nil, err
	}
	log.Info("eGov signing goes through SIGEX", "url", cfg.SigexURL, "resumed", n)
	// Another instance's signings, should it die, are taken over once its
	// leases run out.
	bg.Go(func(ctx context.Context) {
		t := time.NewTicker(core.BrokerLease)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n, err := svc.ResumeBrokered(ctx); err != nil && ctx.Err() == nil {
					log.Warn("taking over SIGEX signings", "err", err)
				} else if n > 0 {
					log.Info("took over SIGEX signings of a stopped instance", "n", n)
				}
			}
		}
	})
	return svc, bg, nil
}

// sigexHTTP has no overall timeout: SIGEX holds the data POST until the
// phone takes the data, and the signature GET until the person signs.
// Connecting and the TLS handshake keep the default transport's bounds.
func sigexHTTP() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 0
	return &http.Client{Transport: t}
}
