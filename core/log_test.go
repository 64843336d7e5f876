package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"

	"edobot/core"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// lockedBuffer is a log sink that the race detector accepts.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// A sign-in is logged through the logger core was given, in its format,
// not through slog's default.
func TestCoreLogsThroughItsLogger(t *testing.T) {
	f, nca := authFixture(t)
	var out lockedBuffer
	f.Wire(func(deps *core.Deps) { deps.Log = slog.New(slog.NewJSONHandler(&out, nil)) })
	ctx := context.Background()
	u := newChatUser(t, f)
	key := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: storagetest.RandomBIN(), Surname: "ИВАНОВ", Name: "ИВАН",
		Organisation: "ТОО «Журнал»"}, sigtest.GOST2015, nca.Cert)
	c, err := f.Svc.StartAuth(ctx, u, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Svc.AuthSign(ctx, c.ID, key.SignCMS(t, c.Data, sigtest.CMSOptions{})); err != nil {
		t.Fatal(err)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	var line struct {
		Msg      string `json:"msg"`
		ChatUser int64  `json:"chat_user"`
	}
	if err := json.Unmarshal(out.b.Bytes(), &line); err != nil || line.Msg != "chat user bound" || line.ChatUser != u.ID {
		t.Fatalf("logged %q (%v)", out.b.String(), err)
	}
}
