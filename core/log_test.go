package core_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"edobot/core"
	"edobot/core/coretest"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// A sign-in is logged through the logger core was given, in its format,
// not through slog's default.
func TestCoreLogsThroughItsLogger(t *testing.T) {
	f, nca := authFixture(t)
	var out coretest.Buffer
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
	var line struct {
		Msg      string `json:"msg"`
		ChatUser int64  `json:"chat_user"`
	}
	if err := json.Unmarshal(out.Bytes(), &line); err != nil || line.Msg != "chat user bound" || line.ChatUser != u.ID {
		t.Fatalf("logged %q (%v)", out.String(), err)
	}
}
