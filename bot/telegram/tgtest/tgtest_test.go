package tgtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// patience bounds every wait for something that must happen: it only costs
// time when the test fails anyway, so it is generous.
const patience = time.Minute

func recv(t testing.TB, ch chan *models.Update) *models.Update {
	t.Helper()
	select {
	case u := <-ch:
		return u
	case <-time.After(patience):
		t.Fatal("no update reached the handler")
		return nil
	}
}

// answer waits for a call made in the background.
func answer(t testing.TB, ch chan apiAnswer, what string) apiAnswer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(patience):
		t.Fatalf("%s: no answer", what)
		return apiAnswer{}
	}
}

// eventually polls cond until it holds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(patience); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

type apiAnswer struct {
	Status      int
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// call invokes a method with a JSON body, as other clients do.
func call(t testing.TB, ctx context.Context, s *tgtest.Server, method string, body any) apiAnswer {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/bot"+tgtest.Token+"/"+method, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	var a apiAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s: decode: %v", method, err)
	}
	a.Status = resp.StatusCode
	return a
}

func updateIDs(t testing.TB, a apiAnswer) []int64 {
	t.Helper()
	if !a.OK {
		t.Fatalf("getUpdates failed: %d %s", a.ErrorCode, a.Description)
	}
	var ups []models.Update
	if err := json.Unmarshal(a.Result, &ups); err != nil {
		t.Fatal(err)
	}
	ids := []int64{}
	for _, u := range ups {
		ids = append(ids, u.ID)
	}
	return ids
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
	if e := u.Message.Entities; len(e) != 1 || e[0].Type != models.MessageEntityTypeBotCommand || e[0].Offset != 0 || e[0].Length != 6 {
		t.Fatalf("entities = %+v", e)
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
	got := s.Last(alice.ID)
	want := [][]tgtest.Button{{{Text: "Yes", Data: "yes"}, {Text: "No", Data: "no"}}, {{Text: "Site", URL: "https://example.com"}}}
	if got.Text != "Sign?" || fmt.Sprint(got.Buttons) != fmt.Sprint(want) {
		t.Fatalf("recorded %+v", got)
	}

	cbID := s.Press(alice, sent.ID, "yes")
	u = recv(t, ups)
	cq := u.CallbackQuery
	if cq == nil || cq.ID != cbID || cq.Data != "yes" || cq.From.ID != alice.ID || cq.Message.Message == nil ||
		cq.Message.Message.ID != sent.ID || cq.Message.Message.ReplyMarkup == nil || cq.Message.Message.Text != "Sign?" {
		t.Fatalf("bad callback update: %+v", cq)
	}
	if ok, err := b.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: cbID, Text: "Done"}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if a := s.CallbackAnswers(cbID); len(a) != 1 || a[0] != "Done" {
		t.Fatalf("answers = %q", a)
	}
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
	if m := s.Last(alice.ID); m.Text != "Signed" || m.Edits != 2 || m.Buttons != nil {
		t.Fatalf("after edits: %+v", m)
	}
	if _, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: 999, Text: "x"}); err == nil ||
		!strings.Contains(err.Error(), "message to edit not found") {
		t.Fatalf("missing message: %v", err)
	}
	if ok, err := b.DeleteMessage(ctx, &bot.DeleteMessageParams{ChatID: alice.ID, MessageID: sent.ID}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if !s.Last(alice.ID).Deleted {
		t.Fatal("not deleted")
	}
	if s.Calls("editMessageText") != 4 || s.Calls("sendMessage") != 1 {
		t.Fatalf("calls: edit %d send %d", s.Calls("editMessageText"), s.Calls("sendMessage"))
	}
}

func TestReplyFromHandlerAndWait(t *testing.T) {
	s := tgtest.New(t)
	startBot(t, s, func(ctx context.Context, b *bot.Bot, u *models.Update) {
		if u.Message == nil {
			return
		}
		_, _ = b.SendChatAction(ctx, &bot.SendChatActionParams{ChatID: u.Message.Chat.ID, Action: models.ChatActionTyping})
		_, _ = b.SendMessage(ctx, &bot.SendMessageParams{ChatID: u.Message.Chat.ID, Text: "<b>echo</b> " + u.Message.Text, ParseMode: models.ParseModeHTML})
	})
	s.SendText(alice, "hello")
	m := s.Wait(t, alice.ID, func(m tgtest.Message) bool { return strings.Contains(m.Text, "hello") })
	if m.Text != "<b>echo</b> hello" || m.ParseMode != "HTML" {
		t.Fatalf("%+v", m)
	}
	s.SendText(alice, "again")
	if ms := s.WaitCount(t, alice.ID, 2); ms[1].Text != "<b>echo</b> again" {
		t.Fatalf("%+v", ms)
	}
	if s.Calls("sendChatAction") != 2 {
		t.Fatal("sendChatAction not called")
	}
}

func TestDocuments(t *testing.T) {
	s := tgtest.New(t)
	h, ups := updatesTo()
	b := startBot(t, s, h)
	ctx := context.Background()

	pdf := []byte("%PDF-1.7 fake contract")
	s.SendDocument(alice, "contract.pdf", "application/pdf", pdf)
	d := recv(t, ups).Message.Document
	if d == nil || d.FileName != "contract.pdf" || d.MimeType != "application/pdf" || d.FileSize != int64(len(pdf)) || d.FileID == "" || d.FileUniqueID == "" {
		t.Fatalf("document = %+v", d)
	}
	f, err := b.GetFile(ctx, &bot.GetFileParams{FileID: d.FileID})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(f.FilePath, "documents/file_") || !strings.HasSuffix(f.FilePath, ".pdf") || f.FileSize != int64(len(pdf)) {
		t.Fatalf("file = %+v", f)
	}
	resp, err := http.Get(b.FileDownloadLink(f))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(data, pdf) {
		t.Fatalf("download: %d %q", resp.StatusCode, data)
	}
	resp, err = http.Get(s.URL + "/file/bot1:wrong/" + f.FilePath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("wrong token download: %d", resp.StatusCode)
	}

	// The bot uploads a file, with a caption and a keyboard.
	signed := []byte("signed bytes \x00\x01\x02")
	kb := &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "OK", CallbackData: "ok"}}}}
	sent, err := b.SendDocument(ctx, &bot.SendDocumentParams{
		ChatID:      alice.ID,
		Document:    &models.InputFileUpload{Filename: "signed.pdf", Data: bytes.NewReader(signed)},
		Caption:     "Here it is",
		ReplyMarkup: kb,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sent.Document == nil || sent.Document.FileName != "signed.pdf" || sent.Document.MimeType != "application/pdf" || sent.Caption != "Here it is" {
		t.Fatalf("sent = %+v", sent)
	}
	m := s.Last(alice.ID)
	if m.Document == nil || !bytes.Equal(m.Document.Data, signed) || m.Document.Name != "signed.pdf" || m.Caption != "Here it is" || len(m.Buttons) != 1 {
		t.Fatalf("recorded %+v", m)
	}
	if _, err := b.EditMessageCaption(ctx, &bot.EditMessageCaptionParams{ChatID: alice.ID, MessageID: sent.ID, Caption: "New"}); err != nil {
		t.Fatal(err)
	}
	if m := s.Last(alice.ID); m.Caption != "New" || m.Edits != 1 {
		t.Fatalf("%+v", m)
	}

	// Re-sending by file_id gives a new file_id with the same content.
	again, err := b.SendDocument(ctx, &bot.SendDocumentParams{ChatID: alice.ID, Document: &models.InputFileString{Data: d.FileID}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Document.FileID == d.FileID || again.Document.FileUniqueID != d.FileUniqueID || !bytes.Equal(s.Last(alice.ID).Document.Data, pdf) {
		t.Fatalf("resend: %+v", again.Document)
	}
	if _, err := b.SendDocument(ctx, &bot.SendDocumentParams{ChatID: alice.ID, Document: &models.InputFileString{Data: "nope"}}); !errors.Is(err, bot.ErrorBadRequest) {
		t.Fatalf("bad file_id: %v", err)
	}

	// A 25 MB document is refused by getFile, like Telegram's 20 MB limit.
	s.SendDocumentSized(alice, "huge.pdf", "application/pdf", 25<<20)
	big := recv(t, ups).Message.Document
	if big.FileSize != 25<<20 {
		t.Fatalf("size %d", big.FileSize)
	}
	if _, err := b.GetFile(ctx, &bot.GetFileParams{FileID: big.FileID}); !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "file is too big") {
		t.Fatalf("getFile on 25 MB: %v", err)
	}
}

func TestPhotos(t *testing.T) {
	s := tgtest.New(t)
	h, ups := updatesTo()
	b := startBot(t, s, h)
	ctx := context.Background()

	s.SendPhoto(alice, []byte("jpeg"))
	ph := recv(t, ups).Message.Photo
	if len(ph) < 2 || ph[len(ph)-1].Width <= ph[0].Width {
		t.Fatalf("photo sizes %+v", ph)
	}
	if _, err := b.SendPhoto(ctx, &bot.SendPhotoParams{ChatID: alice.ID, Photo: &models.InputFileString{Data: "https://example.com/qr.png"}}); err != nil {
		t.Fatal(err)
	}
	if p := s.Last(alice.ID).Photo; p == nil || p.URL != "https://example.com/qr.png" {
		t.Fatalf("photo by URL: %+v", p)
	}
	png := []byte("\x89PNG fake")
	sent, err := b.SendPhoto(ctx, &bot.SendPhotoParams{ChatID: alice.ID, Photo: &models.InputFileUpload{Filename: "qr.png", Data: bytes.NewReader(png)}, Caption: "QR"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.Photo) == 0 || sent.Caption != "QR" {
		t.Fatalf("%+v", sent)
	}
	if p := s.Last(alice.ID).Photo; p == nil || !bytes.Equal(p.Data, png) {
		t.Fatalf("photo upload: %+v", p)
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
	_, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "<b>x</i>", ParseMode: models.ParseModeHTML})
	if err == nil || !strings.Contains(err.Error(), "can't parse entities") {
		t.Fatalf("bad HTML: %v", err)
	}
	m, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: `<b>a</b> &lt; <a href="https://x.y/?a=1&amp;b=2">c</a>`, ParseMode: models.ParseModeHTML})
	if err != nil || m.Text != "a < c" {
		t.Fatalf("HTML text %q: %v", m.Text, err)
	}
	_, err = b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "Done.", ParseMode: models.ParseModeMarkdown})
	if err == nil || !strings.Contains(err.Error(), "Character '.' is reserved") {
		t.Fatalf("MarkdownV2: %v", err)
	}

	s.FailNext("sendMessage", tgtest.Failure{Code: 429, RetryAfter: 3}, tgtest.Failure{Code: 500})
	err = send(alice.ID, "a")
	var tooMany *bot.TooManyRequestsError
	if !errors.As(err, &tooMany) || tooMany.RetryAfter != 3 {
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
	s.Unblock(alice.ID)
	if err := send(alice.ID, "e"); err != nil {
		t.Fatal(err)
	}

	if a := call(t, ctx, s, "noSuchMethod", nil); a.Status != 404 || a.ErrorCode != 404 || a.Description != "Not Found" {
		t.Fatalf("unknown method: %+v", a)
	}
	if _, err := bot.New("1:wrong", bot.WithServerURL(s.URL)); !errors.Is(err, bot.ErrorUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestFormEncodings(t *testing.T) {
	s := tgtest.New(t)
	s.SendText(alice, "hi")
	form := url.Values{
		"chat_id":      {fmt.Sprint(alice.ID)},
		"text":         {"form"},
		"reply_markup": {`{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}`},
	}
	resp, err := http.PostForm(s.URL+"/bot"+tgtest.Token+"/sendMessage", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	// In a JSON body nested objects are objects, not strings.
	a := call(t, context.Background(), s, "sendMessage", map[string]any{
		"chat_id":      alice.ID,
		"text":         "json",
		"reply_markup": map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "B", "callback_data": "b"}}}},
	})
	if !a.OK {
		t.Fatalf("%+v", a)
	}
	ms := s.Messages(alice.ID)
	if len(ms) != 2 || ms[0].Buttons[0][0].Data != "a" || ms[1].Buttons[0][0].Data != "b" {
		t.Fatalf("%+v", ms)
	}
}

func TestGetUpdatesSemantics(t *testing.T) {
	s := tgtest.New(t)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		s.SendText(alice, "m")
	}
	if ids := updateIDs(t, call(t, ctx, s, "getUpdates", nil)); fmt.Sprint(ids) != "[1 2 3]" {
		t.Fatal(ids)
	}
	if ids := updateIDs(t, call(t, ctx, s, "getUpdates", map[string]any{"offset": 2, "limit": 1})); fmt.Sprint(ids) != "[2]" {
		t.Fatal(ids)
	}
	// Update 1 is confirmed and gone.
	if ids := updateIDs(t, call(t, ctx, s, "getUpdates", nil)); fmt.Sprint(ids) != "[2 3]" {
		t.Fatal(ids)
	}
	if ids := updateIDs(t, call(t, ctx, s, "getUpdates", map[string]any{"offset": 4})); len(ids) != 0 || s.Pending() != 0 {
		t.Fatal(ids, s.Pending())
	}
	for i := 0; i < 3; i++ {
		s.SendText(alice, "m")
	}
	if ids := updateIDs(t, call(t, ctx, s, "getUpdates", map[string]any{"offset": -1})); fmt.Sprint(ids) != "[6]" {
		t.Fatal(ids)
	}
	if ids := updateIDs(t, call(t, ctx, s, "getUpdates", nil)); fmt.Sprint(ids) != "[6]" {
		t.Fatal(ids)
	}

	// A long poll wakes up as soon as an update arrives. Its timeout is
	// longer than any wait of this test, so an answer is the wake-up.
	polled := make(chan apiAnswer, 1)
	go func() { polled <- call(t, ctx, s, "getUpdates", map[string]any{"offset": 7, "timeout": 3600}) }()
	s.WaitPolling(t, 1)
	s.SendText(alice, "wake")
	if ids := updateIDs(t, answer(t, polled, "long poll")); fmt.Sprint(ids) != "[7]" {
		t.Fatal(ids)
	}

	// A second poller terminates the first, as Telegram does.
	first := make(chan apiAnswer, 1)
	go func() { first <- call(t, ctx, s, "getUpdates", map[string]any{"offset": 8, "timeout": 3600}) }()
	s.WaitPolling(t, 1)
	if ids := updateIDs(t, call(t, ctx, s, "getUpdates", map[string]any{"offset": 8, "timeout": 0})); len(ids) != 0 {
		t.Fatal(ids)
	}
	if a := answer(t, first, "first poll"); a.Status != 409 || !strings.Contains(a.Description, "terminated by other getUpdates request") {
		t.Fatalf("%+v", a)
	}
	s.WaitPolling(t, 0)

	// A cancelled long poll ends on the server too (and does not hold up
	// Close).
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(cctx, http.MethodPost, s.URL+"/bot"+tgtest.Token+"/getUpdates?timeout=3600&offset=8", nil)
	returned := make(chan struct{})
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		close(returned)
	}()
	s.WaitPolling(t, 1)
	cancel()
	s.WaitPolling(t, 0)
	<-returned
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
	var attempts int
	var secrets []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		attempts++
		n := attempts
		secrets = append(secrets, r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
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
	a := call(t, ctx, s, "getUpdates", nil)
	if a.Status != 409 || a.Description != "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" {
		t.Fatalf("%+v", a)
	}

	s.SendText(alice, "via hook")
	if u := recv(t, ups); u.Message == nil || u.Message.Text != "via hook" {
		t.Fatalf("%+v", u)
	}
	mu.Lock()
	if attempts != 2 || secrets[0] != "s3cr-et_" || secrets[1] != "s3cr-et_" {
		t.Fatal(attempts, secrets)
	}
	mu.Unlock()
	// The update leaves the queue just after the webhook answered.
	eventually(t, "the delivered update to leave the queue", func() bool { return s.Pending() == 0 })
	info, err := b.GetWebhookInfo(ctx)
	if err != nil || info.URL != hook.URL || info.PendingUpdateCount != 0 ||
		info.LastErrorMessage != "Wrong response from the webhook: 500 Internal Server Error" || info.LastErrorDate == 0 {
		t.Fatal(info, err)
	}

	if ok, err := b.DeleteWebhook(ctx, &bot.DeleteWebhookParams{DropPendingUpdates: true}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	s.SendText(alice, "polled")
	if ids := updateIDs(t, call(t, ctx, s, "getUpdates", nil)); len(ids) != 1 {
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := tgtest.User{ID: int64(5000 + i), FirstName: "U"}
			for j := range each {
				s.SendText(u, fmt.Sprint(j))
			}
		}()
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
