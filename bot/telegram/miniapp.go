package telegram

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The link page opens as a Telegram Mini App from the bot's buttons. The
// page hands the server the init data Telegram gave it, and the server
// checks it as the Bot API documents it («Validating data received via the
// Mini App», https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
//
//	data_check_string = every field but hash, sorted by key, as key=value, joined by "\n"
//	secret_key        = HMAC_SHA256(key = "WebAppData", message = bot_token)
//	hash              = hex(HMAC_SHA256(key = secret_key, message = data_check_string))
//
// and auth_date (Unix seconds) says when Telegram signed it, so an old copy
// is refused.
const (
	miniAppKey = "WebAppData"
	// MiniAppMaxAge is how long init data is taken after Telegram signed
	// it. The link page posts it once, as it loads, and the data names no
	// document: a copy that leaked is good for any link only this long.
	MiniAppMaxAge = time.Hour
	// miniAppSkew is how far in the future auth_date may be: clocks differ.
	miniAppSkew = 5 * time.Minute
)

// Refusals of init data.
var (
	ErrMiniAppForged = errors.New("telegram mini app: init data not signed with this bot's token")
	ErrMiniAppStale  = errors.New("telegram mini app: init data too old")
	ErrMiniAppBad    = errors.New("telegram mini app: malformed init data")
)

// MiniAppUser is the Telegram user who opened the Mini App.
type MiniAppUser struct {
	ID       int64  `json:"id"`
	First    string `json:"first_name"`
	Last     string `json:"last_name"`
	Language string `json:"language_code"`
}

// Name is the user's name as Telegram shows it.
func (u MiniAppUser) Name() string { return strings.TrimSpace(u.First + " " + u.Last) }

// CheckMiniAppData checks init data against the bot token at now and returns
// its user.
func CheckMiniAppData(token, initData string, now time.Time) (MiniAppUser, error) {
	vals, err := url.ParseQuery(initData)
	if err != nil {
		return MiniAppUser{}, fmt.Errorf("%w: %v", ErrMiniAppBad, err)
	}
	got, err := hex.DecodeString(vals.Get("hash"))
	if err != nil || len(got) != sha256.Size {
		return MiniAppUser{}, fmt.Errorf("%w: no hash", ErrMiniAppBad)
	}
	if !hmac.Equal(got, miniAppHash(token, vals)) {
		return MiniAppUser{}, ErrMiniAppForged
	}
	sec, err := strconv.ParseInt(vals.Get("auth_date"), 10, 64)
	if err != nil {
		return MiniAppUser{}, fmt.Errorf("%w: auth_date", ErrMiniAppBad)
	}
	signed := time.Unix(sec, 0)
	if now.Sub(signed) > MiniAppMaxAge || signed.Sub(now) > miniAppSkew {
		return MiniAppUser{}, ErrMiniAppStale
	}
	var u MiniAppUser
	if err := json.Unmarshal([]byte(vals.Get("user")), &u); err != nil || u.ID == 0 {
		return MiniAppUser{}, fmt.Errorf("%w: user", ErrMiniAppBad)
	}
	return u, nil
}

// miniAppHash is the hash Telegram puts in init data of vals (its hash
// field left out) for the bot with token.
func miniAppHash(token string, vals url.Values) []byte {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		if k != "hash" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + "=" + vals.Get(k)
	}
	secret := hmac.New(sha256.New, []byte(miniAppKey))
	secret.Write([]byte(token))
	mac := hmac.New(sha256.New, secret.Sum(nil))
	mac.Write([]byte(strings.Join(lines, "\n")))
	return mac.Sum(nil)
}

// miniAppQuery marks the link page's address when the bot opens it as a
// Mini App: the page then loads Telegram's script (bot/web/miniapp.go).
const miniAppQuery = "app=telegram"

// miniAppURL reports whether a button may open u as a Mini App: Telegram
// takes only HTTPS there, and a public host as on any button.
func miniAppURL(u string) bool { return strings.HasPrefix(u, "https://") && buttonURL(u) }

func withMiniAppQuery(u string) string {
	if strings.Contains(u, "?") {
		return u + "&" + miniAppQuery
	}
	return u + "?" + miniAppQuery
}

// CheckMiniApp checks init data a page got from Telegram against this bot's
// token on the bot's clock: the Telegram user who opened it, as the web
// server takes it.
func (b *Bot) CheckMiniApp(initData string) (externalID, name, lang string, err error) {
	u, err := CheckMiniAppData(b.cfg.Token, initData, b.cfg.Clock.Now())
	if err != nil {
		return "", "", "", err
	}
	return strconv.FormatInt(u.ID, 10), u.Name(), u.Language, nil
}
