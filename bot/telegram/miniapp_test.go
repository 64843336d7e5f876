package telegram_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"edobot/bot/flow"
	"edobot/bot/telegram"
	"edobot/bot/telegram/tgtest"
	"edobot/core"
)

// initData is init data as Telegram signs it for a Mini App opened by u at
// at, with the bot token token, computed here from the Bot API's own
// description (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app).
func initData(token string, u tgtest.User, at time.Time) url.Values {
	v := url.Values{}
	v.Set("query_id", "AAHdF6IQAAAAAN0XohDhrOrc")
	v.Set("user", fmt.Sprintf(`{"id":%d,"first_name":"Айгерим","last_name":"","language_code":"kk"}`, u.ID))
	v.Set("auth_date", strconv.FormatInt(at.Unix(), 10))
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var lines []string
	for _, k := range keys {
		lines = append(lines, k+"="+v.Get(k))
	}
	secret := hmac.New(sha256.New, []byte("WebAppData"))
	secret.Write([]byte(token))
	mac := hmac.New(sha256.New, secret.Sum(nil))
	mac.Write([]byte(strings.Join(lines, "\n")))
	v.Set("hash", hex.EncodeToString(mac.Sum(nil)))
	return v
}

func TestCheckMiniAppData(t *testing.T) {
	u := tgtest.NewUser("Айгерим", "", "kk")
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	good := initData(tgtest.Token, u, now.Add(-10*time.Minute))
	got, err := telegram.CheckMiniAppData(tgtest.Token, good.Encode(), now)
	if err != nil || got.ID != u.ID || got.Name() != "Айгерим" || got.Language != "kk" {
		t.Fatalf("valid init data: %+v %v", got, err)
	}
	tampered := initData(tgtest.Token, u, now.Add(-10*time.Minute))
	tampered.Set("user", strings.Replace(tampered.Get("user"), strconv.FormatInt(u.ID, 10), "1", 1))
	for name, c := range map[string]struct {
		data string
		want error
	}{
		"tampered":        {tampered.Encode(), telegram.ErrMiniAppForged},
		"another bot's":   {initData("999:another-token", u, now).Encode(), telegram.ErrMiniAppForged},
		"stale":           {initData(tgtest.Token, u, now.Add(-25*time.Hour)).Encode(), telegram.ErrMiniAppStale},
		"two hours old":   {initData(tgtest.Token, u, now.Add(-2*time.Hour)).Encode(), telegram.ErrMiniAppStale},
		"from the future": {initData(tgtest.Token, u, now.Add(time.Hour)).Encode(), telegram.ErrMiniAppStale},
		"without hash":    {"user=%7B%7D&auth_date=1", telegram.ErrMiniAppBad},
	} {
		if _, err := telegram.CheckMiniAppData(tgtest.Token, c.data, now); !errors.Is(err, c.want) {
			t.Errorf("%s init data: %v, want %v", name, err, c.want)
		}
	}
}

// TestMiniAppButton: the sign screen opens the link page as a Mini App
// where the public address is HTTPS, as a plain link otherwise.
func TestMiniAppButton(t *testing.T) {
	for _, c := range []struct{ public, webApp, url string }{
		{"https://edo.example.kz", "https://edo.example.kz/d/%s?app=telegram", ""},
		{"http://edo.example.kz", "", "http://edo.example.kz/d/%s"},
	} {
		s := newStackFlow(t, nil, func(f *flow.Flow) { f.PublicURL = c.public })
		d := s.f.Create(t)
		u := tgtest.NewUser("Айгерим", "", "ru")
		card := s.tg.Say(t, u, "/start "+d.LinkToken, has(d.Number))
		sign := s.tg.Tap(t, u, card, "Подписать", has("eGov"))
		b := tgtest.ButtonOf(t, sign, "Страница документа")
		fill := func(f string) string {
			if f == "" {
				return ""
			}
			return fmt.Sprintf(f, d.LinkToken)
		}
		if want := fill(c.webApp); b.WebApp != want {
			t.Errorf("%s: the page button opens the Mini App %q, want %q", c.public, b.WebApp, want)
		}
		if want := fill(c.url); b.URL != want {
			t.Errorf("%s: the page button's URL is %q, want %q", c.public, b.URL, want)
		}
	}
}

// TestMiniAppPage: opened from the bot, the link page loads Telegram's
// script (and only then); the init data it posts is taken when Telegram
// signed it for this bot, and the visit is the chat user's.
func TestMiniAppPage(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	d := s.f.Create(t)
	page := func(query string) (string, string) {
		t.Helper()
		resp, err := http.Get(s.web.URL + "/d/" + d.LinkToken + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Content-Security-Policy"), string(b)
	}
	const script = "https://telegram.org/js/telegram-web-app.js"
	if csp, body := page(""); strings.Contains(csp, "telegram.org") || strings.Contains(body, script) {
		t.Fatalf("the page in a browser loads Telegram's script: %s", csp)
	}
	csp, body := page("?app=telegram")
	if !strings.Contains(csp, "script-src 'self' "+script+";") || !strings.Contains(body, `<script src="`+script+`">`) {
		t.Fatalf("the page in Telegram does not load its script: %s", csp)
	}

	u := tgtest.NewUser("Айгерим", "", "kk")
	post := func(data url.Values) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(s.web.URL+"/d/"+d.LinkToken+"/telegram", "text/plain", strings.NewReader(data.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	visitors := func() int {
		var n int
		if err := s.f.DB.Pool.QueryRow(ctx, `SELECT count(DISTINCT visitor) FROM link_visits WHERE document_id = $1`, d.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tampered := initData(tgtest.Token, u, time.Now())
	tampered.Set("auth_date", strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10))
	before := visitors()
	for name, data := range map[string]url.Values{
		"tampered":      tampered,
		"stale":         initData(tgtest.Token, u, time.Now().Add(-25*time.Hour)),
		"another bot's": initData("999:another-token", u, time.Now()),
	} {
		if code, out := post(data); code != http.StatusForbidden {
			t.Errorf("%s init data: %d %v", name, code, out)
		}
	}
	if n := visitors(); n != before {
		t.Fatalf("refused init data counted visits: %d, were %d", n, before)
	}
	code, out := post(initData(tgtest.Token, u, time.Now()))
	if code != http.StatusOK {
		t.Fatalf("valid init data: %d %v", code, out)
	}
	cu, err := s.f.Svc.ChatUser(ctx, core.ChannelTelegram, strconv.FormatInt(u.ID, 10), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if out["chat_user"] != float64(cu.ID) || out["name"] != "Айгерим" || cu.Language != "kk" {
		t.Fatalf("the visit is not the chat user's %d: %v (%+v)", cu.ID, out, cu)
	}
	if n := visitors(); n != before+1 {
		t.Fatalf("the chat user's visit was not counted: %d visitors, were %d", n, before)
	}
	// The same chat user again is the same visitor.
	post(initData(tgtest.Token, u, time.Now()))
	if n := visitors(); n != before+1 {
		t.Fatalf("one chat user counted as %d visitors", n-before)
	}
}
