package telegram_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"edobot/bot/telegram/tgtest"
	"edobot/core"
	"edobot/storage/storagetest"
)

// benchUsers is how many people tap at once: updates of one person are
// handled in order, of different people in parallel.
const benchUsers = 50

// BenchmarkUpdates measures updates handled per second through the whole
// stack (the library, the adapter, the conversation on the real database,
// answers to the fake Bot API server on loopback) for navigation taps, and
// the same taps answered by a bare handler of the same library, whose cost
// is the floor the stack's overhead is compared with.
func BenchmarkUpdates(b *testing.B) {
	b.Run("edobot-navigation", func(b *testing.B) {
		s := newStack(b)
		ctx := context.Background()
		users := make([]tgtest.User, benchUsers)
		menus := make([]tgtest.Message, benchUsers)
		for i := range users {
			users[i] = tgtest.User{ID: int64(700000 + i), FirstName: "U" + strconv.Itoa(i), LanguageCode: "ru"}
			u, err := s.f.Svc.ChatUser(ctx, core.ChannelTelegram, strconv.FormatInt(users[i].ID, 10), "U", "ru")
			if err != nil {
				b.Fatal(err)
			}
			if err := s.f.DB.BindChatUser(ctx, u.ID, storagetest.RandomIIN(), s.f.Sender.OrgID, time.Now()); err != nil {
				b.Fatal(err)
			}
			menus[i] = s.tg.Say(b, users[i], "/start", has("Здравствуйте", "Отправьте PDF"))
		}
		for i := 0; i < 5; i++ {
			s.f.Create(b)
		}
		data := tgtest.ButtonOf(b, menus[0], "Исходящие").Data
		run(b, s.tg, users, menus, data)
	})
	b.Run("bare-echo", func(b *testing.B) {
		tg := tgtest.New(b)
		api, err := bot.New(tgtest.Token, bot.WithServerURL(tg.URL), bot.WithWorkers(16),
			bot.WithDefaultHandler(func(ctx context.Context, api *bot.Bot, u *models.Update) {
				switch {
				case u.Message != nil:
					_, _ = api.SendMessage(ctx, &bot.SendMessageParams{ChatID: u.Message.Chat.ID, Text: u.Message.Text,
						ReplyMarkup: &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "x", CallbackData: "x"}}}}})
				case u.CallbackQuery != nil:
					_, _ = api.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: u.CallbackQuery.ID})
					_, _ = api.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: u.CallbackQuery.From.ID,
						MessageID: u.CallbackQuery.Message.Message.ID, Text: u.CallbackQuery.Data})
				}
			}))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { api.Start(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		users := make([]tgtest.User, benchUsers)
		menus := make([]tgtest.Message, benchUsers)
		for i := range users {
			users[i] = tgtest.User{ID: int64(800000 + i), FirstName: "U"}
			tg.SendText(users[i], "hi")
			menus[i] = tg.Wait(b, users[i].ID, func(tgtest.Message) bool { return true })
		}
		run(b, tg, users, menus, "x")
	})
}

// run taps b.N times, round robin over the users, and waits until every tap
// was answered with an edit.
func run(b *testing.B, tg *tgtest.Server, users []tgtest.User, menus []tgtest.Message, data string) {
	before := tg.Calls("editMessageText")
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		k := i % len(users)
		tg.Press(users[k], menus[k].ID, data)
	}
	deadline := time.Now().Add(time.Minute + time.Duration(b.N)*10*time.Millisecond)
	for tg.Calls("editMessageText")-before < b.N {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d taps answered", tg.Calls("editMessageText")-before, b.N)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
}
