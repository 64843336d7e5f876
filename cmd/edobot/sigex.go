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

// brokered makes eGov signing go through SIGEX when EDOBOT_EGOV_VIA=sigex:
// the client, where its signings are kept, what the app is shown, and the
// background work that waits for people, which the caller owns and closes
// at shutdown. Signings a stop interrupted resume now.
func brokered(ctx context.Context, cfg config, svc *core.Service, db *storage.DB, log *slog.Logger) (*core.Background, error) {
	if cfg.EgovVia != egovSIGEX {
		return nil, nil
	}
	svc.Broker = sigex.Broker{Client: sigex.New(sigexHTTP(), cfg.SigexURL)}
	svc.BrokerSessions = db
	svc.EgovCaptions = web.EgovCaptions(i18n.MustNew())
	svc.Background = core.NewBackground(ctx)
	n, err := svc.ResumeBrokered(ctx)
	if err != nil {
		svc.Background.Close()
		return nil, err
	}
	log.Info("eGov signing goes through SIGEX", "url", cfg.SigexURL, "resumed", n)
	// Another instance's signings, should it die, are taken over once its
	// leases run out.
	svc.Background.Go(func(ctx context.Context) {
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
	return svc.Background, nil
}

// sigexHTTP has no overall timeout: SIGEX holds the data POST until the
// phone takes the data, and the signature GET until the person signs.
// Connecting and the TLS handshake keep the default transport's bounds.
func sigexHTTP() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 0
	return &http.Client{Transport: t}
}
