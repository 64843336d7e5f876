package telegram_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"edobot/bot/flow"
	"edobot/bot/i18n"
	"edobot/bot/telegram"
	"edobot/bot/telegram/tgtest"
	"edobot/core/egov"
)

// restart stops the stack's bot and starts another over the same database
// and Bot API server, as a restart or a second instance would.
func (s *stack) restart(t *testing.T) *telegram.Bot {
	t.Helper()
	s.stop()
	<-s.done
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := telegram.New(ctx, telegram.Config{Token: tgtest.Token, ServerURL: s.tg.URL, Workers: 4}, flow.Flow{
		Service: s.f.Svc, Cat: i18n.MustNew(), PublicURL: s.web.URL, Log: log, Egov: egov.DefaultLinks,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return b
}

// TestLiveScreenSurvivesRestart: the screen drawn before a restart loses
// its buttons when the restarted bot draws a newer one.
func TestLiveScreenSurvivesRestart(t *testing.T) {
	s, u := newSignedIn(t, "ru")
	old := s.tg.Say(t, u, "/menu", has("Отправьте PDF"))
	if len(old.Buttons) == 0 {
		t.Fatal("the menu has no buttons")
	}
	s.restart(t)
	n := len(s.tg.Messages(u.ID))
	s.tg.SendText(u, "/menu")
	s.tg.After(t, u.ID, n, has("Отправьте PDF"))
	waitBare(t, s, u.ID, old.ID)
}
