package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"edobot/bot/telegram/tgtest"
	"edobot/core"
	"edobot/core/coretest"
	"edobot/core/pdfintake/pdftest"
	"edobot/storage/storagetest"
)

// serveEnv configures serve for a test: its database, a free address, a
// Redis queue prefix of its own, the fake Bot API, no NCA.
func serveEnv(t *testing.T, tg *tgtest.Server) {
	t.Helper()
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	prefix := "serve-" + hex.EncodeToString(rb[:]) + ":"
	t.Setenv("DATABASE_URL", storagetest.URL(t))
	t.Setenv("HTTP_ADDR", freeAddr(t))
	t.Setenv("EDOBOT_TMPDIR", t.TempDir())
	if os.Getenv("REDIS_ADDR") == "" {
		t.Setenv("REDIS_ADDR", "127.0.0.1:6379")
	}
	t.Setenv("EDOBOT_REDIS_DB", strconv.Itoa(instancesRedisDB))
	t.Setenv("EDOBOT_QUEUE_PREFIX", prefix)
	t.Setenv("EDOBOT_NCA", "off")
	t.Setenv("EDOBOT_OCSP_URL", "off")
	t.Setenv("TELEGRAM_TOKEN", tgtest.Token)
	t.Setenv("TELEGRAM_API_URL", tg.URL)
	t.Cleanup(func() { deleteRedisKeys(t, prefix) })
}

// TestServeFinishesUpdatesInFlight stops serve, as SIGTERM would, while a
// Telegram update is being handled (its file download held by the fake
// Bot API): serve waits for the update, which still reaches the database
// and is answered, and returns only after that.
func TestServeFinishesUpdatesInFlight(t *testing.T) {
	tg := tgtest.New(t)
	held, release := tg.HoldDownloads()
	defer release()
	serveEnv(t, tg)
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	if _, err := f.DB.Pool.Exec(ctx, `UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	u := tgtest.User{ID: 7_300_000 + time.Now().UnixNano()%1_000_000, FirstName: "Тест", LanguageCode: "ru"}
	cu := core.ChatUser{Channel: core.ChannelTelegram, ExternalID: strconv.FormatInt(u.ID, 10), Name: "Тест", Language: "ru"}
	if err := f.DB.EnsureChatUser(ctx, &cu); err != nil {
		t.Fatal(err)
	}
	if err := f.DB.BindChatUser(ctx, cu.ID, storagetest.RandomIIN(), f.Sender.OrgID, time.Now()); err != nil {
		t.Fatal(err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var logs coretest.Buffer
	done := make(chan int, 1)
	go func() { done <- run(runCtx, []string{"serve"}, io.Discard, &logs) }()
	n := len(tg.Messages(u.ID))
	tg.SendDocument(u, "Договор.pdf", "application/pdf", pdftest.PDF(1))
	select {
	case <-held:
	case <-time.After(2 * coretest.Patience):
		t.Fatalf("the bot did not download the file; logs:\n%s", logs.String())
	}

	cancel()
	logs.Wait(t, "the bots finish the updates in flight")
	select {
	case code := <-done:
		t.Fatalf("serve returned (%d) while an update was being handled; logs:\n%s", code, logs.String())
	default:
	}
	release()
	waitServeExit(t, done, &logs)
	// Answered before serve returned, and not with an error.
	var texts []string
	for _, m := range tg.Messages(u.ID)[n:] {
		texts = append(texts, m.Text)
	}
	if !strings.Contains(strings.Join(texts, "\n"), "Файл принят") {
		t.Fatalf("the update in flight was answered %q; logs:\n%s", texts, logs.String())
	}
}

// TestServeEndsWithAFailingLoop: a loop that fails (Telegram refuses the
// webhook) ends serve with its error, once every other loop stopped.
func TestServeEndsWithAFailingLoop(t *testing.T) {
	tg := tgtest.New(t)
	tg.FailNext("setWebhook", tgtest.Failure{Code: 400, Description: "Bad Request: bad webhook: Failed to resolve host"})
	serveEnv(t, tg)
	t.Setenv("TELEGRAM_WEBHOOK_URL", "http://"+os.Getenv("HTTP_ADDR")+"/telegram/webhook")
	t.Setenv("TELEGRAM_WEBHOOK_SECRET", "serve-test-webhook-secret")
	var logs coretest.Buffer
	done := make(chan int, 1)
	go func() { done <- run(context.Background(), []string{"serve"}, io.Discard, &logs) }()
	select {
	case code := <-done:
		l := logs.String()
		if code != 1 || !strings.Contains(l, "edobot: telegram: telegram setWebhook: bad request, Bad Request: bad webhook") {
			t.Fatalf("serve exited %d; logs:\n%s", code, l)
		}
		if !strings.Contains(l, `"msg":"jobs stopped"`) || !strings.Contains(l, "every loop stopped") {
			t.Fatalf("serve returned before its other loops stopped; logs:\n%s", l)
		}
	case <-time.After(2 * coretest.Patience):
		t.Fatalf("serve did not end when a loop failed; logs:\n%s", logs.String())
	}
}
