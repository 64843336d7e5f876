package jobs

import (
	"context"
	"crypto/x509"
	"fmt"
	"strconv"
	"testing"

	"edobot/bot/telegram/tgtest"
	"edobot/core"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// TestSignInToldToTheChatAndTheOrganisation: a chat signs in for an
// organisation that has a chat already. The outbox events written with the
// binding tell the new chat it is signed in and the organisation's other
// chat that a new chat acts for it, once each, even when relayed again;
// the new chat does not hear of itself and another organisation's chat
// hears nothing.
func TestSignInToldToTheChatAndTheOrganisation(t *testing.T) {
	f, srv := chatFixture(t)
	ctx := context.Background()
	colleague := newChatUser(t, f.DB, srv, f.Sender.OrgID, "ru")
	outsider := newChatUser(t, f.DB, srv, f.Recipient.OrgID, "ru")
	r := start(t, testConfig(t), f.DB, map[string]Messenger{core.ChannelTelegram: newTGMessenger(t, srv)})

	root := sigtest.NewGOSTRoot(t, "NCA GOST TEST ROOT", sigtest.GOST2015)
	nca := root.IssueCA(t, "NCA GOST TEST", sigtest.GOST2015)
	f.Wire(func(d *core.Deps) { d.Verifier = &signature.Verifier{Roots: []*x509.Certificate{root.Cert}} })
	key := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Sender.Number, Surname: "АХМЕТОВ", Name: "БОЛАТ",
		Organisation: "ТОО"}, sigtest.GOST2015, nca.Cert)
	tg := tgtest.User{ID: colleague.TG.ID + 1, FirstName: "Новый", LanguageCode: "kk"}
	srv.SendText(tg, "/start")
	newcomer, err := f.Svc.ChatUser(ctx, core.ChannelTelegram, strconv.FormatInt(tg.ID, 10), "Новый", "kk")
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Svc.StartAuth(ctx, newcomer, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Svc.AuthSign(ctx, c.ID, key.SignCMS(t, c.Data, sigtest.CMSOptions{})); err != nil {
		t.Fatal(err)
	}

	srv.WaitCount(t, tg.ID, 1)
	srv.WaitCount(t, colleague.TG.ID, 1)
	waitIdle(t, r.Runner)
	// Relayed again (an instance that died before marking them sent): the
	// delivery ids keep every chat from hearing twice.
	if _, err := f.DB.Pool.Exec(ctx, `UPDATE outbox SET sent_at = NULL WHERE chat_user_id = $1`, newcomer.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, r.Runner)

	about := fmt.Sprintf("%s %d", f.Sender.Number, newcomer.ID)
	for _, c := range []struct {
		chat int64
		want []string
	}{
		{tg.ID, []string{core.OutboxChatBound + " " + about + " kk"}},
		{colleague.TG.ID, []string{core.OutboxChatJoined + " " + about + " ru"}},
		{outsider.TG.ID, nil},
	} {
		var got []string
		for _, m := range srv.Messages(c.chat) {
			if _, rest, ok := cutEventID(m.Text); ok {
				got = append(got, rest)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("chat %d was told %q, want %q", c.chat, got, c.want)
		}
	}
	if n := srv.Calls("sendMessage"); n != 2 {
		t.Fatalf("sendMessage called %d times, want 2", n)
	}
}

// cutEventID splits a test messenger's line into the event id and the rest.
func cutEventID(text string) (id, rest string, ok bool) {
	if len(text) < 37 || text[36] != ' ' {
		return "", "", false
	}
	return text[:36], text[37:], true
}
