package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"edobot/core"
	"edobot/storage/storagetest"
)

// A sign-in challenge, an eGov session and an ИС ЭСФ link are used once,
// only before they expire, and a used one's token no longer changes.
func TestOneTimeRowsAreUsedOnce(t *testing.T) {
	ctx := context.Background()
	f := storagetest.NewFixture(t)
	db := f.DB
	u, err := f.Svc.ChatUser(ctx, core.ChannelTelegram, "once-"+core.NewToken(), "A", "ru")
	if err != nil {
		t.Fatal(err)
	}
	d := f.Create(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	id := func() []byte { h := sha256.Sum256([]byte(core.NewToken())); return h[:] }

	type kind struct {
		name  string
		make  func(idHash []byte, expires time.Time) error
		set   func(idHash, token []byte) error
		use   func(idHash []byte, at time.Time) (bool, error)
		token func(idHash []byte) []byte
	}
	for _, k := range []kind{
		{"auth challenge",
			func(h []byte, exp time.Time) error {
				return db.InsertAuthChallenge(ctx, h, u.ID, []byte("c"), now, exp)
			},
			func(h, tok []byte) error { return db.SetAuthToken(ctx, h, tok) },
			func(h []byte, at time.Time) (bool, error) { return db.UseAuthChallenge(ctx, h, at) },
			func(h []byte) []byte {
				_, _, tok, _, _, err := db.AuthChallengeByHash(ctx, h)
				must(t, err)
				return tok
			}},
		{"esf link",
			func(h []byte, exp time.Time) error {
				return db.InsertESFLink(ctx, h, core.ESFLink{Kind: core.ESFLinkPassword, ChatUserID: u.ID, ExpiresAt: exp}, now)
			},
			func(h, tok []byte) error { return db.SetESFLinkToken(ctx, h, tok) },
			func(h []byte, at time.Time) (bool, error) { return db.UseESFLink(ctx, h, at) },
			func(h []byte) []byte { l, err := db.ESFLink(ctx, h); must(t, err); return l.TokenHash }},
		{"egov session",
			func(h []byte, exp time.Time) error { return db.InsertEgovSession(ctx, h, d.ID, now, exp, "") },
			func(h, tok []byte) error { return db.SetEgovToken(ctx, h, tok) },
			func(h []byte, at time.Time) (bool, error) {
				_, ok, err := db.UseEgovSession(ctx, h, at)
				return ok, err
			},
			func(h []byte) []byte { _, tok, _, _, err := db.EgovSessionByHash(ctx, h); must(t, err); return tok }},
	} {
		live, expired, first, second := id(), id(), id(), id()
		must(t, k.make(live, now.Add(time.Minute)))
		must(t, k.make(expired, now.Add(-time.Second)))
		must(t, k.set(live, first))
		if ok, err := k.use(expired, now); ok || err != nil {
			t.Errorf("%s: an expired one used: %v %v", k.name, ok, err)
		}
		if ok, err := k.use(live, now); !ok || err != nil {
			t.Errorf("%s: first use: %v %v", k.name, ok, err)
		}
		if ok, err := k.use(live, now); ok || err != nil {
			t.Errorf("%s: used twice: %v %v", k.name, ok, err)
		}
		must(t, k.set(live, second))
		if tok := k.token(live); !bytes.Equal(tok, first) {
			t.Errorf("%s: a used one's token changed to %x", k.name, tok)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
