package tgtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"edobot/bot/telegram/tgtest"
)

var alice = tgtest.User{ID: 1001, FirstName: "Alice", Username: "alice", LanguageCode: "en"}

// newBot creates a library bot talking to s; it is not started.
func newBot(t testing.TB, s *tgtest.Server, h bot.HandlerFunc, opts ...bot.Option) *bot.Bot {
	t.Helper()
	if h == nil {
		h = func(context.Context, *bot.Bot, *models.Update) {}
	}
	opts = append([]bot.Option{
		bot.WithServerURL(s.URL),
		bot.WithDefaultHandler(h),
		// The library logs to the global logger by default; errors expected
		// by a test (403, 429...) would only add noise.
		bot.WithErrorsHandler(func(error) {}),
	}, opts...)
	b, err := bot.New(tgtest.Token, opts...)
	if err != nil {
		t.Fatalf("bot.New: %v", err)
	}
	return b
}

// startBot starts polling; it is stopped (and waited for) before the server
// closes, because cleanups run in reverse order.
func startBot(t testing.TB, s *tgtest.Server, h bot.HandlerFunc, opts ...bot.Option) *bot.Bot {
	t.Helper()
	b := newBot(t, s, h, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		b.Start(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return b
}

// updatesTo returns a handler forwarding updates to a channel.
func updatesTo() (bot.HandlerFunc, chan *models.Update) {
	ch := make(chan *models.Update, 1000)
	return func(_ context.Context, _ *bot.Bot, u *models.Update) { ch <- u }, ch
}

func recv(t testing.TB, ch chan *models.Update) *models.Update {
	t.Helper()
	select {
	case u := <-ch:
		return u
	case <-time.After(tgtest.DefaultWaitTimeout):
		t.Fatal("no update reached the handler")
		return nil
	}
}

// getUpdates calls getUpdates as the library does, with a multipart body.
func getUpdates(t testing.TB, s *tgtest.Server, fields map[string]string) (status int, ids []int64) {
	t.Helper()
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = form.WriteField(k, v)
	}
	_ = form.Close()
	resp, err := http.Post(s.URL+"/bot"+tgtest.Token+"/getUpdates", form.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct{ Result []models.Update }
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	for _, u := range a.Result {
		ids = append(ids, u.ID)
	}
	return resp.StatusCode, ids
}

func TestTextKeyboardPressEdit(t *testing.T) {
	s := tgtest.New(t)
	h, ups := updatesTo()
	b := startBot(t, s, h)
	ctx := context.Background()

	mid := s.SendText(alice, "/start xyz")
	u := recv(t, ups)
	if u.Message == nil || u.Message.Text != "/start xyz" || u.Message.ID != mid || u.Message.Chat.ID != alice.ID ||
		u.Message.From.Username != "alice" || u.Message.From.LanguageCode != "en" {
		t.Fatalf("bad message update: %+v", u.Message)
	}

	kb := &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{
		{{Text: "Yes", CallbackData: "yes"}, {Text: "No", CallbackData: "no"}},
		{{Text: "Site", URL: "https://example.com"}},
	}}
	sent, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "Sign?", ReplyMarkup: kb})
	if err != nil {
		t.Fatal(err)
	}
	if sent.ID != mid+1 || sent.From == nil || !sent.From.IsBot || sent.Chat.ID != alice.ID || sent.Date == 0 ||
		sent.ReplyMarkup == nil || sent.ReplyMarkup.InlineKeyboard[0][1].CallbackData != "no" {
		t.Fatalf("bad sent message: %+v", sent)
	}
	got := s.Wait(t, alice.ID, tgtest.Has("Sign?"))
	want := [][]tgtest.Button{{{Text: "Yes", Data: "yes"}, {Text: "No", Data: "no"}}, {{Text: "Site", URL: "https://example.com"}}}
	if fmt.Sprint(got.Buttons) != fmt.Sprint(want) {
		t.Fatalf("recorded %+v", got)
	}

	cbID := s.Press(alice, sent.ID, "yes")
	cq := recv(t, ups).CallbackQuery
	if cq == nil || cq.ID != cbID || cq.Data != "yes" || cq.From.ID != alice.ID || cq.Message.Message == nil ||
		cq.Message.Message.ID != sent.ID || cq.Message.Message.ReplyMarkup == nil || cq.Message.Message.Text != "Sign?" {
		t.Fatalf("bad callback update: %+v", cq)
	}
	if ok, err := b.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: cbID}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	s.WaitAnswered(t, cbID)
	if _, err := b.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: cbID}); !errors.Is(err, bot.ErrorBadRequest) ||
		!strings.Contains(err.Error(), "query is too old") {
		t.Fatalf("second answer: %v", err)
	}

	edit := &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: sent.ID, Text: "Signed", ReplyMarkup: kb}
	if _, err := b.EditMessageText(ctx, edit); err != nil {
		t.Fatal(err)
	}
	_, err = b.EditMessageText(ctx, edit)
	if !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "message is not modified") {
		t.Fatalf("identical edit: %v", err)
	}
	// Like Telegram, an edit without reply_markup drops the keyboard.
	if m, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: sent.ID, Text: "Signed"}); err != nil || m.ReplyMarkup != nil {
		t.Fatal(m, err)
	}
	if ms := s.Messages(alice.ID); len(ms) != 1 || ms[0].Text != "Signed" || ms[0].Edits != 2 || ms[0].Buttons != nil {
		t.Fatalf("after edits: %+v", ms)
	}
	if _, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: 999, Text: "x"}); err == nil ||
		!strings.Contains(err.Error(), "message to edit not found") {
		t.Fatalf("missing message: %v", err)
	}
	if s.Calls("editMessageText") != 4 || s.Calls("sendMessage") != 1 {
		t.Fatalf("calls: edit %d send %d", s.Calls("editMessageText"), s.Calls("sendMessage"))
	}
}

func TestFiles(t *testing.T) {
	s := tgtest.New(t)
	h, ups := updatesTo()
	b := startBot(t, s, h)
	ctx := context.Background()

	pdf := []byte("%PDF-1.7 fake contract")
	s.SendDocument(alice, "contract.pdf", "application/pdf", pdf)
	d := recv(t, ups).Message.Document
	if d == nil || d.FileName != "contract.pdf" || d.MimeType != "application/pdf" || d.FileSize != int64(len(pdf)) || d.FileID == "" {
		t.Fatalf("document = %+v", d)
	}
	f, err := b.GetFile(ctx, &bot.GetFileParams{FileID: d.FileID})
	if err != nil || !strings.HasPrefix(f.FilePath, "documents/file_") || !strings.HasSuffix(f.FilePath, ".pdf") {
		t.Fatalf("file = %+v, %v", f, err)
	}
	for link, want := range map[string]int{b.FileDownloadLink(f): 200, s.URL + "/file/bot1:wrong/" + f.FilePath: 404} {
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || want == 200 && !bytes.Equal(data, pdf) {
			t.Fatalf("download %s: %d %q", link, resp.StatusCode, data)
		}
	}
	// A 25 MB document is refused by getFile, like Telegram's 20 MB limit.
	s.SendDocumentSized(alice, "huge.pdf", "application/pdf", 25<<20)
	big := recv(t, ups).Message.Document
	if _, err := b.GetFile(ctx, &bot.GetFileParams{FileID: big.FileID}); !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "file is too big") {
		t.Fatalf("getFile on 25 MB: %v", err)
	}
	s.SendPhoto(alice, []byte("jpeg"))
	if ph := recv(t, ups).Message.Photo; len(ph) == 0 {
		t.Fatal("no photo sizes")
	}

	// The bot uploads a document and a photo, with a caption and a keyboard;
	// the MIME type comes from the file name.
	signed := []byte("signed bytes \x00\x01\x02")
	kb := &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "OK", CallbackData: "ok"}}}}
	sent, err := b.SendDocument(ctx, &bot.SendDocumentParams{ChatID: alice.ID, Caption: "Here it is", ReplyMarkup: kb,
		Document: &models.InputFileUpload{Filename: "signed.pdf", Data: bytes.NewReader(signed)}})
	if err != nil || sent.Document == nil || sent.Document.MimeType != "application/pdf" || sent.Caption != "Here it is" {
		t.Fatalf("sent = %+v, %v", sent, err)
	}
	png := []byte("\x89PNG fake")
	if _, err := b.SendPhoto(ctx, &bot.SendPhotoParams{ChatID: alice.ID, Caption: "QR",
		Photo: &models.InputFileUpload{Filename: "qr.png", Data: bytes.NewReader(png)}}); err != nil {
		t.Fatal(err)
	}
	ms := s.Messages(alice.ID)
	if len(ms) != 2 || ms[0].Document == nil || !bytes.Equal(ms[0].Document.Data, signed) || ms[0].Document.Name != "signed.pdf" ||
		len(ms[0].Buttons) != 1 || ms[1].Photo == nil || ms[1].Photo.MIME != "image/png" || !bytes.Equal(ms[1].Photo.Data, png) {
		t.Fatalf("recorded %+v", ms)
	}
	// A file_id instead of an upload is not what the bot sends.
	if _, err := b.SendDocument(ctx, &bot.SendDocumentParams{ChatID: alice.ID, Document: &models.InputFileString{Data: d.FileID}}); !errors.Is(err, bot.ErrorBadRequest) {
		t.Fatalf("by file_id: %v", err)
	}
}

func TestErrors(t *testing.T) {
	s := tgtest.New(t)
	b := newBot(t, s, nil)
	ctx := context.Background()

	send := func(chat int64, text string) error {
		_, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: chat, Text: text})
		return err
	}
	if err := send(42, "hi"); !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "chat not found") {
		t.Fatalf("unknown chat: %v", err)
	}
	s.SendText(alice, "hi")
	if err := send(alice.ID, " "); err == nil || !strings.Contains(err.Error(), "message text is empty") {
		t.Fatalf("empty: %v", err)
	}
	if err := send(alice.ID, strings.Repeat("я", 4096)); err != nil {
		t.Fatalf("4096 chars: %v", err)
	}
	// Emoji outside the BMP count as two UTF-16 units.
	if err := send(alice.ID, strings.Repeat("😀", 2049)); err == nil || !strings.Contains(err.Error(), "message is too long") {
		t.Fatalf("too long: %v", err)
	}
	if _, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "<b>x</b>", ParseMode: models.ParseModeHTML}); !errors.Is(err, bot.ErrorBadRequest) {
		t.Fatalf("parse_mode: %v", err)
	}
	long := &bot.SendMessageParams{ChatID: alice.ID, Text: "x", ReplyMarkup: &models.InlineKeyboardMarkup{
		InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "A", CallbackData: strings.Repeat("d", 65)}}}}}
	if _, err := b.SendMessage(ctx, long); err == nil || !strings.Contains(err.Error(), "BUTTON_DATA_INVALID") {
		t.Fatalf("65 bytes of callback data: %v", err)
	}

	s.FailNext("sendMessage", tgtest.Failure{Code: 429, RetryAfter: 3}, tgtest.Failure{Code: 500})
	var tooMany *bot.TooManyRequestsError
	if err := send(alice.ID, "a"); !errors.As(err, &tooMany) || tooMany.RetryAfter != 3 {
		t.Fatalf("429: %v", err)
	}
	if err := send(alice.ID, "b"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("500: %v", err)
	}
	if err := send(alice.ID, "c"); err != nil {
		t.Fatalf("after failures: %v", err)
	}
	// A failure meant for one chat lets the other chats' calls by.
	s.FailNext("sendMessage", tgtest.Failure{Code: 429, RetryAfter: 1, Chat: 42})
	if err := send(alice.ID, "c2"); err != nil {
		t.Fatalf("another chat's failure: %v", err)
	}
	if err := send(42, "c3"); !errors.As(err, &tooMany) || tooMany.RetryAfter != 1 {
		t.Fatalf("the chat's own failure: %v", err)
	}

	s.Block(alice.ID)
	if err := send(alice.ID, "d"); !errors.Is(err, bot.ErrorForbidden) || !strings.Contains(err.Error(), "bot was blocked by the user") {
		t.Fatalf("blocked: %v", err)
	}
	if _, err := b.DeleteMessage(ctx, &bot.DeleteMessageParams{ChatID: alice.ID, MessageID: 1}); !errors.Is(err, bot.ErrorNotFound) {
		t.Fatalf("a method the bot does not call: %v", err)
	}
	if _, err := bot.New("1:wrong", bot.WithServerURL(s.URL)); !errors.Is(err, bot.ErrorUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestGetUpdatesOffset(t *testing.T) {
	s := tgtest.New(t)
	for range 3 {
		s.SendText(alice, "m")
	}
	for _, c := range []struct {
		fields map[string]string
		want   string
	}{
		{nil, "[1 2 3]"},
		{map[string]string{"offset": "2", "limit": "1"}, "[2]"},
		{nil, "[2 3]"}, // update 1 is confirmed and gone
		{map[string]string{"offset": "4"}, "[]"},
	} {
		if _, ids := getUpdates(t, s, c.fields); fmt.Sprint(ids) != c.want {
			t.Fatalf("getUpdates %v: %v, want %s", c.fields, ids, c.want)
		}
	}
}

func TestWebhook(t *testing.T) {
	s := tgtest.New(t)
	h, ups := updatesTo()
	b := newBot(t, s, h, bot.WithWebhookSecretToken("s3cr-et_"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.StartWebhook(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	var mu sync.Mutex
	var secrets []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		secrets = append(secrets, r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
		n := len(secrets)
		mu.Unlock()
		if n == 1 { // the first delivery fails: Telegram retries
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		b.WebhookHandler()(w, r)
	}))
	defer hook.Close()

	if ok, err := b.SetWebhook(ctx, &bot.SetWebhookParams{URL: hook.URL, SecretToken: "s3cr-et_"}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if u, sec := s.Webhook(); u != hook.URL || sec != "s3cr-et_" {
		t.Fatal(u, sec)
	}
	if status, _ := getUpdates(t, s, nil); status != 409 {
		t.Fatalf("getUpdates with a webhook: %d", status)
	}
	s.SendText(alice, "via hook")
	if u := recv(t, ups); u.Message == nil || u.Message.Text != "via hook" {
		t.Fatalf("%+v", u)
	}
	mu.Lock()
	if len(secrets) != 2 || secrets[0] != "s3cr-et_" || secrets[1] != "s3cr-et_" {
		t.Fatal(secrets)
	}
	mu.Unlock()

	if ok, err := b.DeleteWebhook(ctx, &bot.DeleteWebhookParams{}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	// Update 1 may still be queued: the webhook's answer can reach the
	// server after the handler got the update.
	s.SendText(alice, "polled")
	if _, ids := getUpdates(t, s, nil); len(ids) == 0 || ids[len(ids)-1] != 2 {
		t.Fatal(ids)
	}
}

// TestManyUsers pushes updates from many users concurrently through the real
// library to check the server under the race detector.
func TestManyUsers(t *testing.T) {
	s := tgtest.New(t)
	startBot(t, s, func(ctx context.Context, b *bot.Bot, u *models.Update) {
		if u.Message != nil {
			_, _ = b.SendMessage(ctx, &bot.SendMessageParams{ChatID: u.Message.Chat.ID, Text: "re: " + u.Message.Text})
		}
	}, bot.WithWorkers(4))
	const users, each = 10, 30
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			u := tgtest.User{ID: int64(5000 + i), FirstName: "U"}
			for j := range each {
				s.SendText(u, fmt.Sprint(j))
			}
		})
	}
	wg.Wait()
	for i := range users {
		if ms := s.WaitCount(t, int64(5000+i), each); len(ms) != each {
			t.Fatal(len(ms))
		}
	}
}

// BenchmarkEcho measures a full update → handler → sendMessage round trip.
func BenchmarkEcho(b *testing.B) {
	s := tgtest.New(b)
	startBot(b, s, func(ctx context.Context, bt *bot.Bot, u *models.Update) {
		_, _ = bt.SendMessage(ctx, &bot.SendMessageParams{ChatID: u.Message.Chat.ID, Text: "ok"})
	}, bot.WithWorkers(4))
	s.WaitTimeout = 5 * time.Minute
	b.ResetTimer()
	for range b.N {
		s.SendText(alice, "x")
	}
	s.WaitCount(b, alice.ID, b.N)
}
